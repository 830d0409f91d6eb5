// The queue worker against the real fauxqs S3/SQS emulator, real Redis (keys under a random
// prefix) and a real ONNX session: a job runs to one complete result, redeliveries are no-ops,
// poison jobs end failed with a reason and their message in the DLQ, shutdown hands a job back.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import ExcelJS from "exceljs";
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { PurgeQueueCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobRecord } from "../../core/jobs.ts";
import { JobStore } from "../../core/jobStore.ts";
import { outputPrefix, redisKeys, resultKey, shardPrefix } from "../../core/keys.ts";
import { startLocalAws, type LocalAws } from "../../test/helpers/localAws.ts";
import { testRedis, type TestRedis } from "../../test/helpers/redis.ts";
import { until } from "../../test/helpers/until.ts";
import { readZip } from "../../test/helpers/readZip.ts";
import { writeTinyDetector } from "../../test/helpers/tinyModels.ts";
import { storedEntry, zipBytes } from "../../test/helpers/zipBytes.ts";
import { damagedIsoMediaFiles, damagedTiffFiles } from "../../test/helpers/isoMedia.ts";
import { photo } from "../../test/e2e/photos.ts";
import { Detector } from "../pipeline/detector/detector.ts";
import { JobQueue } from "./queue.ts";
import { TaskProtection } from "./taskProtection.ts";
import { checkHealthFile, HealthBeacon, type HealthRecord } from "./health.ts";
import { QueueWorker, type WorkerOptions } from "./worker.ts";
import { queuedJob as queuedJobIn, sendJobMessage as sendJobMessageTo } from "../../test/helpers/queuedJob.ts";

let dir: string;
let aws: LocalAws;
let redis: TestRedis;
let store: JobStore;
let detector: Detector;
let queue: JobQueue;
let deadLetters: JobQueue;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-worker-test-"));
  aws = await startLocalAws({ MAX_RECEIVES: "3", VISIBILITY_SECONDS: "30", PART_BYTES: String(5 * 1024 * 1024) });
  redis = testRedis();
  store = new JobStore(redis.redis, { retentionDays: 1 });
  const modelPath = join(dir, "tiny.onnx");
  await writeTinyDetector(modelPath, { layout: "yolov5", inputSize: 64, dynamicSpatial: true, stride: 32 });
  detector = await Detector.open({ modelPath, provider: "cpu", batchSize: 2 });
  queue = new JobQueue(aws.clients.sqs, aws.queueUrl);
  deadLetters = new JobQueue(aws.clients.sqs, aws.dlqUrl);
});

after(async () => {
  await detector?.close();
  await redis?.cleanup();
  await aws?.stop();
  await rm(dir, { recursive: true, force: true });
});

function newJobId(): string {
  return randomBytes(16).toString("base64url");
}

/** A queued job whose files are already in S3, and its message on the queue (test/helpers/queuedJob.ts). */
function queuedJob(files: Record<string, Buffer>, send = true, options: JobRecord["options"] = {}): Promise<string> {
  return queuedJobIn(aws, store, files, { send, jobOptions: options });
}

function sendJobMessage(jobId: string, queueUrl = aws.queueUrl): Promise<void> {
  return sendJobMessageTo(aws, jobId, queueUrl);
}

function worker(extra: Partial<WorkerOptions> = {}): { worker: QueueWorker; lines: string[] } {
  const lines: string[] = [];
  const instance = new QueueWorker({
    config: aws.config,
    store,
    queue,
    deadLetters,
    s3: aws.clients.s3,
    model: { detector, fileName: "tiny.onnx" },
    scratchDir: dir,
    retryDelaySeconds: () => 0,
    deadLetterCheckMs: 200,
    unavailableBackoffMs: 100,
    pollSeconds: 1,
    log: (line) => lines.push(line),
    ...extra,
  });
  return { worker: instance, lines };
}


async function jobIn(id: string, status: JobRecord["status"]): Promise<JobRecord> {
  return until(`job ${id} to be ${status}`, async () => {
    const job = await store.get(id);
    return job?.status === status ? job : undefined;
  });
}

async function readResult(id: string): Promise<Map<string, Buffer>> {
  const object = await aws.clients.s3.send(new GetObjectCommand({ Bucket: aws.config.BUCKET, Key: resultKey(id) }));
  const path = join(dir, `${id}.zip`);
  await writeFile(path, Buffer.from(await object.Body!.transformToByteArray()));
  return readZip(path);
}

test("a job runs: inputs from S3 (a zip too), results zip to S3, job done, message deleted", async () => {
  const animal = await photo({ left: 160, top: 120, width: 320, height: 240 });
  const empty = await photo();
  const id = await queuedJob({
    "cam1/IMG_0001.JPG": animal,
    "cam1/IMG_0002.JPG": empty,
    "card.zip": zipBytes([storedEntry("DCIM/IMG_0100.JPG", empty), storedEntry("../escape.jpg", empty)]),
    "notes.txt": Buffer.from("not a photo"),
  });
  const { worker: running, lines } = worker();
  const loop = running.start();
  try {
    const job = await jobIn(id, "done");
    assert.equal(job.result?.key, resultKey(id));
    assert.equal(job.result?.images, 5, "3 photos + 2 rejected inputs, each a row");
    assert.ok(job.result && job.result.imagesPerSecond > 0);
    assert.ok(job.startedAt && job.finishedAt);
    assert.equal(job.attempts, 1);
    assert.deepEqual(job.progress, { processed: 5, total: 5 });
    await until("the message to be deleted", async () => (await aws.queueDepth()) === 0);

    const zip = await readResult(id);
    // images "detections" (the default): the boxed photo only; the others are rows.
    assert.ok(zip.has("cam1/IMG_0001.JPG"));
    assert.ok(!zip.has("cam1/IMG_0002.JPG") && !zip.has("card/DCIM/IMG_0100.JPG"), [...zip.keys()].join(", "));
    const listed = await aws.clients.s3.send(new ListObjectsV2Command({ Bucket: aws.config.BUCKET, Prefix: shardPrefix(id) }));
    assert.equal(listed.KeyCount ?? 0, 0, "the shard objects are removed once the package is in");
    const json = JSON.parse(zip.get("detections.json")!.toString()) as { images: Array<{ file: string; detections: Array<{ category: string; conf: number }> }> };
    const found = json.images.find((image) => image.file === "cam1/IMG_0001.JPG");
    assert.equal(found?.detections[0]?.category, "1");
    assert.ok(Math.abs((found?.detections[0]?.conf ?? 0) - 0.9) < 0.01, "the painted confidence, give or take JPEG");
    assert.ok(zip.has("results.xlsx") && zip.has("README.txt"));
    assert.deepEqual((await readdir(dir, { recursive: true })).filter((name) => /trapline-(job|results|reports|workbook)-/.test(name)), [], "scratch folders removed");
    assert.ok(lines.some((line) => line.includes(`Job ${id}: 5 images in 1 shard`)), lines.join("\n"));

    // A second delivery of the finished job is a no-op: no new attempt, the result untouched.
    const before = await aws.clients.s3.send(new HeadObjectCommand({ Bucket: aws.config.BUCKET, Key: resultKey(id) }));
    await sendJobMessage(id);
    await until("the redelivery to be deleted", async () => (await aws.queueDepth()) === 0);
    const again = await store.get(id);
    assert.equal(again?.attempts, 1);
    assert.equal(again?.updatedAt, job.updatedAt);
    const after = await aws.clients.s3.send(new HeadObjectCommand({ Bucket: aws.config.BUCKET, Key: resultKey(id) }));
    assert.equal(after.ETag, before.ETag);
  } finally {
    await running.stop(5000);
    await loop;
  }
});

test("a job that fails every time ends failed with a readable reason, and its message reaches the DLQ", async () => {
  const id = await queuedJob({ "a.jpg": await photo() }, false);
  // Its file list is garbage: every attempt throws.
  await redis.redis.set(redisKeys.files(id), "not a hash");
  await sendJobMessage(id);
  const { worker: running, lines } = worker();
  const loop = running.start();
  try {
    const job = await jobIn(id, "failed");
    assert.match(job.error ?? "", /tried to process this job 3 times and it failed each time\. Last error: .*WRONGTYPE/);
    assert.equal(job.attempts, 3);
    await until("the message to move to the DLQ", async () => (await aws.queueDepth(aws.dlqUrl)) === 1 && (await aws.queueDepth()) === 0);
    assert.equal(lines.filter((line) => line.includes(`Job ${id}: attempt`)).length, 3);
    const objects = await aws.clients.s3.send(new ListObjectsV2Command({ Bucket: aws.config.BUCKET, Prefix: outputPrefix(id) }));
    assert.equal(objects.KeyCount ?? 0, 0, "no result for a failed job");
  } finally {
    await running.stop(5000);
    await loop;
    await drain(aws.dlqUrl);
  }
});

test("a message for a job that does not exist ends in the DLQ; an unreadable message too", async () => {
  const ghost = newJobId();
  await sendJobMessage(ghost);
  await aws.clients.sqs.send(new SendMessageCommand({ QueueUrl: aws.queueUrl, MessageBody: "hello" }));
  const { worker: running, lines } = worker();
  const loop = running.start();
  try {
    await until("both messages in the DLQ", async () => (await aws.queueDepth(aws.dlqUrl)) === 2 && (await aws.queueDepth()) === 0);
    assert.equal(await store.get(ghost), null, "no record is invented");
    assert.ok(lines.some((line) => line.includes("no such job")));
    assert.ok(lines.some((line) => line.includes("not a job")));
  } finally {
    await running.stop(5000);
    await loop;
    await drain(aws.dlqUrl);
  }
});

test("a job whose message reached the DLQ while it was processing is failed, saying the worker stopped", async () => {
  const id = await queuedJob({ "a.jpg": await photo() }, false);
  await store.transition(id, ["queued"], "processing");
  await sendJobMessage(id, aws.dlqUrl);
  const { worker: running } = worker();
  const loop = running.start();
  try {
    const job = await jobIn(id, "failed");
    assert.match(job.error ?? "", /each time the worker stopped before it finished/);
    assert.equal(await aws.queueDepth(aws.dlqUrl), 1, "the message stays in the DLQ for the operator");
  } finally {
    await running.stop(5000);
    await loop;
    await drain(aws.dlqUrl);
  }
});

test("stopping mid-job hands the message back at once when the job cannot finish in the grace period", async () => {
  const files: Record<string, Buffer> = {};
  const big = await photo({ left: 100, top: 100, width: 200, height: 200 }, { width: 2000, height: 1500 });
  for (let i = 0; i < 16; i++) files[`cam/IMG_${String(i).padStart(4, "0")}.JPG`] = big;
  const id = await queuedJob(files);
  const { worker: running, lines } = worker();
  const loop = running.start();
  try {
    await until("some progress", async () => ((await store.get(id))?.progress.processed ?? 0) >= 2);
    await running.stop(0);
    assert.ok(lines.some((line) => line.includes("handing it back")), lines.join("\n"));
    // Visible again at once (not after the 30 s visibility timeout), counted as a second receive next time.
    const message = await queue.receive({ visibilitySeconds: 30, waitSeconds: 0 });
    assert.equal(message?.job?.jobId, id);
    assert.equal(message?.receiveCount, 2);
    await queue.delete(message.receiptHandle);
    await loop;
    assert.equal((await store.get(id))?.status, "processing", "the job is left for the next worker to restart");
  } finally {
    await running.stop(0);
    await loop;
  }
});

/** Empties a queue, in-flight messages included (the worker keeps DLQ messages hidden for hours). */
async function drain(queueUrl: string): Promise<void> {
  await aws.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
}

test("the task is protected from scale-in while it holds a job, and released after the message is deleted", async () => {
  // A stand-in for the ECS agent on loopback, recording what the worker asks of it.
  const calls: Array<{ ProtectionEnabled: boolean; ExpiresInMinutes?: number; at: number }> = [];
  const agent = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const parsed = JSON.parse(body) as { ProtectionEnabled: boolean; ExpiresInMinutes?: number };
      calls.push({ ...parsed, at: Date.now() });
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ protection: { ProtectionEnabled: parsed.ProtectionEnabled, TaskArn: "arn:aws:ecs:test" } }));
    });
  });
  await new Promise<void>((resolve) => agent.listen(0, "127.0.0.1", resolve));
  const { port } = agent.address() as AddressInfo;
  const id = await queuedJob({ "cam1/IMG_0001.JPG": await photo() });
  const { worker: running } = worker({ protection: new TaskProtection({ agentUri: `http://127.0.0.1:${port}` }) });
  const loop = running.start();
  try {
    const job = await jobIn(id, "done");
    await until("the message to be deleted", async () => (await aws.queueDepth()) === 0);
    await until("protection to be released", () => Promise.resolve(calls.some((call) => !call.ProtectionEnabled)));
    const [first] = calls;
    assert.equal(first?.ProtectionEnabled, true);
    assert.ok((first?.ExpiresInMinutes ?? 0) > 0);
    assert.ok((first?.at ?? Infinity) <= Date.parse(job.finishedAt ?? ""), "protected before the job finished");
    assert.equal(calls.at(-1)?.ProtectionEnabled, false);
  } finally {
    await running.stop(5000);
    await loop;
    agent.close();
  }
});

test("the job's options reach the pipeline: a sorted view when asked for; a job of one folder gets paths relative to it", async () => {
  const id = await queuedJob({ "cam1/IMG_0001.JPG": await photo({ left: 160, top: 120, width: 320, height: 240 }), "cam1/IMG_0002.JPG": await photo() }, true, { sortedView: true, images: "all" });
  const { worker: running } = worker();
  const loop = running.start();
  try {
    await jobIn(id, "done");
    const zip = await readResult(id);
    // The job's uploads are one folder, cam1/: paths are relative to it (DESIGN.md "Paths in the results").
    assert.ok(zip.has("sorted/animal/IMG_0001.JPG"), [...zip.keys()].join(", "));
    assert.ok(zip.has("sorted/empty/IMG_0002.JPG"));
    assert.ok(zip.has("IMG_0001.JPG") && zip.has("IMG_0002.JPG"));
    const json = JSON.parse(zip.get("detections.json")!.toString("utf8")) as { images: { file: string }[] };
    assert.deepEqual(json.images.map((image) => image.file), ["IMG_0001.JPG", "IMG_0002.JPG"]);
    assert.match(zip.get("README.txt")!.toString("utf8"), /Paths are relative to the folder you chose, "cam1"/);
  } finally {
    await running.stop(5000);
    await loop;
  }
});

test("issue 9's 32-byte HEIF and other damaged HEIF and TIFF files do not freeze the worker: the job ends done with a row for each, the heartbeat file following it", async () => {
  const damaged = { ...damagedIsoMediaFiles(), ...damagedTiffFiles() };
  const big = await photo({ left: 100, top: 100, width: 200, height: 200 }, { width: 2000, height: 1500 });
  const files: Record<string, Buffer> = Object.fromEntries(Object.entries(damaged).map(([name, bytes]) => [`cam1/${name}`, bytes]));
  for (let i = 0; i < 6; i++) files[`cam1/IMG_${String(i).padStart(4, "0")}.JPG`] = big;
  const id = await queuedJob(files);
  const health = new HealthBeacon(join(dir, "health.json"), { intervalMs: 50 });
  await health.start();
  const { worker: running } = worker({ health });
  const loop = running.start();
  const heartbeat = async () => JSON.parse(await readFile(health.path, "utf8")) as HealthRecord;
  try {
    await until("the heartbeat to show the job", async () => (await heartbeat()).job?.id === id);
    const job = await jobIn(id, "done");
    const count = Object.keys(damaged).length;
    assert.deepEqual([job.result?.images, job.result?.failed], [count + 6, count]);
    const json = JSON.parse((await readResult(id)).get("detections.json")!.toString()) as { images: Array<{ file: string; failure?: string }> };
    // One uploaded folder, cam1/: paths are relative to it.
    for (const name of Object.keys(damaged)) assert.match(json.images.find((image) => image.file === name)?.failure ?? "", /\S/, name);
    assert.equal(json.images.filter((image) => image.failure === undefined).length, 6);
    await until("the heartbeat to show no job", async () => (await heartbeat()).job === undefined);
    assert.equal((await checkHealthFile(health.path)).healthy, true);
  } finally {
    await running.stop(5000);
    await loop;
    await health.stop();
  }
});

test("a job's zips together unpack to no more than MAX_TOTAL_BYTES; the entries past it are rows with the reason", async () => {
  const image = await photo();
  const three = (prefix: string) => zipBytes([1, 2, 3].map((n) => storedEntry(`${prefix}${n}.jpg`, image)));
  const id = await queuedJob({ "a.zip": three("a"), "b.zip": three("b") }, true, { images: "all" });
  const { worker: running } = worker({ config: { ...aws.config, MAX_TOTAL_BYTES: image.length * 4 } });
  const loop = running.start();
  try {
    const job = await jobIn(id, "done");
    assert.deepEqual([job.result?.images, job.result?.failed], [6, 2]);
    const zip = await readResult(id);
    assert.deepEqual([...zip.keys()].filter((name) => name.endsWith(".jpg") && !name.startsWith("previews/")).sort(), ["a/a1.jpg", "a/a2.jpg", "a/a3.jpg", "b/b1.jpg"]);
  } finally {
    await running.stop(5000);
    await loop;
  }
});

test("every uploaded file is accounted for: a photo in a dot-folder is processed, an empty zip gets a row", async () => {
  const id = await queuedJob({ "cam/.also_hidden.jpg": await photo(), "cam/IMG_0001.JPG": await photo(), "empty.zip": zipBytes([]) }, true, { images: "all" });
  const { worker: running } = worker();
  const loop = running.start();
  try {
    const job = await jobIn(id, "done");
    assert.deepEqual([job.result?.images, job.result?.failed], [3, 1]);
    const zip = await readResult(id);
    assert.ok(zip.has("cam/.also_hidden.jpg"), [...zip.keys()].join(", "));
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(zip.get("results.xlsx")! as unknown as ArrayBuffer);
    const rows: string[] = [];
    workbook.getWorksheet("Images")!.eachRow((row, index) => void (index > 1 && rows.push(`${row.getCell(1).text}: ${row.getCell(4).text}`)));
    assert.ok(rows.some((row) => /^empty\.zip: .*empty zip/.test(row)), rows.join("\n"));
  } finally {
    await running.stop(5000);
    await loop;
  }
});
