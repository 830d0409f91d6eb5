// The fauxqs S3/SQS emulator in-process for tests, in memory on a random loopback port, with the
// bucket, the job queue and its dead-letter queue made by the local stack's own provisioning.
import { GetQueueAttributesCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { Message } from "@aws-sdk/client-sqs";
import { createAwsClients, type AwsClients } from "../../core/aws.ts";
import { loadConfig } from "../../core/config.ts";
import type { Config } from "../../core/config.ts";
import { startEmulator } from "../../devstack/emulator.ts";
import { provision } from "../../devstack/provision.ts";

/** Emulators accept any credentials; these keep the SDK from searching for real ones. */
export const TEST_CREDENTIALS = { accessKeyId: "test", secretAccessKey: "test" };

export interface LocalAws {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** Config with the emulator's endpoint, bucket and queues; `overrides` from the caller applied. */
  config: Config;
  clients: AwsClients;
  queueUrl: string;
  dlqUrl: string;
  /** Messages now waiting on the queue (visible + in flight), by SQS's own count. */
  queueDepth(url?: string): Promise<number>;
  /**
   * Receives up to 10 messages with visibility 0, so they stay on the queue for others. Each peek
   * counts as a receive: after MAX_RECEIVES of them the redrive moves a message to the DLQ.
   */
  peekMessages(url?: string): Promise<Message[]>;
  stop(): Promise<void>;
}

/**
 * Starts fauxqs on 127.0.0.1 (random port) and creates BUCKET, QUEUE_NAME and DLQ_NAME with a
 * redrive policy of MAX_RECEIVES. `env` is applied on top of the defaults before validation,
 * e.g. { PART_BYTES: String(5 * 1024 * 1024) }.
 */
export async function startLocalAws(env: Record<string, string> = {}): Promise<LocalAws> {
  const emulator = await startEmulator();
  const endpoint = emulator.endpoint;
  try {
    const base = loadConfig({ ...env, AWS_ENDPOINT_URL: endpoint });
    const clients = createAwsClients(base, { credentials: TEST_CREDENTIALS });
    // No browser reaches this emulator: no CORS rule needed.
    const { queueUrl, dlqUrl } = await provision(base, clients, { putBucketCors: false, log: () => {} });
    const config: Config = { ...base, QUEUE_URL: queueUrl };
    return {
      endpoint,
      config,
      clients: createAwsClients(config, { credentials: TEST_CREDENTIALS }),
      queueUrl,
      dlqUrl,
      async queueDepth(url = queueUrl) {
        const { Attributes } = await clients.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
          }),
        );
        return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
      },
      async peekMessages(url = queueUrl) {
        const { Messages } = await clients.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 0 }),
        );
        return Messages ?? [];
      },
      stop: () => emulator.close(),
    };
  } catch (error) {
    await emulator.close();
    throw error;
  }
}
