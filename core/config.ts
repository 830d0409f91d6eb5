// Configuration for the API, the worker and `npm start`: environment variables, validated once
// at start with messages that say which variable is wrong and what it should look like.
import { z } from "zod";
import { emailProblem } from "./email.ts";
import { DEFAULT_SHARD_IMAGES } from "./jobs.ts";
import { MAX_BATCH } from "../gpu-worker/pipeline/detector/batchSize.ts";
import { EXECUTION_PROVIDERS } from "../gpu-worker/pipeline/detector/inferenceProtocol.ts";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const TiB = 1024 * GiB;
/** S3's largest object: a file above this cannot be stored at all. */
const S3_MAX_OBJECT_BYTES = 5 * TiB;

/** Each local worker opens its own model (hundreds of MB with MegaDetector): more would only thrash one machine. */
const MAX_LOCAL_WORKERS = 8;

const number = (fallback: number) => z.coerce.number().finite().default(fallback);
const probability = (fallback: number) => z.coerce.number().min(0).max(1).default(fallback);
/** An address by the same rule the page and the API apply (core/email.ts). */
const emailAddress = z.string().superRefine((value, ctx) => {
  const problem = emailProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: `${problem} Give a bare address, e.g. trapline@example.org` });
});

export const ConfigSchema = z.object({
  /** HTTP port of the API and web page in local mode. */
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  /** Redis (or Valkey / ElastiCache) URL; rediss:// for TLS. */
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
  /** Connect with a cluster client (ElastiCache Serverless is cluster-mode). */
  REDIS_CLUSTER: z.stringbool().default(false),
  /** S3/SQS endpoint: LocalStack, or unset for the embedded emulator locally / real AWS in the cloud. */
  AWS_ENDPOINT_URL: z.string().url().optional(),
  AWS_REGION: z.string().min(1).default("us-east-1"),
  BUCKET: z.string().min(3).default("trapline-local"),
  QUEUE_NAME: z.string().min(1).default("trapline-jobs"),
  DLQ_NAME: z.string().min(1).default("trapline-jobs-dlq"),
  /** Full queue URL, when known (the CDK stack passes it); else looked up by name. */
  QUEUE_URL: z.string().url().optional(),
  /** A manifest id or the path to an ONNX file, as the CLI's --model. */
  MODEL: z.string().min(1).default("md_v5a.0.0"),
  /**
   * The species classifier, as the CLI's --classifier: a manifest id or the path to an ONNX
   * classifier; "none" for no species; unset: the manifest's default when its weights are here.
   */
  CLASSIFIER: z.string().trim().min(1).optional(),
  /** Execution provider for the worker, as the CLI's --provider: auto (CUDA when present, else the CPU), cpu, cuda or tensorrt (only when named). */
  PROVIDER: z.enum(EXECUTION_PROVIDERS).default("auto"),
  /** Images per inference call; unset: sized to the provider, model and GPU memory (gpu-worker/pipeline/detector/batchSize.ts). */
  BATCH_SIZE: z.coerce.number().int().min(1).max(MAX_BATCH).optional(),
  /** Default render threshold; unset means the model's typical threshold. */
  RENDER_THRESHOLD: z.coerce.number().min(0).max(1).optional(),
  OUTPUT_THRESHOLD: probability(0.005),
  /** Upload limits per job: an SD card's worth of photos (250,000 files, 2 TiB) by default. */
  MAX_FILES: z.coerce.number().int().min(1).default(250_000),
  /**
   * Largest single file: one zip of a 64 or 128 GB card fits; S3 itself stops at 5 TiB. The
   * worker downloads each file whole to its scratch disk, so this stays far below S3's limit.
   */
  MAX_FILE_BYTES: z.coerce.number().int().min(1).max(S3_MAX_OBJECT_BYTES).default(200 * GiB),
  MAX_TOTAL_BYTES: number(2 * TiB),
  /** Files above this size upload as multipart; parts are PART_BYTES (S3 minimum 5 MiB; fauxqs caps bodies near 11 MiB). */
  MULTIPART_THRESHOLD_BYTES: number(8 * MiB),
  PART_BYTES: number(8 * MiB),
  /** How long presigned URLs stay valid. */
  PRESIGN_SECONDS: z.coerce.number().int().min(1).max(7 * 24 * 3600).default(3600),
  /**
   * A job still uploading with no upload activity (creating, adding files, signing, completing)
   * for this long expires: its inputs and unfinished multipart uploads are deleted, and it no
   * longer counts against its owner's creation limit.
   */
  UPLOAD_IDLE_SECONDS: z.coerce.number().int().min(1).max(30 * 24 * 3600).default(24 * 3600),
  /** Inputs and results are deleted after this many days (S3 lifecycle); job records expire with them. */
  RETENTION_DAYS: z.coerce.number().int().min(1).max(365).default(7),
  /** Job creations allowed per client IP and per email per hour. */
  RATE_LIMIT_PER_HOUR: z.coerce.number().int().min(1).default(30),
  /** Submits per job per hour: each submit of a job still uploading lists its inputs in S3. */
  JOB_SUBMITS_PER_HOUR: z.coerce.number().int().min(1).default(60),
  /** Status and download requests per job per minute: the page polls at most every 2 s (30 a minute), so several tabs fit. */
  JOB_READS_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  /**
   * Part URLs signed per job per hour by the sign route: an upload at 1 Gbit/s in 8 MiB parts
   * needs about 54,000 an hour.
   */
  JOB_PARTS_SIGNED_PER_HOUR: z.coerce.number().int().min(1).default(60_000),
  /** After this many receives of one job's message, the job fails (the queue's redrive sends it to the DLQ). */
  MAX_RECEIVES: z.coerce.number().int().min(1).default(3),
  /**
   * Photos per shard (DESIGN.md "Jobs of any size"): a job is planned into shards of about this
   * many images, one queue message each, so any worker takes any shard and a crash costs one.
   */
  SHARD_IMAGES: z.coerce.number().int().min(1).max(100_000).default(DEFAULT_SHARD_IMAGES),
  /** SQS visibility the worker keeps extending while it holds a job. */
  VISIBILITY_SECONDS: z.coerce.number().int().min(30).max(43_200).default(300),
  /** Allowed browser origin for the API (the site's URL in AWS); "*" locally. */
  CORS_ORIGIN: z.string().default("*"),
  /** Public base URL of the API, when it differs from the request's own (behind CloudFront). */
  PUBLIC_API_URL: z.string().url().optional(),
  /**
   * `npm start` only: the folder where the embedded S3/SQS emulator keeps uploads, results and
   * queued messages, and the workers their scratch files (relative paths from the working folder).
   */
  TRAPLINE_DATA_DIR: z.string().min(1).default(".trapline-data"),
  /** `npm start` only: queue workers in the process, each with its own model (one machine shows fan-out). */
  WORKERS: z.coerce.number().int().min(1).max(MAX_LOCAL_WORKERS).default(1),
  /** Public base URL of the page (the CloudFront URL in AWS): job emails link to <it>/#/jobs/<id>. Unset: http://localhost:PORT. */
  PUBLIC_SITE_URL: z.string().url().optional(),
  /**
   * The address job emails come from. With SMTP_URL unset they go through Amazon SES, which must
   * have this address (or its domain) verified. Neither set: each email is printed to the log.
   */
  SENDER_EMAIL: emailAddress.optional(),
  /** A mail server for job emails (smtp:// or smtps://, user and password in the URL); wins over SES. */
  SMTP_URL: z
    .string()
    .url()
    .refine((value) => /^smtps?:\/\//i.test(value), { message: "give an smtp:// or smtps:// URL, e.g. smtp://localhost:1025" })
    .optional(),
});

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and validates the environment; throws one ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "not set" (a blank line in a .env file), not "invalid".
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = ConfigSchema.safeParse(present);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `  ${issue.path.join(".")}: ${issue.message} (got ${JSON.stringify(withoutPassword(present[String(issue.path[0])]))})`);
  throw new ConfigError(`Invalid configuration:\n${problems.join("\n")}\nSee the README's Configuration section.`);
}

/** A URL's password (SMTP_URL, REDIS_URL) is not repeated into logs. */
function withoutPassword(value: string | undefined): string | undefined {
  if (value === undefined || !URL.canParse(value)) return value;
  const url = new URL(value);
  if (!url.password) return value;
  url.password = "***";
  return url.toString();
}
