// Issue 11's contract, with real parts: fauxqs over HTTP, real Redis, real ONNX Runtime (tiny
// model), a real SMTP server. The same 60-photo job (a folder of 45 and a zip of 15) runs as one
// shard on one worker and as 6 shards of 10 on two workers: the reports must say the same thing
// (only timings differ), and each job's owner gets exactly one email with the job's link.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import ExcelJS from "exceljs";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FilePlan } from "../../core/filePlan.ts";
import type { JobRecord, PlannedFile } from "../../core/jobs.ts";
import { JobStore } from "../../core/jobStore.ts";
import { browseKeys, inputKey, resultKey } from "../../core/keys.ts";
import type { BrowseSummary } from "../../functions/wire.ts";
import { jobEmailDeps } from "../../core/notify/index.ts";
import { ShardLedger } from "../../core/shardLedger.ts";
import { photo } from "../../test/e2e/photos.ts";
import { startLocalAws, type LocalAws } from "../../test/helpers/localAws.ts";
import { decodeQuotedPrintable, startMailCatcher, type MailCatcher } from "../../test/helpers/mailCatcher.ts";
import { readZip } from "../../test/helpers/readZip.ts";
import { testRedis, type TestRedis } from "../../test/helpers/redis.ts";
import { writeTinyDetector } from "../../test/helpers/tinyModels.ts";
import { until } from "../../test/helpers/until.ts";
import { storedEntry, zipBytes } from "../../test/helpers/zipBytes.ts";
import { Detector } from "../pipeline/index.ts";
import { JobQueue } from "./queue.ts";
import { QueueWorker } from "./worker.ts";

let dir: string;
let aws: LocalAws;
let redis: TestRedis;
let store: JobStore;
let detector: Detector;
let mail: MailCatcher;
const files: Record<string, Buffer> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-shards-test-"));
  aws = await startLocalAws({ MAX_RECEIVES: "3", VISIBILITY_SECONDS: "30", PART_BYTES: String(5 * 1024 * 1024) });
  redis = testRedis();
  store = new JobStore(redis.redis, { retentionDays: 1 });
  mail = await startMailCatcher();
  const modelPath = join(dir, "tiny.onnx");
  await writeTinyDetector(modelPath, { layout: "yolov5", inputSize: 64, dynamicSpatial: true, stride: 32 });
  detector = await Detector.open({ modelPath, provider: "cpu", batchSize: 2 });
  // Every third photo has the target the tiny model finds; the rest are blank.
  const animal = await photo({ left: 160, top: 120, width: 320, height: 240 });
  const blank = await photo();
  for (let i = 0; i < 45; i++) files[`card/DCIM/IMG_${String(i).padStart(4, "0")}.JPG`] = i % 3 === 0 ? animal : blank;
  files["card/more.zip"] = zipBytes(Array.from({ length: 15 }, (_, i) => storedEntry(`IMG_${String(100 + i)}.JPG`, i % 3 === 0 ? animal : blank)));
});

after(async () => {
  await detector?.close();
  await mail?.close();
  await redis?.cleanup();
  await aws?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function queuedJob(): Promise<string> {
  const id = randomBytes(16).toString("base64url");
  const planned: PlannedFile[] = [];
  for (const [name, bytes] of Object.entries(files)) {
    const key = inputKey(id, name);
    await aws.clients.s3.send(new PutObjectCommand({ Bucket: aws.config.BUCKET, Key: key, Body: bytes }));
    planned.push({ name, key, size: bytes.length, method: "PUT" });
  }
  const now = new Date().toISOString();
  const job: JobRecord = { id, email: "ranger@example.org", status: "uploading", createdAt: now, updatedAt: now, fileCount: planned.length, totalBytes: 0, options: {}, progress: { processed: 0, total: planned.length }, attempts: 0 };
  await store.create(job);
  assert.ok((await new FilePlan(redis.redis, { retentionDays: 7 }).add(id, planned.map((file) => ({ ...file, type: "image/jpeg" })), { maxFiles: 1000, maxTotalBytes: 1e12 })).ok);
  assert.ok((await store.transition(id, ["uploading"], "queued")).ok);
  await aws.clients.sqs.send(new SendMessageCommand({ QueueUrl: aws.queueUrl, MessageBody: JSON.stringify({ jobId: id }) }));
  return id;
}

/** Runs one job on `workers` workers with shards of `shardImages`; returns its result zip and shard count. */
async function runJob(shardImages: number, workers: number): Promise<{ id: string; zip: Map<string, Buffer>; shards: number }> {
  const config = { ...aws.config, SHARD_IMAGES: shardImages, SMTP_URL: mail.url, SENDER_EMAIL: "trapline@example.org", PUBLIC_SITE_URL: "https://trapline.example.org" };
  const running = Array.from({ length: workers }, (_, i) =>
    new QueueWorker({
      config,
      store,
      queue: new JobQueue(aws.clients.sqs, aws.queueUrl),
      s3: aws.clients.s3,
      model: { detector, fileName: "tiny.onnx" },
      scratchDir: join(dir, `worker-${i}`),
      retryDelaySeconds: () => 0,
      pollSeconds: 1,
      log: () => {},
      email: jobEmailDeps(config, redis.redis, { log: () => {} }),
    }),
  );
  const loops = running.map((worker) => worker.start());
  const ledger = new ShardLedger(redis.redis, { retentionDays: 1 });
  try {
    const id = await queuedJob();
    await until(`job ${id} to be done`, async () => (await store.get(id))?.status === "done", 120_000);
    const object = await aws.clients.s3.send(new GetObjectCommand({ Bucket: aws.config.BUCKET, Key: resultKey(id) }));
    const path = join(dir, `${id}.zip`);
    await writeFile(path, Buffer.from(await object.Body!.transformToByteArray()));
    return { id, zip: await readZip(path), shards: (await ledger.standing(id))!.count };
  } finally {
    await Promise.all(running.map((worker) => worker.stop(1_000)));
    await Promise.all(loops);
  }
}

/** The workbook's Images sheet, less the columns that are about when the run happened. */
async function imageRows(zip: Map<string, Buffer>): Promise<unknown[][]> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(zip.get("results.xlsx")! as unknown as ArrayBuffer);
  const rows: unknown[][] = [];
  workbook.getWorksheet("Images")!.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
  return rows;
}

function detectionsOf(zip: Map<string, Buffer>): unknown {
  const json = JSON.parse(zip.get("detections.json")!.toString("utf8")) as { images: unknown[]; info: Record<string, unknown> };
  return json.images;
}

test("60 photos as 1 shard on 1 worker and as 6 shards on 2 workers: the same package, one email each", async () => {
  const one = await runJob(1_000, 1);
  const many = await runJob(10, 2);
  assert.equal(one.shards, 1);
  // 45 photos and 15 zip entries, 10 to a shard: the zip's 15 entries always span two shards or more.
  assert.equal(many.shards, 6);
  assert.deepEqual(detectionsOf(many.zip), detectionsOf(one.zip));
  assert.deepEqual(await imageRows(many.zip), await imageRows(one.zip));
  assert.deepEqual([...many.zip.keys()].sort(), [...one.zip.keys()].sort());
  // images "detections": the 20 photos with the target come back boxed, the 40 blanks do not.
  const photos = [...one.zip.keys()].filter((name) => name.endsWith(".JPG"));
  assert.equal(photos.length, 20, photos.join(", "));
  assert.ok(photos.includes("DCIM/IMG_0000.JPG") && photos.includes("more/IMG_100.JPG"), "paths start inside the one folder; a zip's entries in a folder of its name");
  // Previews (issue 13): one per photo with the animal, and the blank check (a job of 60 checks every empty); the same names however sharded.
  assert.equal([...one.zip.keys()].filter((name) => name.startsWith("previews/")).length, 60);
  assert.ok(one.zip.has("report.html") && many.zip.has("report.html"));
  const summaryOf = async (id: string) => JSON.parse(await (await aws.clients.s3.send(new GetObjectCommand({ Bucket: aws.config.BUCKET, Key: browseKeys.summary(id) }))).Body!.transformToString()) as BrowseSummary;
  const summary = await summaryOf(one.id);
  assert.deepEqual(await summaryOf(many.id), summary);
  assert.equal(summary.withDetections, 20);
  assert.equal(summary.blankSample, 40);
  assert.equal(summary.perCategory["1"], 20);
  const done = (await store.get(many.id))!;
  assert.deepEqual(done.progress, { processed: 60, total: 60 });
  assert.equal(done.result?.images, 60);
  assert.deepEqual(done.result?.imagesWith, { animal: 20, person: 0, vehicle: 0 });

  await mail.settled();
  for (const id of [one.id, many.id]) {
    const emails = mail.received.filter((message) => decodeQuotedPrintable(message.raw).includes(`https://trapline.example.org/#/jobs/${id}`));
    assert.equal(emails.length, 1, `one email for job ${id}`);
    assert.deepEqual(emails[0]!.to, ["ranger@example.org"]);
  }
});
