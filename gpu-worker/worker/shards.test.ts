// Issue 11's contract, with real parts: fauxqs over HTTP, real Redis, real ONNX Runtime (tiny
// model), a real SMTP server. The same 60-photo job (a folder of 45 and a zip of 15) runs as one
// shard on one worker and as 6 shards of 10 on two workers: the reports must say the same thing
// (only timings differ), and each job's owner gets exactly one email with the job's link.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import ExcelJS from "exceljs";
import exifr from "exifr";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobRecord } from "../../core/jobs.ts";
import { JobStore } from "../../core/jobStore.ts";
import { browseKeys, resultKey } from "../../core/keys.ts";
import type { BrowseItem } from "../../core/results/browse.ts";
import type { BrowseSummary } from "../../functions/wire.ts";
import { jobEmailDeps } from "../../core/notify/index.ts";
import { ShardLedger } from "../../core/shardLedger.ts";
import { photo } from "../../test/e2e/photos.ts";
import { ascii, exifApp1Segment, rational } from "../../test/helpers/exifImages.ts";
import { createAwsClients } from "../../core/aws.ts";
import { startLocalAws, TEST_CREDENTIALS, type LocalAws } from "../../test/helpers/localAws.ts";
import { decodeQuotedPrintable, startMailCatcher, type MailCatcher } from "../../test/helpers/mailCatcher.ts";
import { readZip } from "../../test/helpers/readZip.ts";
import { testRedis, type TestRedis } from "../../test/helpers/redis.ts";
import { writeTinyDetector } from "../../test/helpers/tinyModels.ts";
import { until } from "../../test/helpers/until.ts";
import { storedEntry, zipBytes } from "../../test/helpers/zipBytes.ts";
import { LABELS, labelsFile } from "../../test/helpers/speciesLabels.ts";
import { writeTinyClassifier } from "../../test/helpers/tinyModels.ts";
import { Detector, SpeciesClassifier, type OpenedClassifier } from "../pipeline/index.ts";
import { JobQueue } from "./queue.ts";
import { QueueWorker } from "./worker.ts";
import { queuedJob } from "../../test/helpers/queuedJob.ts";

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

/**
 * Runs one job on `workers` workers with shards of `shardImages`; returns its result zip and
 * shard count. `failGet`: a photo whose GETs fail as an S3 outage would (a real client with one
 * middleware added), so the shard holding it fails every attempt.
 */
async function runJob(
  shardImages: number,
  workers: number,
  failGet?: string,
  extra: { species?: OpenedClassifier; options?: JobRecord["options"] } = {},
): Promise<{ id: string; zip: Map<string, Buffer>; shards: number }> {
  const config = { ...aws.config, SHARD_IMAGES: shardImages, SMTP_URL: mail.url, SENDER_EMAIL: "trapline@example.org", PUBLIC_SITE_URL: "https://trapline.example.org" };
  const s3 = failGet ? createAwsClients(aws.config, { credentials: TEST_CREDENTIALS }).s3 : aws.clients.s3;
  if (failGet) {
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string };
        if (context.commandName === "GetObjectCommand" && input.Key?.endsWith(failGet)) throw Object.assign(new Error("socket hang up (injected)"), { code: "ECONNRESET" });
        return next(args);
      },
      { step: "initialize", name: "failOneGet" },
    );
  }
  const running = Array.from({ length: workers }, (_, i) =>
    new QueueWorker({
      config,
      store,
      queue: new JobQueue(aws.clients.sqs, aws.queueUrl),
      s3,
      model: { detector, fileName: "tiny.onnx" },
      scratchDir: join(dir, `worker-${i}`),
      retryDelaySeconds: () => 0,
      pollSeconds: 1,
      log: () => {},
      email: jobEmailDeps(config, redis.redis, { log: () => {} }),
      ...(extra.species ? { species: extra.species } : {}),
    }),
  );
  const loops = running.map((worker) => worker.start());
  const ledger = new ShardLedger(redis.redis, { retentionDays: 1 });
  try {
    const id = await queuedJob(aws, store, files, extra.options ? { jobOptions: extra.options } : {});
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

test("a job's privacy options reach its shards and its merge: the boxed copy without GPS, README.txt saying what was done", async () => {
  // One more photo, with the target and a GPS position, for this job only.
  const target = await photo({ left: 160, top: 120, width: 320, height: 240 });
  const gps = exifApp1Segment({ ifd0: { 0x010f: ascii("RECONYX") }, gps: { 0x0001: ascii("S"), 0x0002: rational([2, 1], [20, 1], [0, 1]), 0x0003: ascii("E"), 0x0004: rational([34, 1], [50, 1], [0, 1]) } });
  const name = "card/DCIM/IMG_GPS.JPG";
  files[name] = Buffer.concat([target.subarray(0, 2), gps, target.subarray(2)]);
  try {
    assert.ok((await exifr.gps(files[name]))?.latitude);
    const { zip } = await runJob(30, 1, undefined, { options: { blurPeople: true, dropGps: true } });
    const copy = zip.get("DCIM/IMG_GPS.JPG");
    assert.ok(copy, "the photo with the target comes back boxed");
    assert.equal(await exifr.gps(copy), undefined, "without its GPS");
    assert.equal(((await exifr.parse(copy)) as { Make?: string } | undefined)?.Make, "RECONYX", "the rest of its EXIF kept");
    const readme = zip.get("README.txt")!.toString("utf8").replace(/\s+/g, " ");
    assert.match(readme, /PRIVACY/);
    assert.match(readme, /is blurred in the photos with boxes/);
    assert.match(readme, /The photos in this zip carry no GPS position/);
  } finally {
    delete files[name];
  }
});

test("a shard that fails every time becomes rows with the reason; the job completes with every other photo and one email", async () => {
  const failing = "card/DCIM/IMG_0007.JPG";
  const { id, zip } = await runJob(10, 1, failing);
  const done = (await store.get(id))!;
  assert.equal(done.status, "done");
  const standing = (await new ShardLedger(redis.redis, { retentionDays: 1 }).standing(id))!;
  assert.equal(standing.failed, 1);
  assert.equal(standing.done, standing.count);
  // The given-up shard's files are rows saying why; every other photo was processed.
  const rows = await imageRows(zip);
  const header = rows[0]!.map(String);
  const problem = header.findIndex((name) => /problem|error|reason/i.test(name));
  assert.ok(problem >= 0, header.join(", "));
  const givenUp = rows.slice(1).filter((row) => typeof row[problem] === "string" && /failed every time/.test(row[problem]));
  assert.ok(givenUp.length >= 1 && givenUp.length <= 10, `one shard's files at most: ${givenUp.length}`);
  assert.ok(givenUp.some((row) => String(row[0]).endsWith("IMG_0007.JPG")));
  assert.equal(done.result?.images, 60, "every file accounted for, once");
  await mail.settled();
  assert.equal(mail.received.filter((message) => decodeQuotedPrintable(message.raw).includes(`/#/jobs/${id}`)).length, 1);
});

test("species through a sharded job: the classifier opened once, each job's country set on it, species in the merged detections.json", async () => {
  const modelPath = join(dir, "tiny-classifier.onnx");
  await writeTinyClassifier(modelPath, { layout: "nhwc", inputSize: 32 });
  await writeFile(join(dir, "tiny-classifier.labels.txt"), labelsFile([LABELS.leopard, LABELS.zebra, LABELS.wildebeest]));
  const classifier = await SpeciesClassifier.open({ modelPath, provider: "cpu" });
  try {
    const { id, zip } = await runJob(10, 2, undefined, { species: { classifier }, options: { country: "KEN" } });
    const json = JSON.parse(zip.get("detections.json")!.toString("utf8")) as {
      info: { classifier?: string; classifier_metadata?: { country?: string | null } };
      classification_categories?: Record<string, string>;
      images: Array<{ file: string; detections?: Array<{ category: string; conf: number; classifications?: [string, number][] }> }>;
    };
    assert.equal(json.info.classifier, "tiny-classifier.onnx");
    assert.equal(json.info.classifier_metadata?.country, "KEN");
    const animals = json.images.flatMap((image) => (image.detections ?? []).filter((d) => d.category === "1" && d.conf >= 0.2));
    assert.equal(animals.length, 20, "the 20 targets, one box each");
    // The target is red-dominant: the tiny classifier names it by its mean colour (class 0, leopard).
    for (const detection of animals) assert.equal(json.classification_categories?.[detection.classifications![0]![0]], "leopard");
    // The gallery's items name the species too (the page and report.html show it in place of "animal").
    const page = await aws.clients.s3.send(new GetObjectCommand({ Bucket: aws.config.BUCKET, Key: browseKeys.page(id, "all", "time", 0) }));
    const items = (await page.Body!.transformToString("utf8")).trim().split("\n").map((line) => JSON.parse(line) as BrowseItem);
    assert.equal(items.length, 20);
    for (const item of items) assert.deepEqual(item.detections.map((d) => [d.label, d.species]), [["animal", "leopard"]]);
  } finally {
    await classifier.close();
  }
});
