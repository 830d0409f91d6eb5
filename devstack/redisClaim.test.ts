// The Redis claim: one data folder per Redis while a stack runs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { redisKeys } from "../core/keys.ts";
import { testRedis } from "../test/helpers/redis.ts";
import { claimRedis, RedisClaimedError } from "./redisClaim.ts";

test("another folder is refused while the claim lasts; the same folder takes it over; release frees it", async () => {
  const t = testRedis();
  try {
    const first = await claimRedis(t.redis, "/data/a", "redis://r", () => {});
    await assert.rejects(claimRedis(t.redis, "/data/b", "redis://r", () => {}), (error: unknown) => error instanceof RedisClaimedError && error.message.includes("/data/a") && error.message.includes("TRAPLINE_DATA_DIR=/data/a"));
    const ttl = await t.redis.ttl(redisKeys.localStackClaim());
    assert.ok(ttl > 0 && ttl <= 30, `the claim expires on its own (ttl ${ttl})`);
    // The same stack after a crash: its folder takes the claim back at once.
    const again = await claimRedis(t.redis, "/data/a", "redis://r", () => {});
    await again.release();
    await first.release();
    const other = await claimRedis(t.redis, "/data/b", "redis://r", () => {});
    await other.release();
    assert.equal(await t.redis.exists(redisKeys.localStackClaim()), 0);
  } finally {
    await t.cleanup();
  }
});
