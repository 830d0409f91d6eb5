// What varies between deployments, read from CDK context (`-c key=value` on the command line,
// or "context" in infra/cdk.json) and checked once, with messages that say what to pass instead.
import { emailProblem } from "../core/email.ts";
import { DEFAULT_SHARD_IMAGES } from "../core/jobs.ts";

/** GPU families the image is built for: CUDA 12 on NVIDIA T4 (g4dn), A10G (g5) and L4 (g6). */
const GPU_INSTANCE_TYPE = /^(g4dn|g5|g6)\.[0-9]*xlarge$/;

/** Where the first users' cron job drew the line: a week. */
export const DEFAULT_RETENTION_DAYS = 7;

export interface DeploySettings {
  /** AWS region; the account comes from the CLI's credentials. */
  region: string;
  /** EC2 instance type of the GPU workers. */
  instanceType: string;
  /** Run the workers on Spot capacity (cheaper; a reclaimed instance's job is picked up again). */
  spot: boolean;
  /** Days inputs and results stay in S3 (and job records in Redis). */
  retentionDays: number;
  /** Most GPU workers running at once (one queue message, a shard or a merge, each). */
  maxWorkers: number;
  /** Photos per shard: a job is split into shards of about this many, one GPU worker each at a time. */
  shardImages: number;
  /** Model id from models/manifest.json baked into the worker image. */
  model: string;
  /** Where alarm notifications go; none when unset. */
  alarmEmail: string | undefined;
  /**
   * The address job emails come from, an identity verified in Amazon SES (the address or its
   * domain). Unset: no SES permission, and the workers print each email to their log instead.
   */
  senderEmail: string | undefined;
}

export const DEFAULT_SETTINGS: DeploySettings = {
  region: "us-east-1",
  instanceType: "g4dn.xlarge",
  spot: false,
  retentionDays: DEFAULT_RETENTION_DAYS,
  maxWorkers: 2,
  shardImages: DEFAULT_SHARD_IMAGES,
  model: "md_v5a.0.0",
  alarmEmail: undefined,
  senderEmail: undefined,
};

export class SettingsError extends Error {
  override name = "SettingsError";
}

/** Context values arrive as strings from `-c` and as JSON values from cdk.json. */
type ContextReader = (key: string) => unknown;

function text(value: unknown): string | undefined {
  if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") return undefined;
  const s = String(value).trim();
  return s === "" ? undefined : s;
}

/**
 * Reads the deploy settings from CDK context (`tryGetContext`), falling back to defaults.
 * `defaultRegion` is the CLI's region (CDK_DEFAULT_REGION) when no `region` is given.
 */
export function readSettings(context: ContextReader, defaultRegion?: string): DeploySettings {
  const problems: string[] = [];

  const region = text(context("region")) ?? text(defaultRegion) ?? DEFAULT_SETTINGS.region;
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) problems.push(`region: "${region}" is not an AWS region name (e.g. us-east-1)`);

  const instanceType = text(context("instanceType")) ?? DEFAULT_SETTINGS.instanceType;
  if (!GPU_INSTANCE_TYPE.test(instanceType)) {
    problems.push(`instanceType: "${instanceType}" is not a supported GPU type; use g4dn, g5 or g6 sizes such as g4dn.xlarge, g5.xlarge, g6.xlarge`);
  }

  const spotText = text(context("spot"))?.toLowerCase() ?? String(DEFAULT_SETTINGS.spot);
  if (spotText !== "true" && spotText !== "false") problems.push(`spot: "${spotText}" must be true or false`);

  const retentionDays = Number(text(context("retentionDays")) ?? DEFAULT_SETTINGS.retentionDays);
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 365) {
    problems.push(`retentionDays: "${text(context("retentionDays"))}" must be a whole number of days from 1 to 365`);
  }

  // Scaling steps are one per worker, and Application Auto Scaling allows 20 step adjustments per
  // policy (a quota that can be raised, together with this bound).
  const maxWorkers = Number(text(context("maxWorkers")) ?? DEFAULT_SETTINGS.maxWorkers);
  if (!Number.isInteger(maxWorkers) || maxWorkers < 1 || maxWorkers > 20) {
    problems.push(`maxWorkers: "${text(context("maxWorkers"))}" must be a whole number from 1 to 20`);
  }

  const shardImages = Number(text(context("shardImages")) ?? DEFAULT_SETTINGS.shardImages);
  if (!Number.isInteger(shardImages) || shardImages < 1 || shardImages > 100_000) {
    problems.push(`shardImages: "${text(context("shardImages"))}" must be a whole number of photos from 1 to 100,000`);
  }

  const model = text(context("model")) ?? DEFAULT_SETTINGS.model;
  if (!/^[A-Za-z0-9._-]+$/.test(model)) problems.push(`model: "${model}" must be a model id from models/manifest.json`);

  const alarmEmail = text(context("alarmEmail"));
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) problems.push(`alarmEmail: "${alarmEmail}" is not an email address`);

  const senderEmail = text(context("senderEmail"));
  const senderProblem = senderEmail === undefined ? null : emailProblem(senderEmail);
  if (senderProblem) problems.push(`senderEmail: "${senderEmail}": ${senderProblem} Give the bare address verified in Amazon SES, e.g. trapline@example.org`);

  if (problems.length > 0) {
    throw new SettingsError(`Invalid deploy settings (pass them as -c key=value):\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
  return { region, instanceType, spot: spotText === "true", retentionDays, maxWorkers, shardImages, model, alarmEmail, senderEmail };
}
