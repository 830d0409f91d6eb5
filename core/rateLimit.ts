// Fixed-window rate limits kept in Redis, so every API instance (and Lambda container) counts
// together: job creations per client IP and per email, and requests per job (functions/jobLimits.ts).
import type { RedisClient } from "./jobStore.ts";
import { StoreUnavailableError } from "./jobStore.ts";
import { redisKeys } from "./keys.ts";

export type RateLimitKind = "ip" | "email" | "job-submit" | "job-read" | "job-sign";

export interface RateLimitVerdict {
  allowed: boolean;
  /** Requests counted in this window, this one included. */
  count: number;
  /** Seconds until the window resets (what Retry-After should say when refused). */
  retryAfterSeconds: number;
}

// Lua: count a request of some cost; the first in a window sets the window's expiry. KEYS[1]
// counter; ARGV[1] ttl, ARGV[2] cost.
const HIT_SCRIPT = `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
`;

// Lua: give back one count, if its window is still kept. KEYS[1] counter.
const REFUND_SCRIPT = `
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
`;

export interface RateLimiterOptions {
  /** Requests allowed per subject per window. */
  limit: number;
  windowSeconds?: number;
  now?: () => number;
}

export class RateLimiter {
  readonly #redis: RedisClient;
  /** Requests (or units of cost) allowed per subject per window. */
  readonly limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;

  constructor(redis: RedisClient, options: RateLimiterOptions) {
    this.#redis = redis;
    this.limit = options.limit;
    this.#windowMs = (options.windowSeconds ?? 3600) * 1000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Counts a request by `subject` and says whether it is within the limit. `cost` counts one
   * request as several (e.g. the part URLs it signs); a refused request still counts.
   */
  async hit(kind: RateLimitKind, subject: string, cost = 1): Promise<RateLimitVerdict> {
    const now = this.#now();
    const window = Math.floor(now / this.#windowMs);
    const retryAfterSeconds = Math.max(1, Math.ceil(((window + 1) * this.#windowMs - now) / 1000));
    const key = redisKeys.rateLimit(kind, normalise(kind, subject), window);
    let count: number;
    try {
      // The key outlives its window by a little, so a slow clock on another instance still counts.
      count = Number(await this.#redis.eval(HIT_SCRIPT, 1, key, String(Math.ceil(this.#windowMs / 1000) + 60), String(Math.max(1, Math.ceil(cost)))));
    } catch (error) {
      if (error instanceof Error && error.name === "ReplyError") throw error;
      throw new StoreUnavailableError(`The rate-limit store (Redis) is unavailable: ${String(error)}`, { cause: error });
    }
    return { allowed: count <= this.limit, count, retryAfterSeconds };
  }

  /**
   * Gives back one count of `subject` in the window that held `atMs` (a job created then and
   * never submitted); nothing when that window is over.
   */
  async refund(kind: RateLimitKind, subject: string, atMs: number): Promise<void> {
    const key = redisKeys.rateLimit(kind, normalise(kind, subject), Math.floor(atMs / this.#windowMs));
    try {
      await this.#redis.eval(REFUND_SCRIPT, 1, key);
    } catch (error) {
      if (error instanceof Error && error.name === "ReplyError") throw error;
      throw new StoreUnavailableError(`The rate-limit store (Redis) is unavailable: ${String(error)}`, { cause: error });
    }
  }
}

function normalise(kind: RateLimitKind, subject: string): string {
  return kind === "email" ? subject.trim().toLowerCase() : subject;
}
