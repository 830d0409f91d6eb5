// npm run bench:shards [-- --images 2000 --shard-images 200]
//
// Issue 11's figures: one job run as one shard on one worker, and as N shards on two workers,
// each worker a real `gpu-worker/worker/main.ts` process (one inference thread each) against the
// fauxqs emulator and a private redis-server. Prints wall time, the merge's share of it, peak
// RSS and peak scratch disk per worker, and the bytes a user downloads per photo with
// `images: detections` against `images: all`, with the transfer cost per 100,000 photos.
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { FilePlan } from "../core/filePlan.ts";
import { jobMessageBody, type ImagesChoice, type JobRecord, type PlannedFile } from "../core/jobs.ts";
import { createRedis, JobStore } from "../core/jobStore.ts";
import { inputKey } from "../core/keys.ts";
import { startLocalAws, type LocalAws } from "../test/helpers/localAws.ts";
import { startRedisServer } from "../test/helpers/redisServer.ts";
import { writeTinyDetector } from "../test/helpers/tinyModels.ts";
import { generateFrames } from "./frames.ts";

const ROOT = join(import.meta.dirname, "..");
/** Data transfer out of S3/CloudFront to the internet, first 10 TB/month, us-east-1 list price (USD/GB). */
const TRANSFER_USD_PER_GB = 0.09;

const { values } = parseArgs({
  options: {
    images: { type: "string", default: "2000" },
    "shard-images": { type: "string", default: "200" },
    width: { type: "string", default: "1920" },
    height: { type: "string", default: "1440" },
    verbose: { type: "boolean", default: false },
  },
});
const count = Number(values.images);
const shardImages = Number(values["shard-images"]);
const size = { width: Number(values.width), height: Number(values.height) };

interface Peak {
  rssMB: number;
  diskMB: number;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name)).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

async function rssMB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const match = status.match(/VmHWM:\s+(\d+) kB/);
  return match ? Number(match[1]) / 1024 : 0;
}

async function run(aws: LocalAws, redisUrl: string, store: JobStore, model: string, photos: Buffer[], shards: number, workers: number, images: ImagesChoice) {
  const jobId = randomBytes(16).toString("base64url");
  const planned: PlannedFile[] = [];
  for (let i = 0; i < count; i++) {
    const name = `card/DCIM/IMG_${String(i).padStart(5, "0")}.JPG`;
    const body = photos[i % photos.length]!;
    await aws.clients.s3.send(new PutObjectCommand({ Bucket: aws.config.BUCKET, Key: inputKey(jobId, name), Body: body }));
    planned.push({ name, key: inputKey(jobId, name), size: body.length, method: "PUT" });
  }
  const now = new Date().toISOString();
  const job: JobRecord = { id: jobId, email: "bench@example.org", status: "uploading", createdAt: now, updatedAt: now, fileCount: count, totalBytes: 0, options: { images }, progress: { processed: 0, total: count }, attempts: 0 };
  await store.create(job);
  const files = new FilePlan(store.redis, { retentionDays: 1 });
  for (let from = 0; from < planned.length; from += 1000) await files.add(jobId, planned.slice(from, from + 1000).map((file) => ({ ...file, type: "image/jpeg" })), { maxFiles: 1e6, maxTotalBytes: 1e13 });
  await store.transition(jobId, ["uploading"], "queued");

  const scratch = await mkdtemp(join(tmpdir(), "trapline-bench-shards-"));
  const children: { child: ChildProcess; dir: string; output: string[]; peak: Peak }[] = [];
  for (let w = 0; w < workers; w++) {
    const dir = join(scratch, `worker-${w}`);
    const child = spawn(process.execPath, [join(ROOT, "gpu-worker", "worker", "main.ts")], {
      cwd: ROOT,
      env: {
        ...process.env,
        AWS_ENDPOINT_URL: aws.endpoint,
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        AWS_REGION: aws.config.AWS_REGION,
        QUEUE_URL: aws.queueUrl,
        QUEUE_NAME: aws.config.QUEUE_NAME,
        DLQ_NAME: aws.config.DLQ_NAME,
        BUCKET: aws.config.BUCKET,
        REDIS_URL: redisUrl,
        MODEL: model,
        PROVIDER: "cpu",
        SHARD_IMAGES: String(shards),
        // Long enough for a worker told to stop to let its long poll run out (up to 20 s): a poll
        // cut off can leave the next run's message with a connection nobody reads.
        WORKER_GRACE_SECONDS: "25",
        TMPDIR: dir,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const entry = { child, dir, output: [] as string[], peak: { rssMB: 0, diskMB: 0 } };
    const keep = (chunk: Buffer) => {
      entry.output.push(chunk.toString());
      if (values.verbose) process.stderr.write(`[worker ${w + 1}] ${chunk.toString()}`);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    children.push(entry);
  }
  const started = performance.now();
  await aws.clients.sqs.send(new SendMessageCommand({ QueueUrl: aws.queueUrl, MessageBody: jobMessageBody({ jobId, step: "plan" }) }));
  let done: JobRecord | null = null;
  while (!done) {
    await sleep(250);
    for (const entry of children) {
      entry.peak.rssMB = Math.max(entry.peak.rssMB, await rssMB(entry.child.pid!));
      entry.peak.diskMB = Math.max(entry.peak.diskMB, (await folderBytes(entry.dir)) / 1e6);
    }
    const now = await store.get(jobId);
    if (now?.status === "failed") throw new Error(`the bench job failed: ${now.error}\n${children.map((c) => c.output.join("")).join("\n")}`);
    if (now?.status === "done") done = now;
  }
  const wallS = (performance.now() - started) / 1000;
  for (const entry of children) entry.child.kill("SIGTERM");
  await Promise.all(children.map((entry) => new Promise((resolve) => entry.child.once("exit", resolve))));
  const log = children.map((entry) => entry.output.join("")).join("\n");
  const mergeS = Number(log.match(/merged in ([\d.]+) s/)?.[1] ?? NaN);
  await rm(scratch, { recursive: true, force: true });
  return { wallS, mergeS, peaks: children.map((entry) => entry.peak), bytes: done.result?.bytes ?? 0, shards: Math.ceil(count / shards) };
}

async function main(): Promise<void> {
  const redis = await startRedisServer();
  const aws = await startLocalAws({ VISIBILITY_SECONDS: "300" });
  const dir = await mkdtemp(join(tmpdir(), "trapline-bench-model-"));
  try {
    const model = join(dir, "tiny-1280.onnx");
    await writeTinyDetector(model, { layout: "yolov5", inputSize: 1280, dynamicSpatial: true, stride: 64 });
    const connection = createRedis({ REDIS_URL: redis.url, REDIS_CLUSTER: false });
    const store = new JobStore(connection, { retentionDays: 1 });
    const photos = await generateFrames(size);
    const inputMB = (photos.reduce((sum, p) => sum + p.length, 0) / photos.length) * count / 1e6;
    console.log(`\nTrapline shards benchmark: ${count} photos of ${size.width}x${size.height} (${inputMB.toFixed(0)} MB), tiny 1280-px model on CPU, fauxqs + redis-server on this machine\n`);
    const one = await run(aws, redis.url, store, model, photos, count, 1, "detections");
    const many = await run(aws, redis.url, store, model, photos, shardImages, 2, "detections");
    const all = await run(aws, redis.url, store, model, photos, count, 1, "all");
    const row = (label: string, r: Awaited<ReturnType<typeof run>>) => ({
      run: label,
      "wall s": r.wallS.toFixed(1),
      "images/s": (count / r.wallS).toFixed(1),
      "merge s": r.mergeS.toFixed(1),
      "merge share": `${((r.mergeS / r.wallS) * 100).toFixed(1)} %`,
      "peak RSS MB per worker": r.peaks.map((p) => p.rssMB.toFixed(0)).join(" / "),
      "peak scratch disk MB per worker": r.peaks.map((p) => p.diskMB.toFixed(1)).join(" / "),
      "package MB": (r.bytes / 1e6).toFixed(1),
    });
    console.table([row(`1 shard, 1 worker`, one), row(`${many.shards} shards, 2 workers`, many), row(`1 shard, 1 worker, images all`, all)]);
    const perImage = (bytes: number) => bytes / count;
    const costPer100k = (bytes: number) => (perImage(bytes) * 100_000 / 1e9) * TRANSFER_USD_PER_GB;
    console.log(
      `\nBytes returned per photo: images "detections" ${(perImage(one.bytes) / 1e3).toFixed(0)} KB, "all" ${(perImage(all.bytes) / 1e3).toFixed(0)} KB ` +
        `(a third of these frames hold the target).\nTransfer per 100,000 photos at $${TRANSFER_USD_PER_GB}/GB: detections $${costPer100k(one.bytes).toFixed(2)}, all $${costPer100k(all.bytes).toFixed(2)}.\n` +
        "Two workers on a 2-core machine share the cores: the shards' speed-up shows on machines with a GPU (or core pair) per worker.",
    );
    await connection.quit();
  } finally {
    await aws.stop();
    await redis.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
