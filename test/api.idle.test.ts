// Jobs left uploading (UPLOAD_IDLE_SECONDS 1 here) over real HTTP (fauxqs, Redis): they expire,
// the next job created sweeps them (their inputs deleted, their multipart uploads aborted, their
// plan dropped), and one never submitted stops counting against its owner's creation limit.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ListObjectsV2Command, UploadPartCommand } from "@aws-sdk/client-s3";
import { setTimeout as sleep } from "node:timers/promises";
import { redisKeys } from "../core/keys.ts";
import { MiB, startApiHarness } from "./helpers/apiHarness.ts";
import type { ApiHarness } from "./helpers/apiHarness.ts";

describe("idle uploads", () => {
  let api: ApiHarness;
  before(async () => {
    // Loopback is one address, so the test names each client in a header.
    api = await startApiHarness({ UPLOAD_IDLE_SECONDS: "1", RATE_LIMIT_PER_HOUR: "1" }, { clientIp: (c) => c.req.header("x-test-client") });
  });
  after(async () => api.stop());

  const create = (email: string, client: string, files: { name: string; size: number }[] = []) =>
    api.call("POST", "/api/jobs", { email, files }, { "x-test-client": client });

  async function inputs(jobId: string): Promise<number> {
    const listed = await api.aws.clients.s3.send(new ListObjectsV2Command({ Bucket: api.aws.config.BUCKET, Prefix: `jobs/${jobId}/input/` }));
    return listed.KeyCount ?? 0;
  }

  test("an idle job expires when touched, frees its count, and the next creations free its storage", async () => {
    const first = await create("a@example.org", "198.51.100.1", [{ name: "a.jpg", size: 3 }, { name: "card.zip", size: 7 * MiB }]);
    assert.equal(first.status, 201);
    const jobId = first.json.jobId;
    const [photo, card] = first.json.uploads;
    assert.equal((await fetch(photo!.url, { method: "PUT", headers: photo!.headers, body: "abc" })).status, 200);
    assert.equal((await fetch(card!.multipart.parts[0]!.url, { method: "PUT", body: new Uint8Array(5 * MiB) })).status, 200);
    assert.equal(await inputs(jobId), 1);

    // The limit is one job an hour per person: the next one (below) is allowed only because this
    // one expires unsubmitted, after UPLOAD_IDLE_SECONDS without upload activity.
    await sleep(1_200);
    const late = await api.call("POST", `/api/jobs/${jobId}/uploads/sign`, { names: ["a.jpg"] });
    assert.equal(late.status, 409);
    assert.equal(late.json.error.code, "job_expired");
    assert.match(late.json.error.message, /never submitted and had no upload activity for 1 minute/);
    const status = await api.call("GET", `/api/jobs/${jobId}`);
    assert.equal(status.json.status, "expired");
    assert.match(status.json.error as unknown as string, /uploads were deleted/);
    assert.equal((await api.call("POST", `/api/jobs/${jobId}/submit`)).status, 409);

    // Its count was given back: a new job is allowed, and creating it sweeps the old job's storage.
    const second = await create("a@example.org", "198.51.100.1");
    assert.equal(second.status, 201, JSON.stringify(second.json));
    for (let i = 0; i < 3 && (await api.redis.redis.zscore(redisKeys.cleanup(), jobId)) !== null; i++) {
      assert.equal((await create(`sweeper${i}@example.org`, `203.0.113.${i}`)).status, 201);
    }
    assert.equal(await api.redis.redis.zscore(redisKeys.cleanup(), jobId), null, "the cleanup finished");
    assert.equal(await inputs(jobId), 0, "its inputs are deleted");
    assert.equal(await api.redis.redis.exists(redisKeys.files(jobId), redisKeys.uploads(jobId)), 0, "its plan is dropped");
    await assert.rejects(
      api.aws.clients.s3.send(new UploadPartCommand({ Bucket: api.aws.config.BUCKET, Key: `jobs/${jobId}/input/card.zip`, UploadId: card!.multipart.uploadId, PartNumber: 2, Body: "x" })),
      /NoSuchUpload|does not exist/,
      "its multipart upload is aborted",
    );
    assert.equal((await api.store.get(jobId))?.status, "expired", "the record stays, saying why");
  });

  test("a job nobody comes back to is expired by the sweep of the next job created", async () => {
    const idle = await create("b@example.org", "198.51.100.2", [{ name: "x.jpg", size: 1 }]);
    assert.equal(idle.status, 201);
    await sleep(1_200);
    assert.equal((await create("c@example.org", "198.51.100.3")).status, 201);
    assert.equal((await api.store.get(idle.json.jobId))?.status, "expired");
    assert.equal((await create("b@example.org", "198.51.100.2")).status, 201, "its owner may create another");
  });

  test("activity keeps a job alive, and a submitted job never expires", async () => {
    const created = await create("d@example.org", "198.51.100.4", [{ name: "y.jpg", size: 1 }]);
    const jobId = created.json.jobId;
    for (let i = 0; i < 3; i++) {
      await sleep(600);
      assert.equal((await api.call("POST", `/api/jobs/${jobId}/uploads/sign`, { names: ["y.jpg"] })).status, 200);
    }
    const [plan] = (await api.call("POST", `/api/jobs/${jobId}/uploads/sign`, { names: ["y.jpg"] })).json.uploads;
    await fetch(plan!.url, { method: "PUT", headers: plan!.headers, body: "y" });
    assert.equal((await api.call("POST", `/api/jobs/${jobId}/submit`)).status, 200);
    await sleep(1_200);
    assert.equal((await create("e@example.org", "198.51.100.5")).status, 201);
    assert.equal((await api.store.get(jobId))?.status, "queued");
    assert.equal(await api.redis.redis.zscore(redisKeys.uploading(), jobId), null);
  });
});
