// Restart recovery against the emulator and Redis: messages held by a worker of the last run come
// back at once, and the queue set keeps only jobs some worker will take.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { randomBytes } from "node:crypto";
import { createAwsClients, type AwsClients } from "../core/aws.ts";
import { loadConfig, type Config } from "../core/config.ts";
import type { JobRecord } from "../core/jobs.ts";
import { JobStore } from "../core/jobStore.ts";
import { inputKey, redisKeys } from "../core/keys.ts";
import { startLocalAws, TEST_CREDENTIALS, type LocalAws } from "../test/helpers/localAws.ts";
import { testRedis, type TestRedis } from "../test/helpers/redis.ts";
import { startEmulator, type Emulator } from "./emulator.ts";
import { provision } from "./provision.ts";
import { recoverAfterRestart, UPLOADS_GONE } from "./restartRecovery.ts";

let emulator: Emulator;
let config: Config;
let clients: AwsClients;
let queueUrl: string;
let redis: TestRedis;
let store: JobStore;

before(async () => {
  emulator = await startEmulator();
  config = loadConfig({ AWS_ENDPOINT_URL: emulator.endpoint });
  clients = createAwsClients(config, { credentials: TEST_CREDENTIALS });
  ({ queueUrl } = await provision(config, clients, { putBucketCors: false, log: () => {} }));
  redis = testRedis();
  store = new JobStore(redis.redis, { retentionDays: 7 });
});

after(async () => {
  await emulator?.close();
  await redis?.cleanup();
});

/** A job as submit leaves it: record, queue-set entry, and (when asked) its uploads and message. */
async function queuedJob(options: { uploads: boolean; message: boolean }): Promise<string> {
  const now = new Date().toISOString();
  const job: JobRecord = {
    id: randomBytes(16).toString("base64url"),
    email: "ranger@example.org",
    status: "uploading",
    createdAt: now,
    updatedAt: now,
    fileCount: 1,
    totalBytes: 5,
    options: {},
    progress: { processed: 0, total: 0 },
    attempts: 0,
  };
  await store.create(job);
  if (options.uploads) await clients.s3.send(new PutObjectCommand({ Bucket: config.BUCKET, Key: inputKey(job.id, "a.jpg"), Body: "bytes" }));
  await store.transition(job.id, ["uploading"], "queued", { messageState: options.message ? "sent" : "unsent" });
  if (options.message) await clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ jobId: job.id }) }));
  await new Promise((resolve) => setTimeout(resolve, 3)); // distinct queue times, so the order is known
  return job.id;
}

async function receiveAll(): Promise<string[]> {
  const { Messages } = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 0 }));
  return (Messages ?? []).map((message) => (JSON.parse(message.Body ?? "{}") as { jobId: string }).jobId).sort();
}

test("after a restart: held messages come back, lost ones are resent or their jobs expire, stale entries go", async () => {
  const interrupted = await queuedJob({ uploads: true, message: true });
  // A worker of the last run took it and died: invisible for VISIBILITY_SECONDS (300 s).
  const taken = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 300 }));
  assert.equal(taken.Messages?.length, 1);
  await store.transition(interrupted, ["queued"], "processing", { progress: { processed: 124, total: 400 } });

  const unsent = await queuedJob({ uploads: true, message: false }); // the stack died between queuing and sending
  const wiped = await queuedJob({ uploads: false, message: false }); // the data folder was emptied
  const forgotten = await queuedJob({ uploads: true, message: true });
  await redis.redis.del(redisKeys.job(forgotten)); // its record expired
  const ended = await queuedJob({ uploads: true, message: false });
  await store.transition(ended, ["queued"], "failed", { error: "x" });
  await store.enqueue(ended, 1); // left in the set by a crash between the two writes
  const waiting = await queuedJob({ uploads: true, message: true });

  const lines: string[] = [];
  const report = await recoverAfterRestart({ config, clients, store, queueUrl, emulator, log: (line) => lines.push(line) });

  assert.deepEqual(report, { handedBack: 1, dropped: 2, resent: 1, expired: 1 });
  assert.match(lines.join("\n"), /1 job\(s\) interrupted by the last stop start again/);
  assert.deepEqual(await receiveAll(), [interrupted, unsent, waiting, forgotten].sort(), "every live job has a message a worker can take now");
  assert.deepEqual(await store.queuedIds(0, 10), [interrupted, unsent, waiting], "positions count only jobs a worker will take");
  assert.deepEqual(await store.queueStanding(waiting), { position: 2, imagesAhead: 400 - 124 + 1 });
  const expired = await store.get(wiped);
  assert.equal(expired?.status, "expired");
  assert.equal(expired?.error, UPLOADS_GONE);
  assert.equal(await store.getMessageState(unsent), "sent");
});

test("against LocalStack or AWS (no emulator to read), only the record checks run", async () => {
  const aws: LocalAws = await startLocalAws();
  const own = testRedis();
  try {
    const local = new JobStore(own.redis, { retentionDays: 7 });
    await local.enqueue("gone-record-id-0000000", 1);
    const report = await recoverAfterRestart({ config: aws.config, clients: aws.clients, store: local, queueUrl: aws.queueUrl, log: () => {} });
    assert.deepEqual(report, { handedBack: 0, dropped: 1, resent: 0, expired: 0 });
    assert.deepEqual(await local.queuedIds(0, 10), []);
  } finally {
    await aws.stop();
    await own.cleanup();
  }
});
