// A job as the API, the worker and the page see it: its states, its record, and where its
// files live. Status changes are one-way; JobStore applies them atomically.

export const JOB_STATUSES = ["uploading", "queued", "processing", "done", "failed", "expired"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Which status may follow which. `expired` is reachable from anything once the files are gone. */
export const ALLOWED_TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  uploading: ["queued", "failed", "expired"],
  queued: ["processing", "failed", "expired"],
  // processing -> processing: a redelivery restarts a job whose worker died.
  processing: ["processing", "done", "failed", "expired"],
  done: ["expired"],
  failed: ["expired"],
  expired: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

/** One file the user said they would upload, and how. */
export interface PlannedFile {
  /** The user's relative path (folders kept), made safe; also its path inside the results zip. */
  name: string;
  /** S3 key under jobs/<id>/input/. */
  key: string;
  size: number;
  type?: string;
  method: "PUT" | "multipart";
  /** S3 multipart upload id, for method "multipart". */
  uploadId?: string;
  /**
   * The object's ETag when submit checked it. Upload URLs stay valid after submit: the worker
   * reads with If-Match on this, so an object replaced since is not processed.
   */
  etag?: string;
  /** The size of the object storage held instead, when it was last seen at another size than planned. */
  storedSize?: number;
}

/**
 * Which photos the results zip carries (DESIGN.md "Outputs"): boxed copies of the photos with a
 * detection, every photo, or none (reports only). Users already hold their originals.
 */
export const IMAGES_CHOICES = ["detections", "all", "none"] as const;
export type ImagesChoice = (typeof IMAGES_CHOICES)[number];
/** A job that does not say gets boxed copies of the photos with a detection. */
export const DEFAULT_IMAGES: ImagesChoice = "detections";

export interface JobOptions {
  renderThreshold?: number;
  outputThreshold?: number;
  /** Also place every image under sorted/<category>/ in the results zip. */
  sortedView?: boolean;
  /** Seconds between photos of one event when the camera does not number its bursts. */
  eventGapSeconds?: number;
  /** Which photos the zip carries; absent means DEFAULT_IMAGES. */
  images?: ImagesChoice;
  /** Where the photos were taken (ISO 3166-1 alpha-3), for the species geofence; absent: each photo's GPS. */
  country?: string;
  /** Animal boxes at or above this confidence get a species (absent: the classifier's default, 0.1). */
  classificationThreshold?: number;
  /** Blur every person box at or above the render threshold in the boxed copies and previews (default off). */
  blurPeople?: boolean;
  /** Remove the GPS position from the photos the zip carries (default off; previews never carry one). */
  dropGps?: boolean;
}

/** A job's privacy choices (gpu-worker/pipeline/outputs/privacy.ts does them): absent means off. */
export type PrivacyOptions = Pick<JobOptions, "blurPeople" | "dropGps">;

/** The privacy choices a job made, only those turned on (so an object without them means none). */
export function privacyOf(options: JobOptions): PrivacyOptions {
  return { ...(options.blurPeople ? { blurPeople: true } : {}), ...(options.dropGps ? { dropGps: true } : {}) };
}

export interface JobResult {
  /** S3 key of the results zip. */
  key: string;
  bytes: number;
  images: number;
  failed: number;
  /**
   * Category name (the model's: "animal", "person", "vehicle") -> images with at least one
   * detection of it at or above the render threshold. The job's email reports these.
   */
  imagesWith?: Record<string, number>;
  /** Images per second measured on this job (feeds ETAs). */
  imagesPerSecond: number;
}

export interface JobRecord {
  id: string;
  email: string;
  status: JobStatus;
  createdAt: string;
  updatedAt: string;
  queuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  fileCount: number;
  totalBytes: number;
  options: JobOptions;
  progress: { processed: number; total: number };
  /**
   * The first progress report of this attempt with photos done: the job's own speed is measured
   * from here, since startedAt also covers downloading and unpacking the uploads.
   */
  measuredFrom?: { at: string; processed: number };
  /** SQS receives of this job's message so far. */
  attempts: number;
  result?: JobResult;
  /** Why the job failed (or expired), readable by the user. */
  error?: string;
  /** When storage last confirmed the result exists (the API checks a done job's result once, then trusts this). */
  resultSeenAt?: string;
}

/** Job ids: 128 random bits, base64url (22 characters). */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/**
 * The messages on the queue (DESIGN.md "Jobs of any size"), never image data. On the wire they
 * are `{"jobId"}` (what submit sends: plan the job into shards and send one message per shard),
 * `{"jobId","shard":{"index","count"}}` (process that shard) and `{"jobId","merge":true}` (every
 * shard is in: write the reports and the package); in code `step` tells them apart.
 */
export type JobMessage =
  | { jobId: string; step: "plan" }
  | { jobId: string; step: "shard"; shard: { index: number; count: number } }
  | { jobId: string; step: "merge" };

/** A message's body as DESIGN.md writes it (queue.ts parseJobMessage reads it back). */
export function jobMessageBody(message: JobMessage): string {
  if (message.step === "shard") return JSON.stringify({ jobId: message.jobId, shard: message.shard });
  if (message.step === "merge") return JSON.stringify({ jobId: message.jobId, merge: true });
  return JSON.stringify({ jobId: message.jobId });
}

/** A job's default shard size: the MegaDetector batch API's; SHARD_IMAGES in core/config.ts overrides it. */
export const DEFAULT_SHARD_IMAGES = 2_000;
/**
 * Most shards one job is planned into (the plan widens its shards past SHARD_IMAGES to stay
 * under it): bounds the per-shard state the status and the merge read.
 */
export const MAX_SHARDS = 1_000;
