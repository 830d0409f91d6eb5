// Per-job limits over real HTTP (fauxqs, Redis): submits, status reads and part signing each
// stop at their limit with a 429 and Retry-After; a queued job's submits never list S3 again.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { redisKeys } from "../core/keys.ts";
import { MiB, startApiHarness } from "../test/helpers/apiHarness.ts";
import type { ApiHarness } from "../test/helpers/apiHarness.ts";

describe("per-job limits", () => {
  let api: ApiHarness;
  let lists = 0;
  before(async () => {
    api = await startApiHarness({ JOB_SUBMITS_PER_HOUR: "3", JOB_READS_PER_MINUTE: "3", JOB_PARTS_SIGNED_PER_HOUR: "5" });
    // Counts what submit costs S3: one ListObjectsV2 page per check of the job's inputs.
    api.aws.clients.s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "ListObjectsV2Command") lists++;
        return next(args);
      },
      { step: "initialize", name: "countListObjects" },
    );
  });
  after(async () => api.stop());

  async function createJob(files: { name: string; size: number }[]) {
    const created = await api.call("POST", "/api/jobs", { email: "ranger@example.org", files });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    return created.json;
  }

  function assertLimited(response: Awaited<ReturnType<ApiHarness["call"]>>, message: RegExp, windowSeconds: number) {
    assert.equal(response.status, 429, JSON.stringify(response.json));
    assert.equal(response.json.error.code, "rate_limited");
    assert.match(response.json.error.message, message);
    const retryAfter = Number(response.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= windowSeconds, `Retry-After ${retryAfter}`);
  }

  test("submits: each one of an uploading job lists S3, until the limit stops them before the listing", async () => {
    const { jobId } = await createJob([{ name: "a.jpg", size: 10 }]);
    const before = lists;
    for (let i = 0; i < 3; i++) assert.equal((await api.call("POST", `/api/jobs/${jobId}/submit`)).status, 409);
    assert.equal(lists - before, 3);
    assertLimited(await api.call("POST", `/api/jobs/${jobId}/submit`), /submits of this job \(at most 3 an hour\)/, 3600);
    assert.equal(lists - before, 3, "a refused submit lists nothing");
  });

  test("submits of a job already queued answer from Redis without listing S3", async () => {
    const { jobId, uploads } = await createJob([{ name: "a.jpg", size: 10 }]);
    const put = await fetch(uploads[0]!.url, { method: "PUT", headers: uploads[0]!.headers, body: new Uint8Array(10) });
    assert.equal(put.status, 200);
    const before = lists;
    assert.equal((await api.call("POST", `/api/jobs/${jobId}/submit`)).json.status, "queued");
    for (let i = 0; i < 2; i++) assert.equal((await api.call("POST", `/api/jobs/${jobId}/submit`)).json.status, "queued");
    assert.equal(lists - before, 1, "only the check that queued it");
  });

  test("status reads: a job's own count per minute; other jobs and unknown ids are not affected", async () => {
    // Fixed one-minute windows: start where the next few requests all fall into the same one.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 55_000) await sleep(60_000 - intoMinute + 50);
    const { jobId } = await createJob([{ name: "a.jpg", size: 10 }]);
    const other = await createJob([{ name: "b.jpg", size: 10 }]);
    for (let i = 0; i < 2; i++) assert.equal((await api.call("GET", `/api/jobs/${jobId}`)).status, 200);
    assert.equal((await api.call("GET", `/api/jobs/${jobId}/download`)).status, 404, "not ready, but counted");
    assertLimited(await api.call("GET", `/api/jobs/${jobId}`), /status requests for this job \(at most 3 a minute\)/, 60);
    assertLimited(await api.call("GET", `/api/jobs/${jobId}/download`), /at most 3 a minute/, 60);
    assert.equal((await api.call("GET", `/api/jobs/${other.jobId}`)).status, 200);

    const unknown = "AAAAAAAAAAAAAAAAAAAAAA";
    for (let i = 0; i < 5; i++) assert.equal((await api.call("GET", `/api/jobs/${unknown}`)).status, 404);
    const window = Math.floor(Date.now() / 60_000);
    assert.equal(await api.redis.redis.exists(redisKeys.rateLimit("job-read", unknown, window)), 0, "no counter for a job that does not exist");
  });

  test("part signing counts the part URLs asked for (repeats once), not the requests", async () => {
    const { jobId, uploads } = await createJob([{ name: "card.zip", size: 12 * MiB }]);
    const uploadId = encodeURIComponent(uploads[0]!.multipart.uploadId);
    const sign = (partNumbers: number[]) => api.call("POST", `/api/jobs/${jobId}/uploads/${uploadId}/sign`, { partNumbers });
    assert.equal((await sign([1, 2, 3])).status, 200);
    assert.equal((await sign([2, 2, 2, 3])).status, 200, "two distinct parts: 5 of 5");
    assertLimited(await sign([1]), /part links signed for this job \(at most 5 an hour\)/, 3600);
  });
});
