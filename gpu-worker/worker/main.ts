// The worker's entry point (the container's command, and one part of `npm start`): load the
// configuration, make sure the model is there, open it, and take jobs until SIGTERM.
//   node gpu-worker/worker/main.ts
// First: sizes libuv's thread pool (sharp's decodes) before anything uses it.
import "../pipeline/run/decodeThreads.ts";
import { jobEmailDeps } from "../../core/notify/index.ts";
import { GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import { createAwsClients, type AwsClients } from "../../core/aws.ts";
import { ConfigError, loadConfig, type Config } from "../../core/config.ts";
import { createRedis, JobStore } from "../../core/jobStore.ts";
import { findModel } from "../../models/manifest.ts";
import { openClassifier, openModel, type OpenedClassifier, type OpenModel } from "../pipeline/index.ts";
import { JobQueue } from "./queue.ts";
import { QueueWorker, type WorkerOptions } from "./worker.ts";
import { TaskProtection } from "./taskProtection.ts";
import { HealthBeacon, healthFilePath } from "./health.ts";

/** ECS gives a task 30 s between SIGTERM and SIGKILL by default; keep a little for closing down. */
export const DEFAULT_GRACE_SECONDS = 25;

export type ModelOutcome = { ok: true; model: OpenModel } | { ok: false; reason: string };

/**
 * Opens the model MODEL names, downloading a manifest model once if its weights are missing.
 * When that cannot work (no internet, a wrong path) the reason says what to do; the caller
 * keeps messages on the queue meanwhile.
 */
export async function openWorkerModel(config: Config, options: { fetchMissing?: boolean; log?: (line: string) => void } = {}): Promise<ModelOutcome> {
  try {
    const model = await openModel({
      model: config.MODEL,
      provider: config.PROVIDER,
      batchSize: config.BATCH_SIZE,
      fetchMissing: options.fetchMissing ?? true,
      ...(options.log ? { log: options.log } : {}),
    });
    return { ok: true, model };
  } catch (error) {
    return { ok: false, reason: cannotRunJobs(config, error) };
  }
}

/**
 * Opens the species classifier CLASSIFIER names ("none": no species; unset: the manifest's
 * default when its weights are here, else jobs run without species and say why), once for
 * every job. A classifier named but unusable stops the worker with the reason.
 */
export async function openWorkerClassifier(config: Config, log?: (line: string) => void): Promise<OpenedClassifier> {
  return openClassifier({
    classifier: config.CLASSIFIER?.toLowerCase() === "none" ? false : config.CLASSIFIER,
    provider: config.PROVIDER,
    ...(log ? { log } : {}),
  });
}

function cannotRunJobs(config: Config, error: unknown): string {
  const why = error instanceof Error ? error.message : String(error);
  return (
    `The worker cannot run jobs: ${why}\n` +
    `Provide a model:\n` +
    `  npm run models:fetch -- ${findModel(config.MODEL)?.id ?? "md_v5a.0.0"}      (needs internet)\n` +
    `  or MODEL=/path/to/detector.onnx\n` +
    `Submitted jobs wait in the queue until then; none are failed for this.`
  );
}

export interface WorkerServices {
  clients: AwsClients;
  store: JobStore;
  queue: JobQueue;
  deadLetters?: JobQueue;
}

/** The queue (and its DLQ, when it exists) for this configuration. */
export async function openQueues(config: Config, clients: AwsClients, log: (line: string) => void): Promise<{ queue: JobQueue; deadLetters?: JobQueue }> {
  const queue = new JobQueue(clients.sqs, await clients.queueUrl());
  try {
    const { QueueUrl } = await clients.sqs.send(new GetQueueUrlCommand({ QueueName: config.DLQ_NAME }));
    return QueueUrl ? { queue, deadLetters: new JobQueue(clients.sqs, QueueUrl) } : { queue };
  } catch (error) {
    log(`No dead-letter queue "${config.DLQ_NAME}" (${error instanceof Error ? error.message : String(error)}); jobs that reach it will not be marked failed by this worker.`);
    return { queue };
  }
}

export function createWorker(config: Config, services: WorkerServices, model: OpenModel, extra: Partial<WorkerOptions> = {}): QueueWorker {
  return new QueueWorker({
    config,
    store: services.store,
    queue: services.queue,
    ...(services.deadLetters ? { deadLetters: services.deadLetters } : {}),
    s3: services.clients.s3,
    model,
    email: jobEmailDeps(config, services.store.redis, extra.log ? { log: extra.log } : {}),
    ...extra,
  });
}

/**
 * Emulators on this machine (the embedded fauxqs, LocalStack) accept any credentials: use fixed
 * ones there unless the environment gives some, so nobody needs an AWS profile to run locally.
 */
export function localCredentials(endpoint: string | undefined, env: Record<string, string | undefined> = process.env): { accessKeyId: string; secretAccessKey: string } | undefined {
  if (!endpoint || env.AWS_ACCESS_KEY_ID || env.AWS_PROFILE) return undefined;
  const host = new URL(endpoint).hostname;
  const local = host === "localhost" || host === "127.0.0.1" || host === "[::1]" || host.endsWith(".localhost") || host === "localstack";
  return local ? { accessKeyId: "test", secretAccessKey: "test" } : undefined;
}

/** WORKER_GRACE_SECONDS: how long SIGTERM waits for the current job (match the orchestrator's stop timeout). */
export function graceSeconds(env: Record<string, string | undefined> = process.env): number {
  const raw = env.WORKER_GRACE_SECONDS?.trim();
  if (!raw) return DEFAULT_GRACE_SECONDS;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) throw new ConfigError(`Invalid configuration:\n  WORKER_GRACE_SECONDS: give a number of seconds, e.g. 25 (got ${JSON.stringify(raw)})`);
  return seconds;
}

async function main(): Promise<number> {
  const config = loadConfig();
  const grace = graceSeconds();
  const log = (line: string) => console.log(`[worker] ${line}`);
  // The heartbeat starts first: opening a large model on a GPU takes a while, and the health
  // check must see a live process meanwhile.
  const health = new HealthBeacon(healthFilePath());
  await health.start();
  try {
    return await runWorker(config, grace, log, health);
  } finally {
    await health.stop();
  }
}

async function runWorker(config: Config, grace: number, log: (line: string) => void, health: HealthBeacon): Promise<number> {
  const outcome = await openWorkerModel(config);
  if (!outcome.ok) {
    console.error(outcome.reason);
    return 1;
  }
  let species: OpenedClassifier;
  try {
    species = await openWorkerClassifier(config, log);
  } catch (error) {
    await outcome.model.detector.close();
    console.error(`The worker cannot run jobs: CLASSIFIER=${config.CLASSIFIER}: ${error instanceof Error ? error.message : String(error)} (CLASSIFIER=none runs without species)`);
    return 1;
  }
  if (species.absent) log(`Species will not be classified: ${species.absent}.`);
  const credentials = localCredentials(config.AWS_ENDPOINT_URL);
  const clients = createAwsClients(config, credentials ? { credentials } : {});
  const redis = createRedis(config);
  const store = new JobStore(redis, { retentionDays: config.RETENTION_DAYS });
  try {
    const queues = await openQueues(config, clients, log);
    const worker = createWorker(config, { clients, store, ...queues }, outcome.model, { log, protection: new TaskProtection(), health, species });
    let signalled = false;
    const onSignal = (signal: string) => {
      if (signalled) return;
      signalled = true;
      log(`${signal}: no new jobs will be taken.`);
      void worker.stop(grace * 1000).then(() => {
        log("Stopped.");
        // A job handed back may still be running here; nothing of it is needed any more.
        process.exit(0);
      });
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
    log(`Waiting for jobs on ${queues.queue.queueUrl} (results to s3://${config.BUCKET})`);
    await worker.start();
    return 0;
  } finally {
    await outcome.model.detector.close();
    await species.classifier?.close();
    redis.disconnect();
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : `The worker stopped: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
