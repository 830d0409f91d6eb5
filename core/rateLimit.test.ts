import { after, test } from "node:test";
import assert from "node:assert/strict";
import { RateLimiter } from "./rateLimit.ts";
import { testRedis } from "../test/helpers/redis.ts";

const t = testRedis();
after(async () => t.cleanup());

test("allows the limit per window, then refuses with the seconds left in the window", async () => {
  let now = Date.UTC(2026, 0, 1, 10, 59, 0); // one minute before the hour window ends
  const limiter = new RateLimiter(t.redis, { limit: 3, now: () => now });
  const verdicts = [];
  for (let i = 0; i < 4; i++) verdicts.push(await limiter.hit("ip", "203.0.113.9"));
  assert.deepEqual(
    verdicts.map((verdict) => verdict.allowed),
    [true, true, true, false],
  );
  assert.equal(verdicts[3]?.retryAfterSeconds, 60);
  assert.equal(verdicts[3]?.count, 4);

  // Another subject has its own count; the next window starts afresh.
  assert.equal((await limiter.hit("ip", "203.0.113.10")).allowed, true);
  now += 61_000;
  assert.equal((await limiter.hit("ip", "203.0.113.9")).allowed, true);
});

test("emails count case-insensitively", async () => {
  const limiter = new RateLimiter(t.redis, { limit: 1 });
  assert.equal((await limiter.hit("email", "Ranger@Example.org")).allowed, true);
  assert.equal((await limiter.hit("email", " ranger@example.org")).allowed, false);
});

test("a request can cost several units: the window holds `limit` units, however they arrive", async () => {
  const limiter = new RateLimiter(t.redis, { limit: 5, windowSeconds: 60 });
  assert.deepEqual([await limiter.hit("job-sign", "job-a", 2), await limiter.hit("job-sign", "job-a", 3)].map((verdict) => verdict.allowed), [true, true]);
  const over = await limiter.hit("job-sign", "job-a", 1);
  assert.equal(over.allowed, false);
  assert.equal(over.count, 6);
  assert.ok(over.retryAfterSeconds >= 1 && over.retryAfterSeconds <= 60, String(over.retryAfterSeconds));
  assert.equal((await limiter.hit("job-sign", "job-b", 5)).allowed, true, "each job counts on its own");
  assert.equal((await limiter.hit("job-sign", "job-c", 6)).allowed, false, "one request over the limit alone");
});
