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

const REDIS_PREFIX = "trapline:";

export const redisKeys = {
  /** Hash: the job record. */
  job: (jobId: string) => `${REDIS_PREFIX}job:{${jobId}}`,
  /** String: JSON list of the job's PlannedFiles (can be long; read only when needed). */
  files: (jobId: string) => `${REDIS_PREFIX}job:{${jobId}}:files`,
  /**
   * String: the job's email marker (core/notify/sendJobEmail.ts): "sending:<token>" while one
   * worker holds the right to send, "sent:<time>" after.
   */
  email: (jobId: string) => `${REDIS_PREFIX}job:{${jobId}}:email`,
  /** Sorted set of queued and processing job ids by queue time, for queue positions. */
  queue: () => `${REDIS_PREFIX}queue`,
  /** List of recent jobs' images/s, for ETAs. */
  recentRates: () => `${REDIS_PREFIX}stats:rates`,
  /** Counter per subject (client IP, email, job id) per window, for rate limits (core/rateLimit.ts). */
  rateLimit: (kind: string, subject: string, window: number) => `${REDIS_PREFIX}rate:${kind}:{${subject}}:${window}`,
  /** String: the data folder of the `npm start` whose embedded storage this Redis's jobs live in (expires unless renewed). */
  localStackClaim: () => `${REDIS_PREFIX}localstack:claim`,
};
