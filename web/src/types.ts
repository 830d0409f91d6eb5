// The API's JSON as the page reads it (DESIGN.md's contracts; extra fields are ignored).

export type JobStatus = "uploading" | "queued" | "processing" | "done" | "failed" | "expired";

export interface JobView {
  jobId: string;
  status: JobStatus;
  progress?: { processed: number; total: number };
  /** Jobs ahead of this one; 0 when it is next or running. */
  queuePosition?: number | null;
  etaSeconds?: number | null;
  downloadUrl?: string;
  /** When the download link stops working (ISO time), if the API says so. */
  downloadExpiresAt?: string;
  error?: string;
  /** When done: `images` every file looked at, `failed` those that could not be read (results.xlsx says why). */
  result?: { images: number; failed: number; bytes: number } | null;
  /** The job's record has expired and only its result remains: counts and times are unknown. */
  recordGone?: boolean;
  fileCount?: number;
  createdAt?: string;
  finishedAt?: string;
}

export interface PutUpload {
  name: string;
  method: "PUT";
  url: string;
  headers?: Record<string, string>;
}

export interface MultipartUpload {
  name: string;
  multipart: {
    uploadId: string;
    partSize: number;
    parts: { partNumber: number; url: string }[];
  };
}

export type UploadPlan = PutUpload | MultipartUpload;

export interface CreatedJob {
  jobId: string;
  uploads: UploadPlan[];
}

export interface FileToSend {
  name: string;
  size: number;
  type?: string;
}
