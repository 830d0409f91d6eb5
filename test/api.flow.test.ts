// The API end to end over real HTTP: create a job, upload with the returned URLs using fetch
// (a single PUT and a multipart upload of several parts), submit, read its status and download.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { openShardInputs } from "../gpu-worker/worker/shards/shardInputs.ts";
import { resolveInputLimits, type InputItem } from "../gpu-worker/pipeline/index.ts";
import type { PlannedFile } from "../core/jobs.ts";
import { resultKey } from "../core/keys.ts";
import { redisKeys } from "../core/keys.ts";
import { startApiServer } from "../functions/node.ts";
import { MiB, startApiHarness } from "./helpers/apiHarness.ts";
import type { ApiHarness } from "./helpers/apiHarness.ts";

interface PutPlan {
  name: string;
  method: "PUT";
  url: string;
  headers: Record<string, string>;
}
interface MultipartPlan {
  name: string;
  method: "multipart";
  multipart: { uploadId: string; key: string; partSize: number; partCount: number; parts: { partNumber: number; url: string }[] };
}
type Plan = PutPlan | MultipartPlan;

function bytes(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 31 + seed) & 0xff;
  return data;
}

async function putFile(plan: PutPlan, body: Uint8Array<ArrayBuffer>): Promise<void> {
  // Exactly the listed headers, nothing else the URL did not ask for.
  const response = await fetch(plan.url, { method: "PUT", headers: plan.headers, body });
  assert.equal(response.status, 200, await response.text());
}

async function uploadParts(plan: MultipartPlan, body: Uint8Array<ArrayBuffer>): Promise<{ PartNumber: number; ETag: string }[]> {
  const { partSize, parts } = plan.multipart;
  return Promise.all(
    parts.map(async ({ partNumber, url }) => {
      const chunk = body.subarray((partNumber - 1) * partSize, partNumber * partSize);
      const response = await fetch(url, { method: "PUT", body: chunk });
      assert.equal(response.status, 200, await response.text());
      return { PartNumber: partNumber, ETag: response.headers.get("etag")! };
    }),
  );
}

describe("API: create, upload, submit, status, download", () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness();
  });
  after(async () => api.stop());

  const photo = bytes(200_000, 1);
  const card = bytes(11 * MiB + 123, 2); // 3 parts of 5 MiB, the last one short

  async function createJob(files: { name: string; size: number; type?: string }[]) {
    const created = await api.call("POST", "/api/jobs", { email: "ranger@example.org", files });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    return created.json as unknown as { jobId: string; uploads: Plan[] };
  }

  test("a PUT and a multipart upload arrive, submit queues exactly one message even when called twice and concurrently", async () => {
    const { jobId, uploads } = await createJob([
      { name: "cam1/IMG_0001.JPG", size: photo.length, type: "image/jpeg" },
      { name: "card.zip", size: card.length, type: "application/zip" },
    ]);
    assert.match(jobId, /^[A-Za-z0-9_-]{22}$/);
    const [put, multi] = uploads as [PutPlan, MultipartPlan];
    assert.deepEqual({ name: put.name, method: put.method, headers: put.headers }, { name: "cam1/IMG_0001.JPG", method: "PUT", headers: { "content-type": "image/jpeg" } });
    assert.equal(multi.method, "multipart");
    assert.equal(multi.multipart.partSize, 5 * MiB);
    assert.equal(multi.multipart.partCount, 3);
    assert.deepEqual(multi.multipart.parts.map((part) => part.partNumber), [1, 2, 3]);
    assert.equal(multi.multipart.key, `jobs/${jobId}/input/card.zip`);
    for (const url of [put.url, ...multi.multipart.parts.map((part) => part.url)]) {
      assert.ok(!url.toLowerCase().includes("x-amz-checksum"), url);
      assert.ok(url.includes(`/jobs/${jobId}/input/`), url);
      // The body's length is part of the signature: S3 refuses a PUT of any other size.
      assert.match(new URL(url).searchParams.get("X-Amz-SignedHeaders") ?? "", /(^|;)content-length(;|$)/, url);
    }
    assert.equal(await api.store.get(jobId).then((job) => job?.status), "uploading");

    // Before anything is uploaded, submit says what is missing.
    const early = await api.call("POST", `/api/jobs/${jobId}/submit`);
    assert.equal(early.status, 409);
    assert.equal(early.json.error.code, "uploads_incomplete");
    assert.deepEqual(early.json.error.missing.sort(), ["cam1/IMG_0001.JPG", "card.zip"]);

    await putFile(put, photo);
    const etags = await uploadParts(multi, card);

    // Sign one part again (as a resuming uploader would), then complete through the API.
    const signed = await api.call("POST", `/api/jobs/${jobId}/uploads/${encodeURIComponent(multi.multipart.uploadId)}/sign`, { partNumbers: [2] });
    assert.equal(signed.status, 200, JSON.stringify(signed.json));
    assert.equal(signed.json.parts[0]?.partNumber, 2);
    const outside = await api.call("POST", `/api/jobs/${jobId}/uploads/${encodeURIComponent(multi.multipart.uploadId)}/sign`, { partNumbers: [4] });
    assert.equal(outside.status, 400);
    assert.equal(outside.json.error.code, "invalid_part");
    const asText = await api.call("POST", `/api/jobs/${jobId}/uploads/${encodeURIComponent(multi.multipart.uploadId)}/sign`, '{"partNumbers":[2]}', { "content-type": "text/plain" });
    assert.equal(asText.status, 415);
    assert.equal(asText.json.error.code, "unsupported_media_type");

    const completed = await api.call("POST", `/api/jobs/${jobId}/uploads/${encodeURIComponent(multi.multipart.uploadId)}/complete`, { parts: etags.reverse() });
    assert.equal(completed.status, 200, JSON.stringify(completed.json));
    assert.equal(completed.json.name, "card.zip");
    const stored = await api.aws.clients.s3.send(new GetObjectCommand({ Bucket: api.aws.config.BUCKET, Key: multi.multipart.key }));
    assert.deepEqual(new Uint8Array(await stored.Body!.transformToByteArray()), card);

    const submits = await Promise.all([1, 2, 3].map(() => api.call("POST", `/api/jobs/${jobId}/submit`)));
    for (const submit of submits) {
      assert.equal(submit.status, 200, JSON.stringify(submit.json));
      assert.equal(submit.json.status, "queued");
    }
    const again = await api.call("POST", `/api/jobs/${jobId}/submit`);
    assert.equal(again.json.status, "queued");
    assert.equal(await api.aws.queueDepth(), 1);
    const [message] = await api.aws.peekMessages();
    assert.deepEqual(JSON.parse(message!.Body!), { jobId });
    assert.equal(await api.store.getMessageState(jobId), "sent");

    // Submit kept each object's ETag (a multipart one too), and the worker reads them by it.
    const listed = await api.aws.clients.s3.send(new ListObjectsV2Command({ Bucket: api.aws.config.BUCKET, Prefix: `jobs/${jobId}/input/` }));
    const files = await api.plannedFiles(jobId);
    assert.deepEqual(
      files.map((file) => file.etag).sort(),
      listed.Contents?.map((object) => object.ETag).sort(),
    );
    const scratch = await mkdtemp(join(tmpdir(), "trapline-checked-"));
    const items = await readAsShard(api, files, scratch);
    await rm(scratch, { recursive: true, force: true });
    assert.deepEqual(items.flatMap((item) => (item.kind === "rejected" && /changed/.test(item.reason) ? [item.path] : [])), []);

    // Uploads cannot change once the job is queued.
    const late = await api.call("POST", `/api/jobs/${jobId}/uploads/${encodeURIComponent(multi.multipart.uploadId)}/sign`, { partNumbers: [1] });
    assert.equal(late.status, 409);
    assert.equal(late.json.error.code, "not_uploading");
  });

  test("submit lists missing, extra and wrong-size uploads with a 409", async () => {
    const { jobId, uploads } = await createJob([
      { name: "a.jpg", size: 1000, type: "image/jpeg" },
      { name: "b.jpg", size: 1000, type: "image/jpeg" },
      { name: "c.jpg", size: 1000, type: "image/jpeg" },
    ]);
    await putFile(uploads[0] as PutPlan, bytes(1000, 3));
    await putFile(uploads[1] as PutPlan, bytes(999, 3)); // wrong size
    // c.jpg never arrives; something unplanned does.
    await api.aws.clients.s3.send(new PutObjectCommand({ Bucket: api.aws.config.BUCKET, Key: `jobs/${jobId}/input/stray.txt`, Body: "x" }));
    const result = await api.call("POST", `/api/jobs/${jobId}/submit`);
    assert.equal(result.status, 409);
    assert.equal(result.json.error.code, "uploads_incomplete");
    assert.deepEqual(result.json.error.missing, ["c.jpg"]);
    assert.deepEqual(result.json.error.extra, ["stray.txt"]);
    assert.deepEqual(result.json.error.wrongSize, [{ name: "b.jpg", expected: 1000, actual: 999 }]);
    assert.match(result.json.error.message, /did not arrive: "c.jpg"/);
    assert.equal((await api.store.get(jobId))?.status, "uploading");
    assert.equal(await api.aws.queueDepth(), 1, "no message for the refused job (only the earlier test's)");
  });

  test("status shows queue position and an ETA from recent jobs' speed", async () => {
    const ids: string[] = [];
    for (const count of [40, 10]) {
      const files = Array.from({ length: count }, (_, index) => ({ name: `p${index}.jpg`, size: 10, type: "image/jpeg" }));
      const { jobId, uploads } = await createJob(files);
      await Promise.all(uploads.map((plan) => putFile(plan as PutPlan, bytes(10, 4))));
      assert.equal((await api.call("POST", `/api/jobs/${jobId}/submit`)).status, 200);
      ids.push(jobId);
    }
    const [first, second] = ids as [string, string];

    // Before any job has finished there is no speed to go on.
    let status = await api.call("GET", `/api/jobs/${second}`);
    assert.equal(status.json.etaSeconds, null);
    assert.ok((status.json.queuePosition ?? -1) >= 1);

    await api.store.recordRate(5);
    await api.store.transition(first, ["queued"], "processing", { progress: { processed: 0, total: 40 } });
    await api.store.setProgress(first, 20, 40);
    const positionOfFirst = (await api.store.queuePosition(first))!;

    status = await api.call("GET", `/api/jobs/${first}`);
    assert.equal(status.status, 200);
    assert.equal(status.json.status, "processing");
    assert.deepEqual(status.json.progress, { processed: 20, total: 40 });
    assert.equal(status.json.etaSeconds, 4); // 20 left at 5/s
    assert.ok(status.json.startedAt && status.json.queuedAt && status.json.createdAt);
    assert.equal(status.headers.get("cache-control"), "no-store");

    status = await api.call("GET", `/api/jobs/${second}`);
    assert.equal(status.json.queuePosition, positionOfFirst + 1);
    // Ahead: the first job's 20 remaining (plus the earlier test's queued job, 2 files); own: 10.
    assert.equal(status.json.etaSeconds, Math.ceil((20 + 2 * positionOfFirst + 10) / 5));
  });

  test("a done job answers with a fresh download link, and still does after Redis forgot it", async () => {
    const { jobId, uploads } = await createJob([{ name: "x.jpg", size: 5, type: "image/jpeg" }]);
    await putFile(uploads[0] as PutPlan, bytes(5, 5));
    await api.call("POST", `/api/jobs/${jobId}/submit`);
    const notYet = await api.call("GET", `/api/jobs/${jobId}/download`);
    assert.equal(notYet.status, 404);
    assert.equal(notYet.json.error.code, "not_ready");

    const zip = bytes(4321, 6);
    await api.aws.clients.s3.send(new PutObjectCommand({ Bucket: api.aws.config.BUCKET, Key: resultKey(jobId), Body: zip }));
    await api.store.transition(jobId, ["queued"], "processing");
    const result = { key: resultKey(jobId), bytes: zip.length, images: 1, failed: 0, imagesPerSecond: 2 };
    assert.ok((await api.store.transition(jobId, ["processing"], "done", { result })).ok);

    const status = await api.call("GET", `/api/jobs/${jobId}`);
    assert.equal(status.json.status, "done");
    assert.deepEqual(status.json.result, { images: 1, failed: 0, bytes: zip.length });
    assert.equal(status.json.recordGone, undefined);
    assert.equal(status.json.queuePosition, null);
    assert.ok(Date.parse(status.json.downloadExpiresAt) > Date.now());
    const download = await fetch(status.json.downloadUrl);
    assert.equal(download.status, 200);
    assert.deepEqual(new Uint8Array(await download.arrayBuffer()), zip);

    const redirect = await api.call("GET", `/api/jobs/${jobId}/download`);
    assert.equal(redirect.status, 302);
    assert.match(redirect.headers.get("location") ?? "", new RegExp(`/jobs/${jobId}/output/`));

    // Redis loses the record: the result in S3 still answers.
    await api.redis.redis.del(redisKeys.job(jobId), redisKeys.files(jobId));
    const fallback = await api.call("GET", `/api/jobs/${jobId}`);
    assert.equal(fallback.status, 200);
    assert.equal(fallback.json.status, "done");
    assert.equal(fallback.json.result.bytes, zip.length);
    assert.equal(fallback.json.recordGone, true, "the page must not read the zeros as counts");
    const again = await fetch(fallback.json.downloadUrl);
    assert.deepEqual(new Uint8Array(await again.arrayBuffer()), zip);
    assert.equal((await api.call("GET", `/api/jobs/${jobId}/download`)).status, 302);
  });

  /** A job the worker finished: input, result zip in S3, record done. */
  async function doneJob(): Promise<string> {
    const { jobId, uploads } = await createJob([{ name: "x.jpg", size: 5, type: "image/jpeg" }]);
    await putFile(uploads[0] as PutPlan, bytes(5, 5));
    await api.call("POST", `/api/jobs/${jobId}/submit`);
    const zip = bytes(100, 7);
    await api.aws.clients.s3.send(new PutObjectCommand({ Bucket: api.aws.config.BUCKET, Key: resultKey(jobId), Body: zip }));
    await api.store.transition(jobId, ["queued"], "processing");
    const result = { key: resultKey(jobId), bytes: zip.length, images: 1, failed: 0, imagesPerSecond: 2 };
    assert.ok((await api.store.transition(jobId, ["processing"], "done", { result })).ok);
    return jobId;
  }

  async function deleteResult(jobId: string): Promise<void> {
    await api.aws.clients.s3.send(new DeleteObjectCommand({ Bucket: api.aws.config.BUCKET, Key: resultKey(jobId) }));
  }

  /** Counts HeadObject calls the API makes (the real call still goes to the emulator). */
  function countHeads(): { count: number; restore(): void } {
    const s3 = api.aws.clients.s3;
    const send = s3.send.bind(s3);
    const counter = { count: 0, restore: () => (s3.send = send) };
    s3.send = ((command: unknown, ...rest: unknown[]) => {
      if (command instanceof HeadObjectCommand) counter.count++;
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    }) as typeof s3.send;
    return counter;
  }

  test("a done job whose result is gone reads expired, and its download is a 410, never a redirect to nothing", async () => {
    const jobId = await doneJob();
    await deleteResult(jobId); // retention, or a wiped local data folder
    const status = await api.call("GET", `/api/jobs/${jobId}`);
    assert.equal(status.json.status, "expired");
    assert.match(JSON.stringify(status.json.error), /no longer stored/);
    assert.equal(status.json.downloadUrl, undefined);
    assert.equal((await api.store.get(jobId))?.status, "expired");
    const download = await api.call("GET", `/api/jobs/${jobId}/download`);
    assert.equal(download.status, 410);
    assert.equal(download.json.error.code, "job_expired");
    assert.equal(download.headers.get("location"), null);
  });

  test("storage is asked about a done job's result once per record; the download route asks every time", async () => {
    const jobId = await doneJob();
    const heads = countHeads();
    try {
      for (let i = 0; i < 3; i++) assert.equal((await api.call("GET", `/api/jobs/${jobId}`)).json.status, "done");
      assert.equal(heads.count, 1);
      assert.ok((await api.store.get(jobId))?.resultSeenAt);

      await deleteResult(jobId);
      // The record's word is taken: on AWS the result outlives the record (same retention, written later).
      assert.equal((await api.call("GET", `/api/jobs/${jobId}`)).json.status, "done");
      assert.equal(heads.count, 1);
      const download = await api.call("GET", `/api/jobs/${jobId}/download`);
      assert.equal(download.status, 410, "the download route looked and found nothing");
      assert.equal(heads.count, 2);
      assert.equal((await api.call("GET", `/api/jobs/${jobId}`)).json.status, "expired");
    } finally {
      heads.restore();
    }
  });

  test("after the storage restarted (a local stack whose folder may have been wiped), results seen before are looked for again", async () => {
    const kept = await doneJob();
    const wiped = await doneJob();
    for (const jobId of [kept, wiped]) assert.equal((await api.call("GET", `/api/jobs/${jobId}`)).json.status, "done");
    await deleteResult(wiped);
    const restarted = await startApiServer({ ...api.deps, storageStartedAt: new Date(Date.now() + 1) }, 0);
    try {
      const read = async (jobId: string) => (await (await fetch(`${restarted.url}/api/jobs/${jobId}`)).json()) as { status: string };
      assert.equal((await read(wiped)).status, "expired");
      assert.equal((await read(kept)).status, "done");
    } finally {
      await restarted.close();
    }
  });

  test("unknown and malformed job ids are 404 with the error shape", async () => {
    for (const path of ["/api/jobs/AAAAAAAAAAAAAAAAAAAAAA", "/api/jobs/not-an-id", "/api/jobs/AAAAAAAAAAAAAAAAAAAAAA/download"]) {
      const response = await api.call("GET", path);
      assert.equal(response.status, 404, path);
      assert.equal(response.json.error.code, "not_found");
      assert.equal(typeof response.json.error.message, "string");
    }
    const submit = await api.call("POST", "/api/jobs/AAAAAAAAAAAAAAAAAAAAAA/submit");
    assert.equal(submit.status, 404);
  });

  test("abort and list parts act only on the job's own uploads", async () => {
    const { jobId, uploads } = await createJob([{ name: "big.zip", size: 7 * MiB, type: "application/zip" }]);
    const plan = uploads[0] as MultipartPlan;
    const other = await createJob([{ name: "o.jpg", size: 3 }]);
    const foreign = await api.call("DELETE", `/api/jobs/${other.jobId}/uploads/${encodeURIComponent(plan.multipart.uploadId)}`);
    assert.equal(foreign.status, 404);
    assert.equal(foreign.json.error.code, "unknown_upload");

    // fauxqs has no ListParts: the route says no part is known, so an uploader sends them all again.
    const listed = await api.call("GET", `/api/jobs/${jobId}/uploads/${encodeURIComponent(plan.multipart.uploadId)}/parts`);
    assert.equal(listed.status, 200, JSON.stringify(listed.json));
    assert.deepEqual(listed.json, { parts: [], partsKnown: false });

    const aborted = await api.call("DELETE", `/api/jobs/${jobId}/uploads/${encodeURIComponent(plan.multipart.uploadId)}`);
    assert.equal(aborted.status, 204);
    const completeAfterAbort = await api.call("POST", `/api/jobs/${jobId}/uploads/${encodeURIComponent(plan.multipart.uploadId)}/complete`, {
      parts: [{ PartNumber: 1, ETag: '"x"' }],
    });
    assert.equal(completeAfterAbort.status, 404);
    assert.equal(completeAfterAbort.json.error.code, "unknown_upload");
  });

  test("healthz reports Redis, S3 and SQS", async () => {
    const health = await api.call("GET", "/healthz");
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { ok: true, redis: "ok", s3: "ok", sqs: "ok" });
  });

  test("submit records each checked object's ETag; an upload replaced afterwards is a row for the worker, not processed", async () => {
    const original = bytes(3000, 7);
    const { jobId, uploads } = await createJob([{ name: "cam1/IMG_0002.JPG", size: original.length, type: "image/jpeg" }]);
    const plan = uploads[0] as PutPlan;
    await putFile(plan, original);
    assert.equal((await api.call("POST", `/api/jobs/${jobId}/submit`)).status, 200);
    const listed = await api.aws.clients.s3.send(new ListObjectsV2Command({ Bucket: api.aws.config.BUCKET, Prefix: `jobs/${jobId}/input/` }));
    const files = await api.plannedFiles(jobId);
    assert.deepEqual(
      files.map((file) => [file.name, file.etag]),
      [["cam1/IMG_0002.JPG", listed.Contents?.[0]?.ETag]],
    );
    assert.ok(files[0]?.etag);

    // The link is still valid while the job waits in the queue: the object can be replaced.
    await putFile(plan, bytes(3000, 8));
    const scratch = await mkdtemp(join(tmpdir(), "trapline-replaced-"));
    try {
      assert.deepEqual(await readAsShard(api, files, scratch), [{ kind: "rejected", path: "cam1/IMG_0002.JPG", reason: "changed after the upload was checked; it was not processed" }]);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });
});

/** The planned files read as one shard reads its inputs (If-Match on each ETag). */
async function readAsShard(api: ApiHarness, files: PlannedFile[], scratch: string): Promise<InputItem[]> {
  const shard = { index: 0, root: { kind: "several" as const, count: files.length }, files: files.map((file) => ({ name: file.name, key: file.key, size: file.size, path: file.name, ...(file.etag ? { etag: file.etag } : {}) })) };
  const inputs = await openShardInputs(api.aws.clients.s3, shard, { bucket: api.aws.config.BUCKET, scratchDir: scratch, limits: resolveInputLimits() });
  const items: InputItem[] = [];
  try {
    for await (const item of inputs.items) items.push(item);
  } finally {
    await inputs.dispose();
  }
  return items;
}
