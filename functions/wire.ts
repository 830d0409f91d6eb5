// The API's JSON as clients send and receive it (DESIGN.md "Contracts" and "Jobs of any size"):
// the one home of the shapes that the routes, the page (web/) and the command line
// (gpu-worker/cli/) share. Types and plain constants only: the page bundles this file with
// esbuild and type-checks it with web/tsconfig.json, so nothing here may import Node code.
//
// Routes (every request and every answer stays under MAX_BODY_BYTES, whatever the job's size):
//
//   POST /api/jobs                        CreateJobRequest     → 201 CreatedJob
//   POST /api/jobs/<id>/files             AddFilesRequest      → 200 UploadPlans    (409 unless uploading)
//   POST /api/jobs/<id>/uploads/sign      SignUploadsRequest   → 200 UploadPlans    (404 naming an unknown name)
//   POST /api/jobs/<id>/files/drop        DropFilesRequest     → 200 DroppedFiles   (409 unless uploading)
//   GET  /api/jobs/<id>/files[?missing=1][&cursor=…]           → 200 FileListPage   (400 for a cursor of another job)
//   POST /api/jobs/<id>/uploads/<uploadId>/sign     SignPartsRequest     → SignedParts
//   GET  /api/jobs/<id>/uploads/<uploadId>/parts                          → ListedParts
//   POST /api/jobs/<id>/uploads/<uploadId>/parts    RecordPartsRequest   → 204
//   POST /api/jobs/<id>/uploads/<uploadId>/complete CompleteUploadRequest → CompletedUpload
//   DELETE /api/jobs/<id>/uploads/<uploadId>                              → 204
//   POST /api/jobs/<id>/submit                                            → JobView (409 SubmitProblems)
//   GET  /api/jobs/<id>                                                   → JobView
//   GET  /api/jobs/<id>/download                                          → 302
//   GET  /api/jobs/<id>/summary                                           → BrowseSummary (404 until done)
//   GET  /api/jobs/<id>/images[?category=&folder=&minConf=&maxConf=&sort=&limit=&cursor=] → ImagesPage (400 bad cursor)
//
// Errors are ApiErrorBody with a 4xx/5xx status.
import type { JobOptions, JobStatus } from "../core/jobs.ts";

export type { JobOptions, JobStatus };

/** Names an answer lists at most where it names files (duplicates, unknown names, a drop's leftovers). */
export const NAMES_LISTED = 20;

/** Most files (or names) in one request, and in one page of a listing. */
export const MAX_PAGE_FILES = 1_000;
/**
 * Largest request body the API reads (413 beyond), and the most any answer holds: a Lambda
 * function URL refuses bodies over 6 MB, and a page of 1,000 long names still fits.
 */
export const MAX_BODY_BYTES = 1_000_000;

/** A file the client will upload: its relative path as the user chose it (folders kept). */
export interface FileToUpload {
  name: string;
  size: number;
  /** MIME type; anything unusable becomes application/octet-stream. */
  type?: string;
}

/**
 * How a file sent in one request is signed: a PUT URL (the default), or a form POST, which a
 * browser sends without a CORS preflight (one round trip per file instead of two).
 */
export type SingleUpload = "PUT" | "POST";

export interface CreateJobRequest {
  email: string;
  singleUpload?: SingleUpload;
  /** The first page of files (at most MAX_PAGE_FILES), or none: add the rest with POST .../files. */
  files?: FileToUpload[];
  options?: JobOptions;
  /**
   * What the whole job will hold, when the client knows it up front: a job that would pass the
   * limits is refused now (400) instead of at the page that crosses them.
   */
  totals?: { files: number; bytes: number };
}

export interface AddFilesRequest {
  files: FileToUpload[];
  singleUpload?: SingleUpload;
}

export interface SignUploadsRequest {
  /** Names as the plans gave them (the server's safe form of each uploaded name). */
  names: string[];
  singleUpload?: SingleUpload;
}

/** Files to leave out of a job still uploading (a card re-picked without them): at most MAX_PAGE_FILES names. */
export interface DropFilesRequest {
  names: string[];
}

/** What a drop did: the job's counts after it, and names it did not hold (first NAMES_LISTED). */
export interface DroppedFiles {
  dropped: number;
  fileCount: number;
  totalBytes: number;
  notInJob: string[];
}

/** Send the file in one PUT to `url` with exactly `headers` (its length is signed too). */
export interface PutUploadPlan {
  name: string;
  method: "PUT";
  url: string;
  headers: Record<string, string>;
}

/** Send the file in parts of `partSize` bytes (the last one shorter), then complete through the API. */
export interface MultipartUploadPlan {
  name: string;
  method: "multipart";
  multipart: {
    uploadId: string;
    key: string;
    partSize: number;
    partCount: number;
    /** The first parts' URLs (maybe none); sign the rest with POST .../uploads/<uploadId>/sign. */
    parts: SignedPart[];
  };
}

/** POST the form to `url`: `fields` in this order, then the file as the field "file" (its length is in the policy). */
export interface PostUploadPlan {
  name: string;
  method: "POST";
  url: string;
  fields: Record<string, string>;
}

export type UploadPlan = PutUploadPlan | PostUploadPlan | MultipartUploadPlan;

export interface SignedPart {
  partNumber: number;
  url: string;
}

/**
 * Plans for the files of a request, in the order asked. When they would not all fit in one
 * answer, the last `unsigned` files asked for get no plan here: ask POST .../uploads/sign for them.
 */
export interface UploadPlans {
  uploads: UploadPlan[];
  /** When the links in this answer stop working (ISO 8601); sign again after that. */
  expiresAt: string;
  unsigned?: number;
}

/** The limits a job is held to, so a client can check its files before sending them. */
export interface JobLimitsView {
  maxFiles: number;
  maxTotalBytes: number;
  maxFileBytes: number;
  /** Files per request and per listing page. */
  pageFiles: number;
  /** A job still uploading expires after this many seconds without upload activity. */
  uploadIdleSeconds: number;
}

export interface CreatedJob extends UploadPlans {
  jobId: string;
  limits: JobLimitsView;
}

/** A page of the job's planned files; `cursor` is absent on the last page. */
export interface FileListPage {
  files: { name: string; size: number }[];
  cursor?: string;
}

export interface SignPartsRequest {
  partNumbers: number[];
}

/** Part URLs in the order asked; the last `unsigned` part numbers asked for did not fit: ask again. */
export interface SignedParts {
  parts: SignedPart[];
  expiresAt: string;
  unsigned?: number;
}

/**
 * Parts already uploaded: from S3's own list where it keeps one, else from what the client
 * recorded (POST .../parts). `partsKnown` false: nothing is known, send every part.
 */
export interface ListedParts {
  parts: { PartNumber: number; Size?: number; ETag: string }[];
  partsKnown: boolean;
}

/** Parts a client has uploaded, recorded so an uploader resuming elsewhere sends only the rest. */
export interface RecordPartsRequest {
  parts: { partNumber: number; etag: string }[];
}

/** Uppy's {PartNumber, ETag} and our own {partNumber, etag} are both accepted. */
export interface CompleteUploadRequest {
  parts: ({ PartNumber: number; ETag: string } | { partNumber: number; etag: string })[];
}

export interface CompletedUpload {
  name: string;
  key: string;
  location: string | null;
}

export interface JobView {
  jobId: string;
  status: JobStatus;
  fileCount: number | null;
  totalBytes: number | null;
  progress: { processed: number; total: number };
  /** Jobs ahead in the queue (0: next or running); null when not queued or processing. */
  queuePosition: number | null;
  /** Seconds until done; null when unknown or not applicable. */
  etaSeconds: number | null;
  attempts: number;
  createdAt: string | null;
  updatedAt: string | null;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  /**
   * While the job runs as shards (DESIGN.md "Jobs of any size"): how many, done, running (a
   * worker holds them), queued, failed (given up: their photos are rows with the reason; counted
   * in done too), and the workers on the job now. Absent before it is planned.
   */
  shards?: { count: number; done: number; running: number; queued: number; failed: number; workers: number };
  /** `images`: files looked at, photos and not; `failed`: those that could not be read (results.xlsx says why). */
  result: { images: number; failed: number; bytes: number } | null;
  /**
   * True when the job's record has expired and only its result remains: the counts and times
   * above are unknown (zeros and nulls), not measured.
   */
  recordGone?: true;
  downloadUrl?: string;
  downloadExpiresAt?: string;
}

/** What submit found wrong (a 409 uploads_incomplete carries these in `error`): counts, and the first few names. */
export interface SubmitProblems {
  missingCount: number;
  extraCount: number;
  wrongSizeCount: number;
  missing: string[];
  extra: string[];
  wrongSize: { name: string; expected: number; actual: number }[];
}

export interface ApiErrorBody {
  error: {
    code: string;
    message: string;
    /** With duplicate_name and unknown_name: the names concerned (the first few). */
    names?: string[];
  } & Partial<SubmitProblems>;
}

// Browsing results: the shapes live in core/results/browse.ts, which the worker writes with.
export * from "../core/results/browse.ts";
