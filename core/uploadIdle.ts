// Jobs left uploading: when each last saw upload activity, and which of them have gone idle for
// UPLOAD_IDLE_SECONDS and expire. It only keeps state; functions/idleUploads.ts frees the
// storage of expired jobs and gives back their creation counts.
//
// The job's record (core/jobStore.ts) holds `activeAtMs`, the time of its last upload activity,
// and `countedBy`, whose creation limits counted it (JSON list of {kind, subject}). The sorted
// set redisKeys.uploading() indexes jobs by that time so idle ones are found without a scan;
// the record's own field decides (the index may lag behind it). Expired jobs wait in
// redisKeys.cleanup() until their storage is free.
import type { RedisClient } from "./jobStore.ts";
import { redisKeys } from "./keys.ts";
import { storeCall } from "./storeCall.ts";
import type { RateLimitKind } from "./rateLimit.ts";

/** A creation limit that counted a job, so its count can be given back. */
export interface CountedBy {
  kind: RateLimitKind;
  subject: string;
}

/** What a job's upload activity found. */
export type Touched =
  | { state: "active" }
  /** It had been idle too long: it is expired now (by this call). */
  | { state: "expired"; expired: ExpiredJob }
  /** It is not uploading (or does not exist: status null); nothing was changed. */
  | { state: "not_uploading"; status: string | null };

export interface ExpiredJob {
  jobId: string;
  countedBy: CountedBy[];
  /** When the job was created (ms), i.e. which rate-limit window counted it. */
  createdAtMs: number;
}

/** The reason an idle job shows, readable by the user. */
export function idleReason(idleSeconds: number): string {
  const hours = idleSeconds / 3600;
  const minutes = Math.max(1, Math.round(idleSeconds / 60));
  const span = hours >= 1 ? `${Math.round(hours * 10) / 10} hour${hours === 1 ? "" : "s"}` : `${minutes} minute${minutes === 1 ? "" : "s"}`;
  return `This job was never submitted and had no upload activity for ${span}, so it expired and its uploads were deleted. Start a new job to upload the photos again.`;
}

// Lua: upload activity on a job. KEYS[1] job hash; ARGV now (ms), idle limit (ms), now (ISO),
// reason, and "touch" or "check". An uploading job idle past the limit expires (status, time,
// reason); else "touch" records the activity. Returns {"active"}, {"expired", countedBy,
// createdAt} or {"not_uploading", status}.
const ACTIVITY_SCRIPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'not_uploading', ''} end
if status ~= 'uploading' then return {'not_uploading', status} end
local active = tonumber(redis.call('HGET', KEYS[1], 'activeAtMs') or '0') or 0
local now = tonumber(ARGV[1])
if active > 0 and now - active >= tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'status', 'expired', 'updatedAt', ARGV[3], 'error', ARGV[4])
  return {'expired', redis.call('HGET', KEYS[1], 'countedBy') or '[]', redis.call('HGET', KEYS[1], 'createdAt') or ''}
end
if ARGV[5] == 'touch' then redis.call('HSET', KEYS[1], 'activeAtMs', ARGV[1]) end
return {'active'}
`;

export interface UploadIdleOptions {
  idleSeconds: number;
  now?: () => number;
}

export class UploadIdle {
  readonly redis: RedisClient;
  readonly idleSeconds: number;
  readonly #now: () => number;

  constructor(redis: RedisClient, options: UploadIdleOptions) {
    this.redis = redis;
    this.idleSeconds = options.idleSeconds;
    this.#now = options.now ?? Date.now;
  }

  /** A new job starts uploading: its activity clock starts, and who counted it is kept. */
  async started(jobId: string, countedBy: readonly CountedBy[]): Promise<void> {
    const now = this.#now();
    await storeCall(() => this.redis.hset(redisKeys.job(jobId), "activeAtMs", String(now), "countedBy", JSON.stringify(countedBy)));
    await storeCall(() => this.redis.zadd(redisKeys.uploading(), now, jobId));
  }

  /** Records upload activity on the job, or expires it when it had been idle too long. */
  async touch(jobId: string): Promise<Touched> {
    return this.#activity(jobId, "touch");
  }

  /** When the job expires if nothing happens (ms), or null when it is not uploading. */
  async expiresAt(jobId: string): Promise<number | null> {
    const [status, active] = await storeCall(() => this.redis.hmget(redisKeys.job(jobId), "status", "activeAtMs"));
    if (status !== "uploading" || !active) return null;
    return Number(active) + this.idleSeconds * 1000;
  }

  /** The job left uploading by being submitted: it no longer needs watching. */
  async finished(jobId: string): Promise<void> {
    await storeCall(() => this.redis.zrem(redisKeys.uploading(), jobId));
  }

  /**
   * Expires up to `limit` jobs whose activity is older than the idle time; returns those that
   * expired (a job active again since the index was written is left alone and re-indexed).
   */
  async expireIdle(limit: number): Promise<ExpiredJob[]> {
    const cutoff = this.#now() - this.idleSeconds * 1000;
    const due = await storeCall(() => this.redis.zrangebyscore(redisKeys.uploading(), "-inf", String(cutoff), "LIMIT", 0, limit));
    const expired: ExpiredJob[] = [];
    for (const jobId of due) {
      const outcome = await this.#activity(jobId, "check");
      if (outcome.state === "expired") expired.push(outcome.expired);
      else if (outcome.state === "not_uploading") await storeCall(() => this.redis.zrem(redisKeys.uploading(), jobId));
      else {
        const at = await this.expiresAt(jobId);
        if (at !== null) await storeCall(() => this.redis.zadd(redisKeys.uploading(), at - this.idleSeconds * 1000, jobId));
      }
    }
    return expired;
  }

  /** Expired jobs whose storage is still to be freed, oldest first. */
  async cleanupDue(limit: number): Promise<string[]> {
    return storeCall(() => this.redis.zrange(redisKeys.cleanup(), "0", String(limit - 1)));
  }

  async cleanupDone(jobId: string): Promise<void> {
    await storeCall(() => this.redis.zrem(redisKeys.cleanup(), jobId));
  }

  async #activity(jobId: string, mode: "touch" | "check"): Promise<Touched> {
    const now = this.#now();
    const reply = (await storeCall(() =>
      this.redis.eval(ACTIVITY_SCRIPT, 1, redisKeys.job(jobId), String(now), String(this.idleSeconds * 1000), new Date(now).toISOString(), idleReason(this.idleSeconds), mode),
    )) as string[];
    if (reply[0] === "active") {
      if (mode === "touch") await storeCall(() => this.redis.zadd(redisKeys.uploading(), now, jobId));
      return { state: "active" };
    }
    if (reply[0] === "expired") {
      // Other keys (other slots on a cluster): the record has already changed, these follow it.
      await storeCall(() => this.redis.zrem(redisKeys.uploading(), jobId));
      await storeCall(() => this.redis.zadd(redisKeys.cleanup(), now, jobId));
      return { state: "expired", expired: { jobId, countedBy: parseCountedBy(reply[1]), createdAtMs: Date.parse(reply[2] ?? "") || now } };
    }
    return { state: "not_uploading", status: reply[1] || null };
  }
}

function parseCountedBy(text: string | undefined): CountedBy[] {
  try {
    const parsed = JSON.parse(text ?? "[]") as unknown;
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((entry: unknown): entry is CountedBy => {
      const candidate = entry as Partial<CountedBy> | null;
      return typeof candidate?.kind === "string" && typeof candidate.subject === "string";
    });
  } catch {
    return [];
  }
}
