// Where a job's data lives. S3 keys are chosen here, never taken raw from a client. Redis keys
// carry the job id in a {hash tag}, so a job's keys share one slot on cluster-mode Redis.

export const S3_JOBS_PREFIX = "jobs/";

export function inputPrefix(jobId: string): string {
  return `${S3_JOBS_PREFIX}${jobId}/input/`;
}

/** `safeName` must already be a safe relative path (core/safePath.ts). */
export function inputKey(jobId: string, safeName: string): string {
  return `${inputPrefix(jobId)}${safeName}`;
}

export function outputPrefix(jobId: string): string {
  return `${S3_JOBS_PREFIX}${jobId}/output/`;
}

export function resultKey(jobId: string): string {
  return `${outputPrefix(jobId)}trapline-${jobId}.zip`;
}

/**
 * A photo's browsing preview: `name` is the ImageResult's `preview` ("previews/<hash>.jpg",
 * gpu-worker/pipeline/outputs/preview.ts), so the same name holds in S3 and in the zip.
 */
export function previewKey(jobId: string, name: string): string {
  return `${outputPrefix(jobId)}${name}`;
}

/** The browse index a job's merge writes (DESIGN.md "Browsing results"), read by the results routes. */
export const browseKeys = {
  /** JSON: counts per category, folder and hour, cameras with GPS (wire.ts BrowseSummary). */
  summary: (jobId: string) => `${outputPrefix(jobId)}browse/summary.json`,
  /** JSON: the views, their pages and each page's bounds (core/results/browseIndex.ts BrowseManifest). */
  manifest: (jobId: string) => `${outputPrefix(jobId)}browse/index.json`,
  /** NDJSON: page `page` of view `view` sorted by `sort`, at most BROWSE_PAGE_ITEMS lines. */
  page: (jobId: string, view: string, sort: string, page: number) => `${outputPrefix(jobId)}browse/${view}/${sort}/${page}.ndjson`,
};

/** A job's shard objects (DESIGN.md "Jobs of any size"): the plan, and each shard's records and photos. */
export function shardPrefix(jobId: string): string {
  return `${S3_JOBS_PREFIX}${jobId}/shards/`;
}

export const shardKeys = {
  /** JSON: how many shards, what the paths start from, how many items in all. */
  plan: (jobId: string) => `${shardPrefix(jobId)}plan.json`,
  /** JSON: the files (or zip entry ranges) shard `index` processes. */
  files: (jobId: string, index: number) => `${shardPrefix(jobId)}${index}/files.json`,
  /** NDJSON: one ImageResult per line, what the shard found. */
  records: (jobId: string, index: number) => `${shardPrefix(jobId)}${index}/records.ndjson`,
  /** Zip: the photos the package carries (boxed copies, or all), at their paths. */
  images: (jobId: string, index: number) => `${shardPrefix(jobId)}${index}/images.zip`,
};

const REDIS_PREFIX = "trapline:";

export const redisKeys = {
  /** Hash: the job record. */
  job: (jobId: string) => `${REDIS_PREFIX}job:{${jobId}}`,
  /** Hash: the job's planned files, name → compact record (core/filePlan.ts). */
  files: (jobId: string) => `${REDIS_PREFIX}job:{${jobId}}:files`,
  /**
   * String: the job's email marker (core/notify/sendJobEmail.ts): "sending:<token>" while one
   * worker holds the right to send, "sent:<time>" after.
   */
  email: (jobId: string) => `${REDIS_PREFIX}job:{${jobId}}:email`,
  /**
   * Hash: the job's shards as they run (core/shardLedger.ts): "count", "done:<i>" (1 once the
   * shard's records are in S3), "running:<i>" (the worker on it), "progress:<i>" (photos done), "failed:<i>" (given up).
   */
  shards: (jobId: string) => `${REDIS_PREFIX}job:{${jobId}}:shards`,
  /** Hash: the job's multipart uploads now open, S3 upload id → file name. */
  uploads: (jobId: string) => `${REDIS_PREFIX}job:{${jobId}}:uploads`,
  /** Hash: parts of one multipart upload that its client said it sent, part number → ETag. */
  parts: (jobId: string, uploadId: string) => `${REDIS_PREFIX}job:{${jobId}}:parts:${uploadId}`,
  /** Sorted set of jobs still uploading by their last upload activity (ms), for idle expiry. */
  uploading: () => `${REDIS_PREFIX}uploading`,
  /** Sorted set of expired jobs whose storage is still being freed, by when they expired (ms). */
  cleanup: () => `${REDIS_PREFIX}cleanup`,
  /** Sorted set of queued and processing job ids by queue time, for queue positions. */
  queue: () => `${REDIS_PREFIX}queue`,
  /** List of recent jobs' images/s, for ETAs. */
  recentRates: () => `${REDIS_PREFIX}stats:rates`,
  /** Counter per subject (client IP, email, job id) per window, for rate limits (core/rateLimit.ts). */
  rateLimit: (kind: string, subject: string, window: number) => `${REDIS_PREFIX}rate:${kind}:{${subject}}:${window}`,
  /** String: the data folder of the `npm start` whose embedded storage this Redis's jobs live in (expires unless renewed). */
  localStackClaim: () => `${REDIS_PREFIX}localstack:claim`,
};
