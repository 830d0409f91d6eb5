// S3 and SQS clients from Config, for the API and the worker. One endpoint setting points
// everything at the embedded emulator, LocalStack or (unset) real AWS.
import { S3Client } from "@aws-sdk/client-s3";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Config } from "./config.ts";

export interface AwsClients {
  s3: S3Client;
  /**
   * Signs URLs that browsers use. Flexible checksums stay off unless an operation requires them:
   * since early 2025 the SDK otherwise puts x-amz-checksum-* parameters into presigned PutObject
   * and UploadPart URLs, which a browser's upload then fails to match.
   */
  presigner: S3Client;
  sqs: SQSClient;
  /** The job queue's URL: QUEUE_URL when set, else looked up by QUEUE_NAME once and kept. */
  queueUrl(): Promise<string>;
}

export interface AwsClientOptions {
  /** Overrides AWS_ENDPOINT_URL (the embedded emulator's address, chosen at start). */
  endpoint?: string;
  /** Endpoint written into presigned URLs, when browsers reach S3 by another address than we do. */
  presignEndpoint?: string;
  /** Static credentials (emulators accept any); else the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Give up on an unreachable endpoint quickly: the API answers 503 instead of hanging. */
const CONNECTION_TIMEOUT_MS = 3_000;
const REQUEST_TIMEOUT_MS = 30_000;

export function createAwsClients(
  config: Pick<Config, "AWS_ENDPOINT_URL" | "AWS_REGION" | "QUEUE_URL" | "QUEUE_NAME">,
  options: AwsClientOptions = {},
): AwsClients {
  const endpoint = options.endpoint ?? config.AWS_ENDPOINT_URL;
  const common = {
    region: config.AWS_REGION,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    requestHandler: { connectionTimeout: CONNECTION_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS },
  };
  // Emulators serve buckets as paths (http://host:port/bucket/key), not as subdomains.
  const s3Endpoint = (url: string | undefined) => (url ? { endpoint: url, forcePathStyle: true } : {});
  const s3 = new S3Client({ ...common, ...s3Endpoint(endpoint) });
  const presigner = new S3Client({
    ...common,
    ...s3Endpoint(options.presignEndpoint ?? endpoint),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const sqs = new SQSClient({ ...common, ...(endpoint ? { endpoint } : {}) });

  let queueUrl: Promise<string> | undefined = config.QUEUE_URL ? Promise.resolve(config.QUEUE_URL) : undefined;
  return {
    s3,
    presigner,
    sqs,
    queueUrl() {
      queueUrl ??= lookUpQueueUrl(sqs, config.QUEUE_NAME).catch((error: unknown) => {
        queueUrl = undefined; // try again next time (the queue may not exist yet)
        throw error;
      });
      return queueUrl;
    },
  };
}

async function lookUpQueueUrl(sqs: SQSClient, name: string): Promise<string> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`SQS did not return a URL for the queue "${name}"`);
  return QueueUrl;
}
