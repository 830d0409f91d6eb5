// Where a job's shards stand, in one Redis hash on the job's slot (redisKeys.shards): how many
// there are, which are done, which worker runs which, and photos done per shard. The worker
// writes it; the API reads it for the status. Fields are at most 4 per shard and a job has at
// most MAX_SHARDS (core/jobs.ts) shards, so reading the whole hash stays bounded.
//
// Fan-in (DESIGN.md "Jobs of any size"): markDone is atomic, counts a shard once however often
// it is delivered, and says whether every shard is now in. Whoever sees "all in" sends the merge
// message; a second merge message (two deliveries of the last shard) is harmless, because the
// merge of a job already done only makes sure its email went out.
import type { RedisClient } from "./jobStore.ts";
import { redisKeys } from "./keys.ts";
import { storeCall } from "./storeCall.ts";

export interface ShardStanding {
  count: number;
  done: number;
  /** Shards a worker said it started and has not finished (one killed stays here until its shard is retried). */
  running: number;
  /** Distinct workers on the job now. */
  workers: number;
  /** Shards given up after MAX_RECEIVES attempts: their photos are rows with the reason (counted in `done` too). */
  failed: number;
  /** Photos done over all shards. */
  processed: number;
}

// KEYS[1] shards hash; ARGV shard index, photos it processed (kept only the first time: a
// redelivery of a shard already in leaves its count). Returns {done, count}.
const MARK_DONE_SCRIPT = `
local key = KEYS[1]
if redis.call('HSETNX', key, 'done:' .. ARGV[1], '1') == 1 then
  redis.call('HINCRBY', key, 'doneCount', 1)
  redis.call('HSET', key, 'progress:' .. ARGV[1], ARGV[2])
end
redis.call('HDEL', key, 'running:' .. ARGV[1])
return {tonumber(redis.call('HGET', key, 'doneCount') or '0'), tonumber(redis.call('HGET', key, 'count') or '0')}
`;

export class ShardLedger {
  readonly #redis: RedisClient;
  readonly #ttlSeconds: number;

  constructor(redis: RedisClient, options: { retentionDays: number }) {
    this.#redis = redis;
    // Kept as long as the job's record (plus a day): the status reads it until the job expires.
    this.#ttlSeconds = (options.retentionDays + 1) * 24 * 3600;
  }

  /** Records the plan's shard count (the same on a re-plan: planning is deterministic). */
  async planned(jobId: string, count: number): Promise<void> {
    const key = redisKeys.shards(jobId);
    await storeCall(() => this.#redis.multi().hset(key, "count", String(count)).expire(key, this.#ttlSeconds).exec());
  }

  async isDone(jobId: string, index: number): Promise<boolean> {
    return (await storeCall(() => this.#redis.hexists(redisKeys.shards(jobId), `done:${index}`))) === 1;
  }

  /**
   * A worker starts (or redoes) a shard: it is running, and its photos count from 0 again, so the
   * job's progress never counts a killed attempt's photos as done. Returns the job's total so far.
   */
  async started(jobId: string, index: number, workerId: string): Promise<number> {
    await storeCall(() => this.#redis.hset(redisKeys.shards(jobId), `running:${index}`, workerId, `progress:${index}`, "0"));
    return (await this.standing(jobId))?.processed ?? 0;
  }

  /** Photos done so far in one shard; returns the job's total over all shards. */
  async progress(jobId: string, index: number, processed: number): Promise<number> {
    await storeCall(() => this.#redis.hset(redisKeys.shards(jobId), `progress:${index}`, String(processed)));
    return (await this.standing(jobId))?.processed ?? processed;
  }

  /** The shard's records are in S3: counted once; true when every shard of the job is now in. */
  async markDone(jobId: string, index: number, processed: number): Promise<{ allDone: boolean; done: number; count: number }> {
    const [done, count] = (await storeCall(() => this.#redis.eval(MARK_DONE_SCRIPT, 1, redisKeys.shards(jobId), String(index), String(processed)))) as [number, number];
    return { allDone: count > 0 && done >= count, done, count };
  }

  /** A shard given up for good (the failure policy); counted once. */
  async markFailed(jobId: string, index: number): Promise<void> {
    const key = redisKeys.shards(jobId);
    await storeCall(async () => {
      if ((await this.#redis.hsetnx(key, `failed:${index}`, "1")) === 1) await this.#redis.hincrby(key, "failedCount", 1);
    });
  }

  /** Null before the job was planned. */
  async standing(jobId: string): Promise<ShardStanding | null> {
    const fields = await storeCall(() => this.#redis.hgetall(redisKeys.shards(jobId)));
    if (fields.count === undefined) return null;
    const workers = new Set<string>();
    let running = 0;
    let processed = 0;
    for (const [field, value] of Object.entries(fields)) {
      if (field.startsWith("running:")) {
        running++;
        workers.add(value);
      } else if (field.startsWith("progress:")) {
        processed += Number(value) || 0;
      }
    }
    return { count: Number(fields.count), done: Number(fields.doneCount ?? 0), running, workers: workers.size, processed, failed: Number(fields.failedCount ?? 0) };
  }
}
