// The embedded emulator on disk: what one run wrote, the next run finds, over the real AWS SDK.
import { test } from "node:test";
import assert from "node:assert/strict";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { ChangeMessageVisibilityCommand, CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAwsClients } from "../core/aws.ts";
import { loadConfig } from "../core/config.ts";
import { TEST_CREDENTIALS } from "../test/helpers/localAws.ts";
import { startEmulator, type EmulatorFolders } from "./emulator.ts";

const BUCKET = "trapline-test";

function clientsFor(endpoint: string) {
  return createAwsClients(loadConfig({ AWS_ENDPOINT_URL: endpoint }), { credentials: TEST_CREDENTIALS });
}

test("objects, queues and messages (in flight with their deadline, receive counts) survive a restart", async () => {
  const dir = await mkdtemp(join(tmpdir(), "trapline-emulator-"));
  const folders: EmulatorFolders = { sqs: join(dir, "sqs"), s3: join(dir, "s3") };
  try {
    const first = await startEmulator(folders);
    let aws = clientsFor(first.endpoint);
    let heldBody: string | undefined;
    try {
      await aws.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      await aws.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "jobs/x/input/cam 1/IMG_0001.JPG", Body: Buffer.from("photo bytes") }));
      const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: "q" }));
      await aws.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "ready" }));
      await aws.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "held" }));
      const held = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 2 }));
      heldBody = held.Messages?.[0]?.Body;
    } finally {
      await first.close();
    }

    // The body is a file on disk, not a copy in memory.
    assert.ok((await readdir(join(folders.s3, "buckets", BUCKET, "objects", "jobs", "x", "input", "cam 1"))).includes("IMG_0001.JPG.data"));

    const second = await startEmulator(folders);
    aws = clientsFor(second.endpoint);
    try {
      const object = await aws.s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "jobs/x/input/cam 1/IMG_0001.JPG" }));
      assert.equal(await object.Body?.transformToString(), "photo bytes");
      const url = (await aws.sqs.send(new CreateQueueCommand({ QueueName: "q" }))).QueueUrl;
      const visible = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 60, WaitTimeSeconds: 0 }));
      assert.deepEqual(visible.Messages?.map((m) => m.Body), [heldBody === "ready" ? "held" : "ready"], "the held message is still invisible");
      // Its deadline came along: it shows up once it passes, with its earlier receive counted.
      const again = await aws.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1, VisibilityTimeout: 30, WaitTimeSeconds: 5, MessageSystemAttributeNames: ["ApproximateReceiveCount"] }),
      );
      assert.equal(again.Messages?.[0]?.Body, heldBody);
      assert.equal(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount, "2");
    } finally {
      await second.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a message given back (visibility 0) is received again at once, its receive count kept, and after a restart too", async () => {
  const dir = await mkdtemp(join(tmpdir(), "trapline-emulator-"));
  const folders: EmulatorFolders = { sqs: join(dir, "sqs"), s3: join(dir, "s3") };
  const receive = (aws: ReturnType<typeof clientsFor>, QueueUrl: string) =>
    aws.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 300, WaitTimeSeconds: 1, MessageSystemAttributeNames: ["ApproximateReceiveCount"] }));
  try {
    const first = await startEmulator(folders);
    try {
      const aws = clientsFor(first.endpoint);
      const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: "q" }));
      await aws.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "job" }));
      const taken = await receive(aws, QueueUrl!);
      await aws.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: taken.Messages![0]!.ReceiptHandle, VisibilityTimeout: 0 }));
      const again = await receive(aws, QueueUrl!);
      assert.equal(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount, "2");
      await aws.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: again.Messages[0].ReceiptHandle, VisibilityTimeout: 0 }));
    } finally {
      await first.close();
    }
    const second = await startEmulator(folders);
    try {
      const aws = clientsFor(second.endpoint);
      const { QueueUrl } = await aws.sqs.send(new CreateQueueCommand({ QueueName: "q" }));
      const afterRestart = await receive(aws, QueueUrl!);
      assert.equal(afterRestart.Messages?.[0]?.Body, "job", "given back before the stop: waiting, not held for 300 s");
      assert.equal(afterRestart.Messages?.[0]?.Attributes?.ApproximateReceiveCount, "3");
    } finally {
      await second.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the emulator listens on loopback only", async () => {
  const emulator = await startEmulator();
  try {
    const { hostname, port } = new URL(emulator.endpoint);
    assert.equal(hostname, "127.0.0.1");
    // Nothing answers on the machine's other addresses (fauxqs's own startFauxqs would listen on 0.0.0.0).
    const other = Object.values((await import("node:os")).networkInterfaces()).flat().find((address) => address && address.family === "IPv4" && !address.internal);
    if (other) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: other.address, port: Number(port) });
        socket.once("connect", () => (socket.destroy(), resolve(false)));
        socket.once("error", () => resolve(true));
      });
      assert.ok(refused, `port ${port} answers on ${other.address}`);
    }
  } finally {
    await emulator.close();
  }
});

test("the emulator answers a browser's CORS as the bucket's rule does: preflights, and every answer marked", async () => {
  const emulator = await startEmulator();
  try {
    const origin = "http://127.0.0.1:3000";
    const preflight = await fetch(`${emulator.endpoint}/${BUCKET}/jobs/x/input/a.jpg?X-Amz-Signature=1`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "PUT", "access-control-request-headers": "content-type" },
    });
    assert.equal(preflight.status, 200);
    assert.equal(preflight.headers.get("access-control-allow-origin"), origin);
    assert.equal(preflight.headers.get("access-control-allow-methods"), "GET, PUT, POST, HEAD");
    assert.equal(preflight.headers.get("access-control-allow-headers"), "content-type");
    await clientsFor(emulator.endpoint).s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const form = new FormData();
    form.append("key", "jobs/x/input/a.jpg");
    form.append("file", new Blob([Buffer.from("photo")]));
    const posted = await fetch(`${emulator.endpoint}/${BUCKET}`, { method: "POST", body: form, headers: { origin } });
    assert.equal(posted.status, 204);
    assert.equal(posted.headers.get("access-control-allow-origin"), origin);
    assert.equal(posted.headers.get("access-control-expose-headers"), "ETag", "multipart uploads read each part's ETag");
    const refused = await fetch(`${emulator.endpoint}/no-such-bucket/k`, { headers: { origin } });
    assert.equal(refused.status, 404);
    assert.equal(refused.headers.get("access-control-allow-origin"), origin, "errors too, so the page can read why");
  } finally {
    await emulator.close();
  }
});
