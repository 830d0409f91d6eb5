// What GET /api/jobs/<id> (and submit) answer: the record as a client sees it, with queue
// position, ETA and, when done, a fresh download link. A finished job whose Redis record is gone
// is found by its result in S3, the fallback truth; a done job whose result is gone from S3
// becomes `expired` rather than offer a link to nothing.
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import type { JobRecord, JobStatus } from "../core/jobs.ts";
import { JOB_ID_PATTERN } from "../core/jobs.ts";
import { resultKey } from "../core/keys.ts";
import { ApiError } from "./errors.ts";
import { presignGet } from "./presign.ts";
import type { AppDeps } from "./types.ts";

export interface JobView {
  jobId: string;
  status: JobStatus;
  fileCount: number | null;
  totalBytes: number | null;
  progress: { processed: number; total: number };
  /** Jobs ahead in the queue (0: next or running); null when not queued or processing. */
  queuePosition: number | null;
  /** Seconds until done, from recent jobs' median speed; null when unknown or not applicable. */
  etaSeconds: number | null;
  attempts: number;
  createdAt: string | null;
  updatedAt: string | null;
  queuedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  result: { images: number; failed: number; bytes: number } | null;
  downloadUrl?: string;
  downloadExpiresAt?: string;
}

export function resultFileName(jobId: string): string {
  return `trapline-${jobId}.zip`;
}

/** 404 for anything that cannot be a job id, before touching Redis or S3. */
export function checkJobId(id: string): void {
  if (!JOB_ID_PATTERN.test(id)) throw notFound(id);
}

export function notFound(id: string): ApiError {
  return new ApiError(404, "not_found", `There is no job ${JSON.stringify(id)}. Finished jobs are kept for a limited time; check the link.`);
}

export interface ViewOptions {
  /**
   * Look for a done job's result in storage even when the record says it was seen there (the
   * download route: it must never send the browser to a missing object).
   */
  verifyResult?: boolean;
}

/** A done job's result is no longer in storage: what its page says. */
export function resultGone(retentionDays: number): string {
  return (
    `The results of this job are no longer stored: photos and results are kept for ${retentionDays} day${retentionDays === 1 ? "" : "s"} ` +
    `(on a local stack, its data folder may have been emptied). Upload the photos again to redo the job.`
  );
}

export async function viewOf(deps: AppDeps, job: JobRecord, options: ViewOptions = {}): Promise<JobView> {
  if (job.status === "done" && !(await resultStored(deps, job, options.verifyResult ?? false))) {
    const expired = await deps.store.transition(job.id, ["done"], "expired", { error: resultGone(deps.config.RETENTION_DAYS) });
    // Refused: another request expired it first; answer with the record as it now is.
    const now = expired.ok ? expired.job : await deps.store.get(job.id);
    if (!now) throw notFound(job.id);
    return viewOf(deps, now);
  }
  const view: JobView = {
    jobId: job.id,
    status: job.status,
    fileCount: job.fileCount,
    totalBytes: job.totalBytes,
    progress: job.progress,
    queuePosition: null,
    etaSeconds: null,
    attempts: job.attempts,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    queuedAt: job.queuedAt ?? null,
    startedAt: job.startedAt ?? null,
    finishedAt: job.finishedAt ?? null,
    error: job.error ?? null,
    result: job.result ? { images: job.result.images, failed: job.result.failed, bytes: job.result.bytes } : null,
  };
  if (job.status === "queued" || job.status === "processing") {
    const [standing, rate] = await Promise.all([deps.store.queueStanding(job.id), deps.store.typicalRate()]);
    view.queuePosition = standing?.position ?? null;
    if (rate !== null) {
      const planned = job.progress.total > 0 ? job.progress.total : job.fileCount;
      const own = Math.max(0, planned - job.progress.processed);
      // A job being processed no longer waits for the ones ahead (they run on other workers).
      const ahead = job.status === "queued" ? (standing?.imagesAhead ?? 0) : 0;
      view.etaSeconds = Math.ceil((ahead + own) / rate);
    }
  }
  if (job.status === "done") {
    const link = await presignGet(deps.aws.presigner, deps.config.BUCKET, job.result?.key ?? resultKey(job.id), resultFileName(job.id), deps.config.PRESIGN_SECONDS);
    view.downloadUrl = link.url;
    view.downloadExpiresAt = link.expiresAt;
  }
  return view;
}

/** The job as stored, or, when Redis has forgotten it, a "done" view rebuilt from its result in S3. */
export async function findJob(deps: AppDeps, id: string, options: ViewOptions = {}): Promise<{ job: JobRecord | null; view: JobView }> {
  checkJobId(id);
  const job = await deps.store.get(id);
  if (job) return { job, view: await viewOf(deps, job, options) };
  const head = await headObject(deps, resultKey(id));
  if (!head) throw notFound(id);
  const link = await presignGet(deps.aws.presigner, deps.config.BUCKET, resultKey(id), resultFileName(id), deps.config.PRESIGN_SECONDS);
  const finishedAt = head.lastModified?.toISOString() ?? null;
  return {
    job: null,
    view: {
      jobId: id,
      status: "done",
      fileCount: null,
      totalBytes: null,
      progress: { processed: 0, total: 0 },
      queuePosition: null,
      etaSeconds: null,
      attempts: 0,
      createdAt: null,
      updatedAt: finishedAt,
      queuedAt: null,
      startedAt: null,
      finishedAt,
      error: null,
      result: { images: 0, failed: 0, bytes: head.bytes },
      downloadUrl: link.url,
      downloadExpiresAt: link.expiresAt,
    },
  };
}

/**
 * Whether a done job's result is in storage. Asked of storage once per record (the answer is kept
 * on the record), again when `always` or when the storage restarted since (deps.storageStartedAt).
 */
async function resultStored(deps: AppDeps, job: JobRecord, always: boolean): Promise<boolean> {
  const seenAt = job.resultSeenAt ? Date.parse(job.resultSeenAt) : Number.NaN;
  const trusted = Number.isFinite(seenAt) && seenAt >= (deps.storageStartedAt?.getTime() ?? 0);
  if (trusted && !always) return true;
  if (!(await headObject(deps, job.result?.key ?? resultKey(job.id)))) return false;
  if (!trusted) await deps.store.markResultSeen(job.id, new Date().toISOString());
  return true;
}

async function headObject(deps: AppDeps, key: string): Promise<{ bytes: number; lastModified?: Date } | null> {
  try {
    const head = await deps.aws.s3.send(new HeadObjectCommand({ Bucket: deps.config.BUCKET, Key: key }));
    return { bytes: head.ContentLength ?? 0, ...(head.LastModified ? { lastModified: head.LastModified } : {}) };
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404 || (error instanceof Error && (error.name === "NotFound" || error.name === "NoSuchKey"))) return null;
    throw error;
  }
}
