// Job records in Redis: the one place that reads and writes them. It only keeps state; the API
// and the worker decide what to do with it.
//
// Record encoding (key redisKeys.job(id), a hash; every field a string):
//   id, email, status                    as is
//   createdAt, updatedAt, queuedAt,
//   startedAt, finishedAt                ISO 8601; absent until set
//   fileCount, totalBytes, attempts,
//   processed, total                     decimal integers (processed/total are `progress`)
//   measuredFromAt, measuredFromProcessed
//                                        `measuredFrom`: set by the first setProgress with
//                                        photos done, emptied when processing (re)starts
//   options, result                      JSON (JobOptions, JobResult); result absent until done
//   error                                the user-readable reason; absent unless failed
//   messageState                         "sending" | "sent" | "unsent": whether the job's SQS
//                                        message went out (set by the API's submit)
//   resultSeenAt                         ISO 8601: when storage last confirmed the done job's
//                                        result exists (set by the API's status read)
//   activeAtMs, countedBy                while uploading: last upload activity, and whose
//                                        creation limits counted the job (core/uploadIdle.ts)
// The planned files live beside the record (core/filePlan.ts), fileCount and totalBytes count
// them. Every key expires after RETENTION_DAYS, with the S3 lifecycle.
//
// Every key a script touches carries the job's {hash tag}, so scripts run on cluster-mode Redis.
import { Redis, Cluster } from "ioredis";
import { storeCall } from "./storeCall.ts";
import type { RedisOptions } from "ioredis";
import type { Config } from "./config.ts";
import { ALLOWED_TRANSITIONS, JOB_STATUSES } from "./jobs.ts";
import type { JobOptions, JobRecord, JobResult, JobStatus } from "./jobs.ts";
import { redisKeys } from "./keys.ts";

export type RedisClient = Redis | Cluster;

export { StoreUnavailableError } from "./storeCall.ts";

/** How many recent jobs' rates feed the typical rate. */
const RECENT_RATES_KEPT = 20;

/** A command fails after this many reconnect attempts instead of waiting for Redis forever. */
const MAX_RETRIES_PER_REQUEST = 1;
/** Longest wait for a connection, and for one command's reply, before calling Redis unavailable. */
const CONNECT_TIMEOUT_MS = 2_000;
const COMMAND_TIMEOUT_MS = 3_000;

export interface CreateRedisOptions {
  /** Where connection errors are reported (throttled); defaults to console.error. */
  log?: (message: string) => void;
  /** Override the URL from config (tests point a client at a private or closed port). */
  url?: string;
  /** Prefix for every key (tests use a random one so they never meet real jobs or each other). */
  keyPrefix?: string;
}

/** Backoff between reconnects: quick at first, then every 2 s, forever (Redis may come back). */
function reconnectDelay(times: number): number {
  return Math.min(times * 100, 2_000);
}

/**
 * A Redis client for config.REDIS_URL: plain, or a cluster client when REDIS_CLUSTER (ElastiCache
 * Serverless); TLS for rediss://. Commands fail fast while Redis is down rather than queue forever.
 */
export function createRedis(config: Pick<Config, "REDIS_URL" | "REDIS_CLUSTER">, options: CreateRedisOptions = {}): RedisClient {
  const url = new URL(options.url ?? config.REDIS_URL);
  const common: RedisOptions = {
    maxRetriesPerRequest: MAX_RETRIES_PER_REQUEST,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: reconnectDelay,
    ...(options.keyPrefix ? { keyPrefix: options.keyPrefix } : {}),
    ...(url.protocol === "rediss:" ? { tls: {} } : {}),
  };
  let client: RedisClient;
  if (config.REDIS_CLUSTER) {
    client = new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
      clusterRetryStrategy: reconnectDelay,
      // ElastiCache's TLS certificates name the configuration endpoint, not the node IPs.
      dnsLookup: (address, callback) => callback(null, address),
      redisOptions: {
        ...common,
        ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
        ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      },
    });
  } else {
    client = new Redis(url.toString(), common);
  }
  const log = options.log ?? ((message: string) => console.error(message));
  let lastLogged = 0;
  client.on("error", (error: Error) => {
    // ioredis repeats the same error on every reconnect attempt; once every 30 s is plenty.
    const now = Date.now();
    if (now - lastLogged < 30_000) return;
    lastLogged = now;
    log(`Redis at ${url.host} is unreachable (${error.message}); retrying. Is redis-server running? (REDIS_URL=${url.protocol}//${url.host})`);
  });
  return client;
}

// Lua: status change, atomic and one-way. KEYS[1] job hash. ARGV: to, now, JSON list of allowed
// "from" statuses, then field/value pairs to set. Returns {"ok", ...HGETALL} or
// {"refused", status} ("" when the job does not exist).
const TRANSITION_SCRIPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'refused', ''} end
local allowed = cjson.decode(ARGV[3])
local permitted = false
for _, from in ipairs(allowed) do
  if from == status then permitted = true end
end
if not permitted then return {'refused', status} end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updatedAt', ARGV[2])
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
local record = redis.call('HGETALL', KEYS[1])
table.insert(record, 1, 'ok')
return record
`;

// Lua: progress on an existing record only (an expired record must not come back as a fragment
// without a TTL); the first report with photos done also marks where the job's own speed is
// measured from. KEYS[1] job hash; ARGV processed, total, now. Returns 1 or 0.
const SET_PROGRESS_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'processed', ARGV[1], 'total', ARGV[2])
if tonumber(ARGV[1]) > 0 then
  local from = redis.call('HGET', KEYS[1], 'measuredFromAt')
  if not from or from == '' then
    redis.call('HSET', KEYS[1], 'measuredFromAt', ARGV[3], 'measuredFromProcessed', ARGV[1])
  end
end
return 1
`;

// Lua: set fields only on a record that still exists (an expired record must not come back
// as a fragment without a TTL). KEYS[1] job hash; ARGV field/value pairs. Returns 1 or 0.
const SET_IF_EXISTS_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
return 1
`;

// Lua: HINCRBY on an existing record only. Returns the new value, or false when missing.
const INCREMENT_IF_EXISTS_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
`;

// Lua: compare-and-set one field. KEYS[1] job hash; ARGV expected (JSON list), next. Returns 1 or 0.
const COMPARE_AND_SET_SCRIPT = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then current = '' end
for _, expected in ipairs(cjson.decode(ARGV[2])) do
  if expected == current then
    redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
    return 1
  end
end
return 0
`;

/** Fields a status change may set alongside the status. */
export interface TransitionPatch {
  queuedAt?: string;
  startedAt?: string;
  finishedAt?: string;
  progress?: { processed: number; total: number };
  result?: JobResult;
  error?: string;
  messageState?: MessageState;
  /** null empties it (see SET_PROGRESS_SCRIPT). */
  measuredFrom?: null;
}

export type MessageState = "sending" | "sent" | "unsent";

export type TransitionResult =
  | { ok: true; job: JobRecord }
  /** `status` is the job's current status, or null when there is no such job. */
  | { ok: false; status: JobStatus | null };

/** Where a queued or processing job stands: jobs ahead of it, and their remaining images. */
export interface QueueStanding {
  /** 0 = first in line (or being processed). */
  position: number;
  imagesAhead: number;
}

/** Most jobs ahead whose remaining images are summed for an ETA; beyond that the estimate extrapolates. */
const MAX_JOBS_SUMMED_AHEAD = 100;
/** Largest page of the queue set one queuedIds() call returns. */
export const QUEUE_PAGE_MAX = 1_000;

export interface JobStoreOptions {
  retentionDays: number;
  /** Clock, for tests. */
  now?: () => Date;
  /** How long typicalRate() reuses its last answer (it changes only when a job finishes). */
  rateCacheMs?: number;
}

export class JobStore {
  readonly redis: RedisClient;
  readonly #ttlSeconds: number;
  readonly #now: () => Date;
  readonly #rateCacheMs: number;
  #rateCache: { value: number | null; at: number } | undefined;

  constructor(redis: RedisClient, options: JobStoreOptions) {
    this.redis = redis;
    this.#ttlSeconds = options.retentionDays * 24 * 3600;
    this.#now = options.now ?? (() => new Date());
    this.#rateCacheMs = options.rateCacheMs ?? 5_000;
  }

  /** Stores a new job's record, which expires after the retention period; its files are added with FilePlan.add. */
  async create(job: JobRecord): Promise<void> {
    await this.#run(async () => {
      const results = await this.redis
        .multi()
        .hset(redisKeys.job(job.id), encodeRecord(job))
        .expire(redisKeys.job(job.id), this.#ttlSeconds)
        .exec();
      const failed = results?.find(([error]) => error);
      if (failed?.[0]) throw failed[0];
    });
  }

  async get(id: string): Promise<JobRecord | null> {
    const fields = await this.#run(() => this.redis.hgetall(redisKeys.job(id)));
    return decodeRecord(fields);
  }

  /**
   * Moves the job to `to` if its status is one of `allowedFrom` (and the move is allowed by
   * ALLOWED_TRANSITIONS), setting `patch` in the same atomic step. Timestamps follow the status: queued sets queuedAt, processing startedAt, done and
   * failed finishedAt (unless patched). The queue set follows too: queued adds the job, done/failed/expired remove it.
   */
  async transition(id: string, allowedFrom: readonly JobStatus[], to: JobStatus, patch: TransitionPatch = {}): Promise<TransitionResult> {
    const from = allowedFrom.filter((status) => ALLOWED_TRANSITIONS[status].includes(to));
    const now = this.#now().toISOString();
    const stamped: TransitionPatch = { ...stampFor(to, now), ...patch };
    const reply = (await this.#run(() =>
      this.redis.eval(
        TRANSITION_SCRIPT,
        1,
        redisKeys.job(id),
        to,
        now,
        JSON.stringify(from),
        ...encodePatch(stamped),
      ),
    )) as string[];
    if (reply[0] !== "ok") {
      const status = reply[1];
      return { ok: false, status: isStatus(status) ? status : null };
    }
    const job = decodeRecord(pairsToObject(reply.slice(1)));
    if (!job) throw new Error(`Job ${id} vanished during its own transition`);
    if (to === "queued") await this.enqueue(id, Date.parse(job.queuedAt ?? now));
    if (to === "done" || to === "failed" || to === "expired") await this.dequeue(id);
    return { ok: true, job };
  }

  /** Counts one more SQS receive of the job's message; returns the new count (null: no job). */
  async recordAttempt(id: string): Promise<number | null> {
    const reply = await this.#run(() => this.redis.eval(INCREMENT_IF_EXISTS_SCRIPT, 1, redisKeys.job(id), "attempts"));
    return typeof reply === "number" ? reply : null;
  }

  /** Cheap progress update (two fields, and measuredFrom once per attempt); false when the record no longer exists. */
  async setProgress(id: string, processed: number, total: number): Promise<boolean> {
    const now = this.#now().toISOString();
    const reply = await this.#run(() => this.redis.eval(SET_PROGRESS_SCRIPT, 1, redisKeys.job(id), String(processed), String(total), now));
    return reply === 1;
  }

  async getMessageState(id: string): Promise<MessageState | null> {
    const value = await this.#run(() => this.redis.hget(redisKeys.job(id), "messageState"));
    return value === "sending" || value === "sent" || value === "unsent" ? value : null;
  }

  /** Sets messageState to `next` only if it is now one of `expected`; true when it was set. */
  async compareAndSetMessageState(id: string, expected: readonly MessageState[], next: MessageState): Promise<boolean> {
    const reply = await this.#run(() =>
      this.redis.eval(COMPARE_AND_SET_SCRIPT, 1, redisKeys.job(id), "messageState", JSON.stringify(expected), next),
    );
    return reply === 1;
  }

  /** Adds the job to the queue set (no-op when already there); `at` is its queue time in ms. */
  async enqueue(id: string, at: number = this.#now().getTime()): Promise<void> {
    await this.#run(() => this.redis.zadd(redisKeys.queue(), "NX", at, id));
  }

  async dequeue(id: string): Promise<void> {
    await this.#run(() => this.redis.zrem(redisKeys.queue(), id));
  }

  /** Jobs ahead of `id` in the queue set (0 = next or running), or null when it is not queued. */
  async queuePosition(id: string): Promise<number | null> {
    return this.#run(() => this.redis.zrank(redisKeys.queue(), id));
  }

  /**
   * Position plus the images still to do in the jobs ahead, for ETAs; null when not queued.
   * Entries ahead that no worker will take (the record expired, or the job already ended) are
   * dropped from the set as they are met, so they are never counted.
   */
  async queueStanding(id: string): Promise<QueueStanding | null> {
    const rank = await this.queuePosition(id);
    if (rank === null) return null;
    if (rank === 0) return { position: 0, imagesAhead: 0 };
    const ahead = await this.#run(() => this.redis.zrange(redisKeys.queue(), "0", String(Math.min(rank, MAX_JOBS_SUMMED_AHEAD) - 1)));
    // One command per job (not a pipeline): on a cluster each job's hash may sit on another node.
    const remaining = await this.#run(() =>
      Promise.all(ahead.map((jobId) => this.redis.hmget(redisKeys.job(jobId), "status", "fileCount", "processed", "total"))),
    );
    let images = 0;
    let counted = 0;
    const stale: string[] = [];
    remaining.forEach(([status, fileCount, processed, total], index) => {
      if (status !== "queued" && status !== "processing") {
        stale.push(ahead[index]!);
        return;
      }
      counted++;
      const planned = Number(total) > 0 ? Number(total) : Number(fileCount ?? 0);
      images += Math.max(0, planned - Number(processed ?? 0));
    });
    if (stale.length > 0) await this.#run(() => this.redis.zrem(redisKeys.queue(), ...stale));
    const position = rank - stale.length;
    // Beyond the jobs summed, assume the rest look like the ones we saw.
    const imagesAhead = counted < position && counted > 0 ? Math.round((images / counted) * position) : images;
    return { position, imagesAhead };
  }

  /** A page of the queue set in queue order: ids from `offset`, at most `count` (≤ QUEUE_PAGE_MAX). */
  async queuedIds(offset: number, count: number): Promise<string[]> {
    const size = Math.min(count, QUEUE_PAGE_MAX);
    return this.#run(() => this.redis.zrange(redisKeys.queue(), String(offset), String(offset + size - 1)));
  }

  /** Remembers that storage confirmed the job's result at `at` (ISO); false when the record is gone. */
  async markResultSeen(id: string, at: string): Promise<boolean> {
    const reply = await this.#run(() => this.redis.eval(SET_IF_EXISTS_SCRIPT, 1, redisKeys.job(id), "resultSeenAt", at));
    return reply === 1;
  }

  /** Remembers one finished job's speed (images per second); the last 20 are kept. */
  async recordRate(imagesPerSecond: number): Promise<void> {
    if (!Number.isFinite(imagesPerSecond) || imagesPerSecond <= 0) return;
    this.#rateCache = undefined;
    await this.#run(async () => {
      await this.redis.lpush(redisKeys.recentRates(), String(imagesPerSecond));
      await this.redis.ltrim(redisKeys.recentRates(), 0, RECENT_RATES_KEPT - 1);
    });
  }

  /** Median images/s of recent jobs, or null before any job has finished. Cached for a few seconds. */
  async typicalRate(): Promise<number | null> {
    const now = Date.now();
    if (this.#rateCache && now - this.#rateCache.at < this.#rateCacheMs) return this.#rateCache.value;
    const values = await this.#run(() => this.redis.lrange(redisKeys.recentRates(), 0, -1));
    const value = median(values.map(Number).filter((rate) => Number.isFinite(rate) && rate > 0));
    this.#rateCache = { value, at: now };
    return value;
  }

  /** Throws StoreUnavailableError when Redis does not answer. */
  async ping(): Promise<void> {
    await this.#run(() => this.redis.ping());
  }

  /** Runs Redis commands, turning connection failures into StoreUnavailableError. */
  #run<T>(work: () => Promise<T>): Promise<T> {
    return storeCall(work);
  }
}

function stampFor(to: JobStatus, now: string): TransitionPatch {
  if (to === "queued") return { queuedAt: now };
  // A (re)start measures its own speed afresh: the first progress report sets measuredFrom again.
  if (to === "processing") return { startedAt: now, measuredFrom: null };
  if (to === "done" || to === "failed") return { finishedAt: now };
  return {};
}

function encodePatch(patch: TransitionPatch): string[] {
  const pairs: string[] = [];
  const put = (field: string, value: string | undefined) => {
    if (value !== undefined) pairs.push(field, value);
  };
  put("queuedAt", patch.queuedAt);
  put("startedAt", patch.startedAt);
  put("finishedAt", patch.finishedAt);
  if (patch.progress) pairs.push("processed", String(patch.progress.processed), "total", String(patch.progress.total));
  if (patch.result) pairs.push("result", JSON.stringify(patch.result));
  put("error", patch.error);
  put("messageState", patch.messageState);
  if (patch.measuredFrom === null) pairs.push("measuredFromAt", "", "measuredFromProcessed", "");
  return pairs;
}

/** A JobRecord as hash fields (see the encoding at the top of this file). */
export function encodeRecord(job: JobRecord): Record<string, string> {
  const fields: Record<string, string> = {
    id: job.id,
    email: job.email,
    status: job.status,
    createdAt: job.createdAt,
    updatedAt: job.updatedAt,
    fileCount: String(job.fileCount),
    totalBytes: String(job.totalBytes),
    attempts: String(job.attempts),
    processed: String(job.progress.processed),
    total: String(job.progress.total),
    options: JSON.stringify(job.options),
  };
  for (const field of ["queuedAt", "startedAt", "finishedAt", "error", "resultSeenAt"] as const) {
    const value = job[field];
    if (value !== undefined) fields[field] = value;
  }
  if (job.result) fields.result = JSON.stringify(job.result);
  if (job.measuredFrom) Object.assign(fields, { measuredFromAt: job.measuredFrom.at, measuredFromProcessed: String(job.measuredFrom.processed) });
  return fields;
}

/** Hash fields back into a JobRecord; null for an empty hash (no such job). */
export function decodeRecord(fields: Record<string, string>): JobRecord | null {
  if (!fields.id || !isStatus(fields.status)) return null;
  const job: JobRecord = {
    id: fields.id,
    email: fields.email ?? "",
    status: fields.status,
    createdAt: fields.createdAt ?? "",
    updatedAt: fields.updatedAt ?? fields.createdAt ?? "",
    fileCount: Number(fields.fileCount ?? 0),
    totalBytes: Number(fields.totalBytes ?? 0),
    options: fields.options ? (JSON.parse(fields.options) as JobOptions) : {},
    progress: { processed: Number(fields.processed ?? 0), total: Number(fields.total ?? 0) },
    attempts: Number(fields.attempts ?? 0),
  };
  if (fields.queuedAt) job.queuedAt = fields.queuedAt;
  if (fields.startedAt) job.startedAt = fields.startedAt;
  if (fields.finishedAt) job.finishedAt = fields.finishedAt;
  if (fields.result) job.result = JSON.parse(fields.result) as JobResult;
  if (fields.error) job.error = fields.error;
  if (fields.measuredFromAt) job.measuredFrom = { at: fields.measuredFromAt, processed: Number(fields.measuredFromProcessed ?? 0) };
  if (fields.resultSeenAt) job.resultSeenAt = fields.resultSeenAt;
  return job;
}

function isStatus(value: unknown): value is JobStatus {
  return typeof value === "string" && (JOB_STATUSES as readonly string[]).includes(value);
}

function pairsToObject(pairs: readonly string[]): Record<string, string> {
  const object: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) object[pairs[i]!] = pairs[i + 1]!;
  return object;
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
