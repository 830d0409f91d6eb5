// One Redis, one embedded storage. Job records live in Redis, their files and messages in the
// data folder of the `npm start` that took them; a second stack on the same Redis with another
// folder would see the first one's queued jobs as lost (no message, no uploads in its folder) and
// expire them at its start (restartRecovery.ts). So the stack claims the Redis for its folder:
// a claim renewed while it runs, which another folder is refused while it lasts and the same
// folder takes over (after a crash of the same stack).
import type { RedisClient } from "../core/jobStore.ts";
import { redisKeys } from "../core/keys.ts";

/** A claim outlives a crashed stack by at most this long. */
const CLAIM_SECONDS = 30;
/** Renewed well within its life, so one slow renewal never lets it lapse. */
const RENEW_MS = (CLAIM_SECONDS * 1000) / 3;

export class RedisClaimedError extends Error {
  override name = "RedisClaimedError";
}

// Lua: take or renew the claim for ARGV[1] unless another folder holds it. Returns the holder.
const CLAIM_SCRIPT = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return holder end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return ARGV[1]
`;

// Lua: release only our own claim.
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export interface RedisClaim {
  release(): Promise<void>;
}

/** Claims the Redis for `folder` (an absolute path), or throws RedisClaimedError naming the holder. */
export async function claimRedis(redis: RedisClient, folder: string, redisUrl: string, log: (line: string) => void): Promise<RedisClaim> {
  const claim = async () => String(await redis.eval(CLAIM_SCRIPT, 1, redisKeys.localStackClaim(), folder, CLAIM_SECONDS));
  const holder = await claim();
  if (holder !== folder) {
    throw new RedisClaimedError(
      `Another Trapline stack, with its data in ${holder}, uses the Redis at ${redisUrl}; its jobs would look lost to this one. ` +
        `Stop it (a stopped or crashed stack's claim ends within ${CLAIM_SECONDS} s), use the same folder (TRAPLINE_DATA_DIR=${holder}), ` +
        `or give this stack its own Redis (REDIS_URL, e.g. another database: redis://127.0.0.1:6379/1).`,
    );
  }
  let lastFailure = 0;
  const timer = setInterval(() => {
    claim().then(
      (now) => {
        if (now !== folder) log(`The Redis claim for ${folder} was taken by the stack with its data in ${now}; stop one of the two.`);
      },
      (error: unknown) => {
        // Redis away: the claim lapses with it; the job store reports the outage itself.
        if (Date.now() - lastFailure > 60_000) log(`Could not renew the Redis claim (${error instanceof Error ? error.message : String(error)}).`);
        lastFailure = Date.now();
      },
    );
  }, RENEW_MS);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await redis.eval(RELEASE_SCRIPT, 1, redisKeys.localStackClaim(), folder).catch(() => {});
    },
  };
}
