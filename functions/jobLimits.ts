// Per-job request limits, on top of the per-IP and per-email limit on creating jobs: submits
// (each one of a job still uploading lists its inputs in S3), status reads, and part URLs signed.
// Counted in Redis per job id, so every API instance counts together. Routes call these only for
// jobs that exist, so made-up ids leave no counters behind. Limits: core/config.ts JOB_*.
import { RateLimiter } from "../core/rateLimit.ts";
import type { RateLimitKind, RateLimitVerdict } from "../core/rateLimit.ts";
import { ApiError } from "./errors.ts";
import type { AppDeps } from "./types.ts";

export interface JobLimits {
  /** One submit of the job; throws a 429 ApiError (with Retry-After) over JOB_SUBMITS_PER_HOUR. */
  submit(jobId: string): Promise<void>;
  /** One status or download request; 429 over JOB_READS_PER_MINUTE. */
  read(jobId: string): Promise<void>;
  /** `parts` part URLs to sign; 429 over JOB_PARTS_SIGNED_PER_HOUR. */
  signParts(jobId: string, parts: number): Promise<void>;
}

export function jobLimits(deps: Pick<AppDeps, "config" | "store">): JobLimits {
  const { config, store } = deps;
  const submits = new RateLimiter(store.redis, { limit: config.JOB_SUBMITS_PER_HOUR, windowSeconds: 3600 });
  const reads = new RateLimiter(store.redis, { limit: config.JOB_READS_PER_MINUTE, windowSeconds: 60 });
  const signs = new RateLimiter(store.redis, { limit: config.JOB_PARTS_SIGNED_PER_HOUR, windowSeconds: 3600 });

  async function enforce(limiter: RateLimiter, kind: RateLimitKind, jobId: string, cost: number, what: string): Promise<void> {
    const verdict = await limiter.hit(kind, jobId, cost);
    if (!verdict.allowed) throw tooMany(verdict, what);
  }

  return {
    submit: (jobId) => enforce(submits, "job-submit", jobId, 1, `submits of this job (at most ${submits.limit} an hour)`),
    read: (jobId) => enforce(reads, "job-read", jobId, 1, `status requests for this job (at most ${reads.limit} a minute)`),
    signParts: (jobId, parts) => enforce(signs, "job-sign", jobId, parts, `part links signed for this job (at most ${signs.limit} an hour)`),
  };
}

function tooMany(verdict: RateLimitVerdict, what: string): ApiError {
  const seconds = verdict.retryAfterSeconds;
  const wait = seconds < 120 ? `${seconds} second${seconds === 1 ? "" : "s"}` : `${Math.ceil(seconds / 60)} minutes`;
  return new ApiError(429, "rate_limited", `Too many ${what}. Try again in ${wait}.`, { headers: { "Retry-After": String(seconds) } });
}
