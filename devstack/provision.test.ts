// Provisioning against the emulator over the AWS SDK: idempotent, and a stack restarted with other
// queue settings gets them rather than a refusal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { createAwsClients } from "../core/aws.ts";
import { loadConfig } from "../core/config.ts";
import { TEST_CREDENTIALS } from "../test/helpers/localAws.ts";
import { startEmulator } from "./emulator.ts";
import { provision } from "./provision.ts";

test("a second run with other VISIBILITY_SECONDS and MAX_RECEIVES brings the existing queue in line", async () => {
  const emulator = await startEmulator();
  try {
    const first = loadConfig({ AWS_ENDPOINT_URL: emulator.endpoint, VISIBILITY_SECONDS: "30", MAX_RECEIVES: "3" });
    const clients = createAwsClients(first, { credentials: TEST_CREDENTIALS });
    const lines: string[] = [];
    const made = await provision(first, clients, { putBucketCors: false, log: (line) => lines.push(line) });
    assert.deepEqual(await provision(first, clients, { putBucketCors: false, log: (line) => lines.push(line) }), made, "idempotent");
    assert.equal(lines.length, 0, lines.join("\n"));

    const second = { ...first, VISIBILITY_SECONDS: 90, MAX_RECEIVES: 5 };
    assert.deepEqual(await provision(second, clients, { putBucketCors: false, log: (line) => lines.push(line) }), made);
    const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: made.queueUrl, AttributeNames: ["All"] }));
    assert.equal(Attributes?.VisibilityTimeout, "90");
    assert.equal((JSON.parse(Attributes?.RedrivePolicy ?? "{}") as { maxReceiveCount?: unknown }).maxReceiveCount, "5");
    assert.match(lines.join("\n"), /existed with other settings/);
  } finally {
    await emulator.close();
  }
});
