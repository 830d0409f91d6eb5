// What GET /api/jobs/<id> (and submit) answer: the record as a client sees it, with queue
// position, ETA and, when done, a fresh download link. A finished job whose Redis record is gone
// is found by its result in S3, the fallback truth (resultOnlyView); a done job whose result is
// gone from S3 becomes `expired` rather than offer a link to nothing.
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import type { JobRecord } from "../core/jobs.ts";
import { JOB_ID_PATTERN } from "../core/jobs.ts";
import { ShardLedger } from "../core/shardLedger.ts";
import { resultKey } from "../core/keys.ts";
import { ApiError } from "./errors.ts";
import { presignGet } from "./presign.ts";
import type { AppDeps } from "./types.ts";
import type { JobView } from "./wire.ts";

export type { JobView } from "./wire.ts";

/** Photos done since measuredFrom before the job's own speed is trusted over recent jobs'. */
export const OWN_RATE_MIN_IMAGES = 10;
/** ...and seconds: a burst of quick photos right after the first report says little. */
export const OWN_RATE_MIN_SECONDS = 3;

/**
 * Seconds until the job is done, or null when there is nothing to go on.
 *
 * - Processing, once OWN_RATE_MIN_IMAGES photos are done since its first progress report: the
 *   photos left at this job's own measured speed (its photos, its worker, its GPU).
 * - Before that: at the median speed of recent jobs (`typicalRate`), plus the photos still to
 *   do in the jobs ahead while it waits in the queue.
 * - Processing before the worker has counted the photos (it is still fetching and unpacking
 *   them): null. The file count is no guide then: one zip can hold thousands of photos.
 */
export function estimateSeconds(
  job: Pick<JobRecord, "status" | "progress" | "fileCount" | "measuredFrom">,
  context: { typicalRate: number | null; imagesAhead: number; now: number },
): number | null {
  const { processed, total } = job.progress;
  if (job.status === "processing") {
    if (total <= 0) return null;
    const left = Math.max(0, total - processed);
    const from = job.measuredFrom;
    if (from) {
      const done = processed - from.processed;
      const seconds = (context.now - Date.parse(from.at)) / 1000;
      if (done >= OWN_RATE_MIN_IMAGES && seconds >= OWN_RATE_MIN_SECONDS) return Math.ceil(left / (done / seconds));
    }
    return context.typicalRate === null ? null : Math.ceil(left / context.typicalRate);
  }
  if (job.status !== "queued" || context.typicalRate === null) return null;
  // Until the worker counts them, a queued job's photos are its files (a zip counts as one).
  return Math.ceil((context.imagesAhead + job.fileCount) / context.typicalRate);
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
    const [standing, rate, shards] = await Promise.all([
      deps.store.queueStanding(job.id),
      deps.store.typicalRate(),
      new ShardLedger(deps.store.redis, { retentionDays: deps.config.RETENTION_DAYS }).standing(job.id),
    ]);
    view.queuePosition = standing?.position ?? null;
    if (shards) {
      view.shards = { count: shards.count, done: shards.done, running: shards.running, queued: Math.max(0, shards.count - shards.done - shards.running), failed: shards.failed, workers: shards.workers };
    }
    view.etaSeconds = estimateSeconds(job, { typicalRate: rate, imagesAhead: standing?.imagesAhead ?? 0, now: Date.now() });
  }
  if (job.status === "done") {
    const link = await presignGet(deps.aws.presigner, deps.config.BUCKET, job.result?.key ?? resultKey(job.id), resultFileName(job.id), deps.config.PRESIGN_SECONDS);
    view.downloadUrl = link.url;
    view.downloadExpiresAt = link.expiresAt;
  }
  return view;
}

/** For a job Redis has forgotten: a "done" view rebuilt from its result in S3, or null when there is none. */
export async function resultOnlyView(deps: AppDeps, id: string): Promise<JobView | null> {
  const head = await headObject(deps, resultKey(id));
  if (!head) return null;
  const link = await presignGet(deps.aws.presigner, deps.config.BUCKET, resultKey(id), resultFileName(id), deps.config.PRESIGN_SECONDS);
  const finishedAt = head.lastModified?.toISOString() ?? null;
  return {
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
    recordGone: true,
    downloadUrl: link.url,
    downloadExpiresAt: link.expiresAt,
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
