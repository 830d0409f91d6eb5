// Faults, end to end, on a private redis-server (spare port, append-only file in a temp folder,
// so a restart keeps the records as a managed Redis would): the worker process SIGKILLed
// mid-job and started again, and Redis dropped and restored under a running job.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { ChangeMessageVisibilityCommand } from "@aws-sdk/client-sqs";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { outputPrefix, resultKey, shardPrefix } from "../../core/keys.ts";
import { ShardLedger } from "../../core/shardLedger.ts";
import { startEmulator } from "../../devstack/emulator.ts";
import { longJob, photo } from "./photos.ts";
import { api, downloadZip, startTestStack, submitJob, waitForStatus, type JobStatusView } from "./stack.ts";
import { startRedisServer, type RedisServer } from "../helpers/redisServer.ts";
import { until } from "../helpers/until.ts";

const ROOT = join(import.meta.dirname, "..", "..");
let redis: RedisServer;

before(async () => {
  redis = await startRedisServer();
});

after(async () => {
  await redis?.dispose();
});

test("a worker process killed mid-shard (SIGKILL): the next one redoes that shard only, ending with one complete result", async () => {
  // Its own emulator here, to reach the dead worker's message (below).
  const emulator = await startEmulator();
  const stack = await startTestStack({ REDIS_URL: redis.url, AWS_ENDPOINT_URL: emulator.endpoint }, { worker: false });
  const spawnWorker = () => {
    const child = spawn(process.execPath, [join(ROOT, "gpu-worker", "worker", "main.ts")], {
      cwd: ROOT,
      env: {
        ...process.env,
        AWS_ENDPOINT_URL: stack.awsEndpoint,
        AWS_ACCESS_KEY_ID: "test",
        AWS_SECRET_ACCESS_KEY: "test",
        AWS_REGION: stack.config.AWS_REGION,
        QUEUE_URL: stack.queueUrl,
        QUEUE_NAME: stack.config.QUEUE_NAME,
        DLQ_NAME: stack.config.DLQ_NAME,
        BUCKET: stack.config.BUCKET,
        REDIS_URL: redis.url,
        MODEL: stack.modelPath,
        PROVIDER: "cpu",
        BATCH_SIZE: "2",
        MAX_RECEIVES: "3",
        VISIBILITY_SECONDS: "30",
        WORKER_GRACE_SECONDS: "0",
        // 30 photos in 3 shards: the kill lands in one of them.
        SHARD_IMAGES: "10",
        TMPDIR: stack.dir,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    return { child, output: () => output };
  };
  let worker = spawnWorker();
  try {
    // Straight to fauxqs, which sends no CORS headers (fetch here is not a browser).
    const { jobId } = await submitJob(stack.url, await longJob(), { checkCors: false });
    await until("the first worker to be part-way", async () => {
      const view = await api<JobStatusView>(stack.url, `/api/jobs/${jobId}`);
      return view.json.status === "processing" && view.json.progress.processed >= 4;
    }).catch((error: Error) => {
      throw new Error(`${error.message}; worker said:\n${worker.output()}`);
    });
    worker.child.kill("SIGKILL");
    await once(worker.child, "exit");
    const doneBeforeKill = (await new ShardLedger(stack.store.redis, { retentionDays: 1 }).standing(jobId))!;
    assert.equal(doneBeforeKill.count, 3);
    assert.ok(doneBeforeKill.done < 3, "killed before the last shard was in");
    // A hard kill leaves the attempt's scratch behind: its own folder, holding the shard's records so far.
    const scratchParent = join(stack.dir, "trapline-worker");
    const deadFolder = (await readdir(scratchParent)).find((name) => name.startsWith(`${worker.child.pid}-`));
    assert.ok(deadFolder, `the killed worker's scratch folder is under ${scratchParent}`);
    assert.ok((await readdir(join(scratchParent, deadFolder))).some((name) => name.startsWith("trapline-records-") || name.startsWith("trapline-shard-")));

    // The message is still in flight under the dead worker's receipt. Rather than wait out the
    // 30 s visibility timeout, fast-forward it: what SQS does when the timeout ends.
    const held = (await emulator.inspectQueue(stack.config.QUEUE_NAME))!.held;
    assert.equal(held.length, 1);
    await stack.clients.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: stack.queueUrl, ReceiptHandle: held[0]!.receiptHandle, VisibilityTimeout: 0 }));

    worker = spawnWorker();
    await until("the new worker to clear the dead one's scratch", async () => !(await readdir(scratchParent)).includes(deadFolder));
    const done = await waitForStatus(stack.url, jobId, "done", 60_000);
    assert.equal(done.result?.images, 30);
    const job = await stack.store.get(jobId);
    assert.equal(job?.attempts, 1, "the job was planned once");
    // The shards that were in before the kill were not run again: only the rest were.
    const rerun = worker.output().match(/shard \d+ of 3 done/g) ?? [];
    assert.equal(rerun.length, 3 - doneBeforeKill.done, worker.output());
    const zip = await downloadZip(done.downloadUrl!, stack.dir);
    // The uploads are one folder, cam/: paths in the results are relative to it.
    assert.equal([...zip.keys()].filter((name) => /^IMG_\d{4}\.JPG$/.test(name)).length, 30, "every image, once");
    assert.ok(zip.has("results.xlsx") && zip.has("detections.json") && zip.has("README.txt"));
    const objects = await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: stack.config.BUCKET, Prefix: outputPrefix(jobId) }));
    // Beside the package: its previews and browse index (issue 13), never a second zip.
    assert.deepEqual((objects.Contents ?? []).map((object) => object.Key).filter((key) => key?.endsWith(".zip")), [resultKey(jobId)], "one result object");
    const shardObjects = await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: stack.config.BUCKET, Prefix: shardPrefix(jobId) }));
    assert.equal(shardObjects.KeyCount ?? 0, 0, "the shards' objects are removed once the package is in");
    await until("the message to be deleted", async () => (await emulator.inspectQueue(stack.config.QUEUE_NAME))!.held.length === 0);

    worker.child.kill("SIGTERM");
    const [code] = (await once(worker.child, "exit")) as [number | null];
    assert.equal(code, 0, worker.output());
    assert.match(worker.output(), /SIGTERM: no new jobs will be taken/);
    assert.match(worker.output(), /Removed the scratch folders of 1 worker that stopped without clearing up/);
    assert.deepEqual((await readdir(scratchParent)).filter((name) => /^\d+-/.test(name)), [], "a worker that stops cleanly leaves no folder");
  } finally {
    if (worker.child.exitCode === null) worker.child.kill("SIGKILL");
    await stack.close();
    await emulator.close();
  }
});

test("Redis dropped under a running job: the API answers 503, the worker waits, and the job finishes once Redis is back", async () => {
  const stack = await startTestStack({ REDIS_URL: redis.url });
  try {
    const { jobId } = await submitJob(stack.url, await longJob());
    await until("the job to be part-way", async () => {
      const view = await api<JobStatusView>(stack.url, `/api/jobs/${jobId}`);
      return view.json.status === "processing" && view.json.progress.processed >= 2;
    });
    await redis.kill();

    const status = await api<{ error: { code: string; message: string } }>(stack.url, `/api/jobs/${jobId}`);
    assert.equal(status.status, 503);
    assert.ok(status.json.error.code && status.json.error.message);
    const create = await api<{ error: { code: string } }>(stack.url, "/api/jobs", {
      method: "POST",
      body: JSON.stringify({ email: "ranger@example.org", files: [{ name: "a.jpg", size: 10 }] }),
    });
    assert.equal(create.status, 503);
    await sleep(1500);

    await redis.start();
    const done = await waitForStatus(stack.url, jobId, "done", 60_000);
    assert.equal(done.result?.images, 30);
    assert.equal((await stack.store.get(jobId))?.attempts, 1, "the same attempt carried on");
    assert.ok(stack.lines.some((line) => /Redis/.test(line)), stack.lines.join("\n"));

    // And the worker takes new jobs as before.
    const next = await submitJob(stack.url, [{ name: "a.jpg", bytes: await photo() }]);
    await waitForStatus(stack.url, next.jobId, "done");
  } finally {
    await stack.close();
  }
});
