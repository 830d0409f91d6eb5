import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { randomBytes } from "node:crypto";
import { JobStore, StoreUnavailableError, createRedis, decodeRecord, encodeRecord, median } from "./jobStore.ts";
import type { JobRecord } from "./jobs.ts";
import { redisKeys } from "./keys.ts";
import { testRedis } from "../test/helpers/redis.ts";
import type { TestRedis } from "../test/helpers/redis.ts";

function newJob(overrides: Partial<JobRecord> = {}): JobRecord {
  const now = new Date().toISOString();
  return {
    id: randomBytes(16).toString("base64url"),
    email: "ranger@example.org",
    status: "uploading",
    createdAt: now,
    updatedAt: now,
    fileCount: 3,
    totalBytes: 3000,
    options: { renderThreshold: 0.3 },
    progress: { processed: 0, total: 0 },
    attempts: 0,
    ...overrides,
  };
}

describe("JobStore", () => {
  let t: TestRedis;
  let store: JobStore;
  before(() => {
    t = testRedis();
    store = new JobStore(t.redis, { retentionDays: 7 });
  });
  after(async () => t.cleanup());

  test("create then get returns the same record, expiring with the retention", async () => {
    const job = newJob();
    await store.create(job);
    assert.deepEqual(await store.get(job.id), job);
    const ttl = await t.redis.ttl(redisKeys.job(job.id));
    assert.ok(ttl > 7 * 86400 - 60 && ttl <= 7 * 86400, `ttl ${ttl}`);
    assert.equal(await store.get("no-such-job"), null);
  });

  test("records round-trip through their hash encoding, nested fields as JSON", () => {
    const job = newJob({
      status: "done",
      queuedAt: "2026-01-01T00:00:00.000Z",
      result: { key: "jobs/x/output/r.zip", bytes: 10, images: 2, failed: 0, imagesPerSecond: 3.5 },
      error: "none",
    });
    const fields = encodeRecord(job);
    assert.equal(fields.result, JSON.stringify(job.result));
    assert.equal(fields.processed, "0");
    assert.deepEqual(decodeRecord(fields), job);
    assert.equal(decodeRecord({}), null);
  });

  test("transitions are one-way, stamp their timestamps and return the new record", async () => {
    const job = newJob();
    await store.create(job);
    const queued = await store.transition(job.id, ["uploading"], "queued");
    assert.equal(queued.ok, true);
    assert.ok(queued.ok && queued.job.status === "queued" && queued.job.queuedAt);

    const again = await store.transition(job.id, ["uploading"], "queued");
    assert.deepEqual(again, { ok: false, status: "queued" });

    const processing = await store.transition(job.id, ["queued"], "processing", { progress: { processed: 0, total: 40 } });
    assert.ok(processing.ok && processing.job.startedAt && processing.job.progress.total === 40);

    const result = { key: "jobs/x/output/r.zip", bytes: 99, images: 40, failed: 1, imagesPerSecond: 4 };
    const done = await store.transition(job.id, ["processing"], "done", { result });
    assert.ok(done.ok);
    assert.deepEqual(done.job.result, result);
    assert.ok(done.job.finishedAt);

    // Backwards is refused even when the caller lists the current status as allowed.
    assert.deepEqual(await store.transition(job.id, ["done"], "processing"), { ok: false, status: "done" });
    assert.deepEqual(await store.transition(job.id, ["done", "processing"], "queued"), { ok: false, status: "done" });
    assert.equal((await store.get(job.id))?.status, "done");
    assert.deepEqual(await store.transition("missing-job", ["uploading"], "queued"), { ok: false, status: null });
  });

  test("of many concurrent identical transitions exactly one wins", async () => {
    const job = newJob();
    await store.create(job);
    const results = await Promise.all(Array.from({ length: 20 }, () => store.transition(job.id, ["uploading"], "queued")));
    assert.equal(results.filter((result) => result.ok).length, 1);
    assert.ok(results.every((result) => result.ok || result.status === "queued"));
  });

  test("the queue set follows the status, and positions count the jobs ahead", async () => {
    // Its own key space: other tests here leave queued jobs behind.
    const own = testRedis();
    const store = new JobStore(own.redis, { retentionDays: 7 });
    after(async () => own.cleanup());
    const [a, b, c] = [newJob({ fileCount: 10 }), newJob({ fileCount: 5 }), newJob({ fileCount: 7 })];
    for (const job of [a, b, c]) await store.create(job);
    for (const job of [a, b, c]) {
      await store.transition(job.id, ["uploading"], "queued");
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    assert.equal(await store.queuePosition(a.id), 0);
    assert.equal(await store.queuePosition(c.id), 2);
    await store.transition(a.id, ["queued"], "processing", { progress: { processed: 0, total: 10 } });
    await store.setProgress(a.id, 4, 10);
    assert.deepEqual(await store.queueStanding(c.id), { position: 2, imagesAhead: 6 + 5 });
    await store.transition(a.id, ["processing"], "done");
    assert.equal(await store.queuePosition(a.id), null);
    assert.deepEqual(await store.queueStanding(b.id), { position: 0, imagesAhead: 0 });
    assert.equal(await store.queueStanding(a.id), null);
  });

  test("attempts and progress change only records that exist", async () => {
    const job = newJob();
    await store.create(job);
    assert.equal(await store.recordAttempt(job.id), 1);
    assert.equal(await store.recordAttempt(job.id), 2);
    assert.equal(await store.setProgress(job.id, 3, 9), true);
    const record = await store.get(job.id);
    assert.equal(record?.attempts, 2);
    assert.deepEqual(record?.progress, { processed: 3, total: 9 });

    assert.equal(await store.recordAttempt("gone"), null);
    assert.equal(await store.setProgress("gone", 1, 2), false);
    assert.equal(await t.redis.exists(redisKeys.job("gone")), 0);
  });

  test("the first progress report with photos done marks where the job's own speed is measured from", async () => {
    let clock = Date.parse("2026-03-01T10:00:00.000Z");
    const timed = new JobStore(t.redis, { retentionDays: 7, now: () => new Date(clock) });
    const job = newJob();
    await timed.create(job);
    await timed.transition(job.id, ["uploading"], "queued");
    await timed.transition(job.id, ["queued"], "processing");
    await timed.setProgress(job.id, 0, 50);
    assert.equal((await timed.get(job.id))?.measuredFrom, undefined, "no photo done yet: nothing to measure from");
    clock += 30_000;
    await timed.setProgress(job.id, 4, 50);
    clock += 2_000;
    await timed.setProgress(job.id, 12, 50);
    assert.deepEqual((await timed.get(job.id))?.measuredFrom, { at: "2026-03-01T10:00:30.000Z", processed: 4 });

    // A redelivery restarts the job: its speed is measured afresh.
    clock += 60_000;
    await timed.transition(job.id, ["processing"], "processing", { progress: { processed: 0, total: 50 } });
    assert.equal((await timed.get(job.id))?.measuredFrom, undefined);
    await timed.setProgress(job.id, 8, 50);
    assert.deepEqual((await timed.get(job.id))?.measuredFrom, { at: "2026-03-01T10:01:32.000Z", processed: 8 });
  });

  test("message state compare-and-set lets exactly one caller claim a resend", async () => {
    const job = newJob();
    await store.create(job);
    await store.transition(job.id, ["uploading"], "queued", { messageState: "unsent" });
    assert.equal(await store.getMessageState(job.id), "unsent");
    const claims = await Promise.all(Array.from({ length: 5 }, () => store.compareAndSetMessageState(job.id, ["unsent"], "sending")));
    assert.equal(claims.filter(Boolean).length, 1);
    assert.equal(await store.getMessageState(job.id), "sending");
  });

  test("the typical rate is the median of recent jobs", async () => {
    assert.equal(await store.typicalRate(), null);
    for (const rate of [2, 100, 3, 4, 0, -1, Number.NaN]) await store.recordRate(rate);
    assert.equal(await store.typicalRate(), 3.5);
    for (let i = 0; i < 30; i++) await store.recordRate(10);
    assert.equal(await store.typicalRate(), 10);
    assert.equal(await t.redis.llen(redisKeys.recentRates()), 20);
    assert.equal(median([5, 1, 3]), 3);

    // Another instance (another API container) caches its own answer for rateCacheMs.
    const cached = new JobStore(t.redis, { retentionDays: 7, rateCacheMs: 60_000 });
    const fresh = new JobStore(t.redis, { retentionDays: 7, rateCacheMs: 0 });
    assert.equal(await cached.typicalRate(), 10);
    for (let i = 0; i < 20; i++) await store.recordRate(4);
    assert.equal(await cached.typicalRate(), 10);
    assert.equal(await fresh.typicalRate(), 4);
  });

  test("ping answers while Redis is up", async () => {
    await store.ping();
  });
});

describe("JobStore without Redis", () => {
  test("commands fail fast with StoreUnavailableError rather than hang", async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const address = server.address();
        server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
      });
    });
    const logged: string[] = [];
    const redis = createRedis({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_CLUSTER: false }, { log: (line) => logged.push(line) });
    const store = new JobStore(redis, { retentionDays: 1 });
    try {
      const started = performance.now();
      await assert.rejects(store.get("any"), StoreUnavailableError);
      await assert.rejects(store.ping(), /Redis\) is unavailable/);
      assert.ok(performance.now() - started < 2_000, `took ${Math.round(performance.now() - started)} ms`);
      assert.match(logged[0] ?? "", /unreachable.*redis-server/);
    } finally {
      redis.disconnect();
    }
  });
});
