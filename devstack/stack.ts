// The whole cloud flow on one machine, as `npm start` runs it (main.ts) and as tests start it in
// their own process. The S3+SQS emulator (fauxqs) runs in this process, its data in
// TRAPLINE_DATA_DIR, unless AWS_ENDPOINT_URL points at LocalStack or AWS; Redis is REDIS_URL; the
// API and the web page share one port; WORKERS queue workers take jobs.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createAwsClients, type AwsClients } from "../core/aws.ts";
import type { Config } from "../core/config.ts";
import { createRedis, JobStore } from "../core/jobStore.ts";
import { PortInUseError, startApiServer, type ApiServer } from "../functions/node.ts";
import type { OpenedClassifier, OpenModel, SpeciesClassifier } from "../gpu-worker/pipeline/index.ts";
import { createWorker, localCredentials, openQueues, openWorkerClassifier, openWorkerModel } from "../gpu-worker/worker/main.ts";
import type { QueueWorker, WorkerOptions } from "../gpu-worker/worker/worker.ts";
import { DataDirInUseError, openDataDir } from "./dataDir.ts";
import { startEmulator, type Emulator } from "./emulator.ts";
import { provision } from "./provision.ts";
import { claimRedis, RedisClaimedError } from "./redisClaim.ts";
import { recoverAfterRestart } from "./restartRecovery.ts";

const WEB_DIST = join(import.meta.dirname, "..", "web", "dist");
const MODEL_CHECK_MS = 10_000;

export interface LocalStackOptions {
  config: Config;
  /** Overrides config.PORT (tests pass 0 for any free port). */
  port?: number;
  /** Run config.WORKERS workers in this process (default true); an object adds worker options (tests). */
  worker?: boolean | Partial<WorkerOptions>;
  /** Prefix for every Redis key (tests share the machine's Redis). */
  redisKeyPrefix?: string;
  /** Try the model download when the weights are missing (default true). */
  fetchModel?: boolean;
  /** How often to look for the model again while it is missing. */
  modelCheckMs?: number;
  log?: (line: string) => void;
}

export interface LocalStack {
  /** The page and the API: http://127.0.0.1:<port> */
  url: string;
  /** Where S3 and SQS are reached (the embedded fauxqs, or AWS_ENDPOINT_URL). */
  awsEndpoint: string;
  /** The configuration in effect (endpoint and queue URL filled in). */
  config: Config;
  clients: AwsClients;
  store: JobStore;
  queueUrl: string;
  dlqUrl: string;
  /** True when this process runs the emulator (fauxqs), with its data in config.TRAPLINE_DATA_DIR. */
  embeddedEmulator: boolean;
  /** The workers, once the model is open (config.WORKERS of them). */
  workers(): readonly QueueWorker[];
  /** Stops everything; jobs in progress are handed back to the queue after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export class StartupError extends Error {
  override name = "StartupError";
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? ((line: string) => console.log(line));
  const cleanups: Array<() => Promise<void> | void> = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };
  try {
    const redis = createRedis(options.config, { log, ...(options.redisKeyPrefix ? { keyPrefix: options.redisKeyPrefix } : {}) });
    cleanups.push(() => redis.disconnect());
    const store = new JobStore(redis, { retentionDays: options.config.RETENTION_DAYS });
    await store.ping().catch(() => {
      throw new StartupError(
        `Redis is not reachable at ${options.config.REDIS_URL}. Start it (e.g. \`redis-server\`, or ` +
          `\`docker compose -f localstack/docker-compose.yml up -d redis\`), or point REDIS_URL at a running one.`,
      );
    });

    let awsEndpoint = options.config.AWS_ENDPOINT_URL;
    let emulator: Emulator | undefined;
    let scratchDir: string | undefined;
    if (!awsEndpoint) {
      let dataDir;
      try {
        dataDir = openDataDir(options.config.TRAPLINE_DATA_DIR);
      } catch (error) {
        throw error instanceof DataDirInUseError ? new StartupError(error.message) : error;
      }
      cleanups.push(() => dataDir.release());
      try {
        const claim = await claimRedis(redis, dataDir.root, options.config.REDIS_URL, log);
        cleanups.push(() => claim.release());
      } catch (error) {
        throw error instanceof RedisClaimedError ? new StartupError(error.message) : error;
      }
      scratchDir = dataDir.scratch;
      // Loopback only: the emulator checks no credentials, so nothing else may reach it.
      const started = await startEmulator({ sqs: dataDir.sqs, s3: dataDir.s3 });
      emulator = started;
      cleanups.push(() => started.close());
      awsEndpoint = started.endpoint;
      log(`Uploads, results and queued jobs are kept in ${dataDir.root} (\`npm run reset\` empties it).`);
    }
    const storageStartedAt = new Date();
    const credentials = localCredentials(awsEndpoint);
    const clients = createAwsClients({ ...options.config, AWS_ENDPOINT_URL: awsEndpoint }, credentials ? { credentials } : {});
    const { queueUrl, dlqUrl } = await provision(options.config, clients, { putBucketCors: emulator === undefined, log });
    const config: Config = { ...options.config, AWS_ENDPOINT_URL: awsEndpoint, QUEUE_URL: queueUrl };
    const aws = createAwsClients(config, credentials ? { credentials } : {});
    // Before the API answers and the workers poll: positions and messages as a restart left them.
    await recoverAfterRestart({ config, clients: aws, store, queueUrl, ...(emulator ? { emulator } : {}), log });

    const staticDir = existsSync(join(WEB_DIST, "index.html")) ? WEB_DIST : undefined;
    let api: ApiServer;
    try {
      api = await startApiServer(
        // Local storage may have lost objects while the stack was down (the data folder emptied,
        // LocalStack restarted without persistence): results seen before this start are looked for again.
        { config, store, aws, log, storageStartedAt, ...(staticDir ? { staticDir } : {}) },
        options.port ?? config.PORT,
      );
    } catch (error) {
      throw error instanceof PortInUseError ? new StartupError(error.message) : error;
    }
    cleanups.push(() => api.close());

    const workers: QueueWorker[] = [];
    const models: OpenModel[] = [];
    const classifiers: SpeciesClassifier[] = [];
    let stopped = false;
    cleanups.push(async () => {
      stopped = true;
      await Promise.all([...models.map((model) => model.detector.close()), ...classifiers.map((classifier) => classifier.close())]);
    });
    if (options.worker !== false) {
      const extra: Partial<WorkerOptions> = { ...(scratchDir ? { scratchDir } : {}), ...(typeof options.worker === "object" ? options.worker : {}) };
      const queues = await openQueues(config, aws, log);
      const count = config.WORKERS;
      const label = (index: number) => (count > 1 ? `[worker ${index + 1}]` : "[worker]");
      // Each worker has its own model, as each GPU instance in the cloud does.
      const startWorkers = async (first: OpenModel) => {
        models.push(first);
        for (let index = 1; index < count && !stopped; index++) {
          const opened = await openWorkerModel(config, { fetchMissing: false });
          if (!opened.ok) {
            log(`${label(index)} ${opened.reason}`);
            break;
          }
          models.push(opened.model);
        }
        if (stopped) return;
        // Species as the container worker does it (CLASSIFIER), one classifier shared by the
        // workers here; one that cannot be opened is said once, and jobs run without species.
        const species = await openWorkerClassifier(config, log).catch((error: unknown): OpenedClassifier => {
          return { absent: `CLASSIFIER=${config.CLASSIFIER}: ${error instanceof Error ? error.message : String(error)}` };
        });
        if (species.classifier) classifiers.push(species.classifier);
        else if (species.absent) log(`Species will not be classified: ${species.absent}.`);
        models.forEach((model, index) => {
          const worker = createWorker(config, { clients: aws, store, ...queues }, model, { log: (line) => log(`${label(index)} ${line}`), species, ...extra });
          workers.push(worker);
          void worker.start();
        });
        if (count > 1) log(`${workers.length} workers take jobs from the queue.`);
      };
      const first = await openWorkerModel(config, { fetchMissing: options.fetchModel ?? true, log });
      if (first.ok) await startWorkers(first.model);
      else {
        const checkMs = options.modelCheckMs ?? MODEL_CHECK_MS;
        log(first.reason);
        log(`The page and the API are up. Looking for the model again every ${Math.round(checkMs / 1000)} s.`);
        void (async () => {
          while (!stopped) {
            await sleep(checkMs);
            if (stopped) return;
            const again = await openWorkerModel(config, { fetchMissing: false, log });
            if (again.ok && !stopped) {
              log("Model found: the workers start taking jobs.");
              return startWorkers(again.model);
            }
            if (again.ok) await again.model.detector.close();
          }
        })();
      }
    }

    return {
      url: api.url,
      awsEndpoint,
      config,
      clients: aws,
      store,
      queueUrl,
      dlqUrl,
      embeddedEmulator: emulator !== undefined,
      workers: () => workers,
      async stop(graceMs = 0) {
        stopped = true;
        await Promise.all(workers.map((worker) => worker.stop(graceMs)));
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
