// The bucket, the job queue and its dead-letter queue that the local stack needs, made through
// the AWS APIs: one piece of code for the embedded emulator, LocalStack (when its hook has not
// run) and the tests. LocalStack's ready hook (localstack/ready.d/init-trapline.sh) is bash with
// awslocal and cannot call this; it reads the same CORS file (bucketCors.json), and
// test/localstack/initHook.test.ts checks it asks for the same queue settings as
// jobQueueAttributes(). Idempotent: a second run, or a run after the hook, changes nothing
// except settings that differ from the configuration (those are brought in line).
import { CreateBucketCommand, PutBucketCorsCommand, type CORSConfiguration, type CORSRule } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { AwsClients } from "../core/aws.ts";
import type { Config } from "../core/config.ts";
import bucketCors from "./bucketCors.json" with { type: "json" };

/** The bucket's CORS configuration: browsers PUT parts and read the ETag back to complete a multipart upload. */
export const BUCKET_CORS: CORSConfiguration = bucketCors;
export const BUCKET_CORS_RULE: CORSRule = bucketCors.CORSRules[0]!;

/** The job queue's settings: visibility while a worker holds a job, and the redrive to the DLQ. */
export function jobQueueAttributes(config: Pick<Config, "VISIBILITY_SECONDS" | "MAX_RECEIVES">, dlqArn: string): Record<string, string> {
  return {
    VisibilityTimeout: String(config.VISIBILITY_SECONDS),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: String(config.MAX_RECEIVES) }),
  };
}

export interface Provisioned {
  queueUrl: string;
  dlqUrl: string;
}

export interface ProvisionOptions {
  /** Put BUCKET_CORS on the bucket; not for the embedded emulator, whose server plays the rule (emulatorCors.ts). */
  putBucketCors: boolean;
  log: (line: string) => void;
}

export async function provision(
  config: Pick<Config, "BUCKET" | "QUEUE_NAME" | "DLQ_NAME" | "VISIBILITY_SECONDS" | "MAX_RECEIVES">,
  clients: AwsClients,
  options: ProvisionOptions,
): Promise<Provisioned> {
  await clients.s3.send(new CreateBucketCommand({ Bucket: config.BUCKET })).catch((error: unknown) => {
    const name = (error as { name?: string }).name;
    if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw error;
  });
  if (options.putBucketCors) {
    await clients.s3.send(new PutBucketCorsCommand({ Bucket: config.BUCKET, CORSConfiguration: BUCKET_CORS })).catch((error: unknown) => {
      options.log(`Could not set the bucket's CORS rule (${messageOf(error)}); browser uploads may be refused.`);
    });
  }
  const dlqUrl = await createQueue(clients, config.DLQ_NAME, {}, options.log);
  const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }));
  if (!Attributes?.QueueArn) throw new Error(`SQS did not return the ARN of the queue "${config.DLQ_NAME}"`);
  const queueUrl = await createQueue(clients, config.QUEUE_NAME, jobQueueAttributes(config, Attributes.QueueArn), options.log);
  return { queueUrl, dlqUrl };
}

/**
 * Creates the queue, or brings an existing one's settings in line: SQS refuses to "create" a queue
 * that exists with other values (a restart with another VISIBILITY_SECONDS or MAX_RECEIVES).
 */
async function createQueue(clients: AwsClients, name: string, attributes: Record<string, string>, log: (line: string) => void): Promise<string> {
  try {
    const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (!QueueUrl) throw new Error(`SQS did not return a URL for the queue "${name}"`);
    return QueueUrl;
  } catch (error) {
    // "QueueNameExists" from the JSON protocol, "AWS.SimpleQueueService.QueueNameExists" or
    // "QueueAlreadyExists" where the query protocol's codes show through.
    if (!/Queue(NameExists|AlreadyExists)$/.test((error as { name?: string }).name ?? "")) throw error;
  }
  const { QueueUrl } = await clients.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`SQS did not return a URL for the queue "${name}"`);
  await clients.sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
  log(`Queue "${name}" existed with other settings; now ${JSON.stringify(attributes)}.`);
  return QueueUrl;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
