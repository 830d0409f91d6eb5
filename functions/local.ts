// `npm start`: the whole cloud flow on one machine. The S3+SQS emulator (fauxqs) runs in this
// process unless AWS_ENDPOINT_URL points at LocalStack or AWS; Redis is REDIS_URL; the API and
// the web page share one port; one worker takes jobs from the queue.
//
// Browsers upload straight to S3 with presigned URLs, from the page's origin to the S3 endpoint's:
// that needs CORS, which fauxqs does not answer. Rather than bend the API for local use, a small
// loopback proxy sits in front of fauxqs and plays the part of the bucket's CORS rule (the same
// rule this file puts on a real bucket); everything, presigned URLs included, goes through it.
import { CreateBucketCommand, PutBucketCorsCommand, type CORSRule } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { buildApp } from "fauxqs";
import { existsSync } from "node:fs";
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createAwsClients, type AwsClients } from "../core/aws.ts";
import { ConfigError, loadConfig, type Config } from "../core/config.ts";
import { createRedis, JobStore } from "../core/jobStore.ts";
import { createWorker, graceSeconds, localCredentials, openQueues, openWorkerModel } from "../gpu-worker/worker/main.ts";
import type { QueueWorker, WorkerOptions } from "../gpu-worker/worker/worker.ts";
import type { OpenModel } from "../gpu-worker/pipeline/index.ts";
import { PortInUseError, startApiServer, type ApiServer } from "./node.ts";

/** The bucket's CORS rule: browsers PUT parts and read the ETag back to complete a multipart upload. */
export const BUCKET_CORS_RULE: CORSRule = {
  AllowedOrigins: ["*"],
  AllowedMethods: ["GET", "PUT", "POST", "HEAD"],
  AllowedHeaders: ["*"],
  ExposeHeaders: ["ETag"],
  MaxAgeSeconds: 3000,
};


const WEB_DIST = join(import.meta.dirname, "..", "web", "dist");
const MODEL_CHECK_MS = 10_000;

export interface LocalStackOptions {
  config: Config;
  /** Overrides config.PORT (tests pass 0 for any free port). */
  port?: number;
  /** Run a worker in this process (default true); an object adds worker options (tests). */
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
  /** Where S3 and SQS are reached (the CORS proxy in front of fauxqs, or AWS_ENDPOINT_URL). */
  awsEndpoint: string;
  /** The configuration in effect (endpoint and queue URL filled in). */
  config: Config;
  clients: AwsClients;
  store: JobStore;
  queueUrl: string;
  dlqUrl: string;
  /** True when this process runs the emulator (fauxqs). */
  embeddedEmulator: boolean;
  /** The worker, once the model is open. */
  worker(): QueueWorker | undefined;
  /** Stops everything; a job in progress is handed back to the queue after `graceMs`. */
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
    const embeddedEmulator = !awsEndpoint;
    if (!awsEndpoint) {
      // Loopback only: the emulator checks no credentials, so nothing else may reach it.
      const fauxqs = buildApp({ logger: false });
      const fauxqsUrl = new URL(await fauxqs.listen({ port: 0, host: "127.0.0.1" }));
      cleanups.push(() => fauxqs.close());
      const proxy = await startCorsProxy(Number(fauxqsUrl.port));
      cleanups.push(() => new Promise<void>((done) => proxy.close(() => done())));
      awsEndpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    }
    const credentials = localCredentials(awsEndpoint);
    const clients = createAwsClients({ ...options.config, AWS_ENDPOINT_URL: awsEndpoint }, credentials ? { credentials } : {});
    const { queueUrl, dlqUrl } = await provision(options.config, clients, { corsByProxy: embeddedEmulator, log });
    const config: Config = { ...options.config, AWS_ENDPOINT_URL: awsEndpoint, QUEUE_URL: queueUrl };
    const aws = createAwsClients(config, credentials ? { credentials } : {});

    const staticDir = existsSync(join(WEB_DIST, "index.html")) ? WEB_DIST : undefined;
    let api: ApiServer;
    try {
      api = await startApiServer({ config, store, aws, log, ...(staticDir ? { staticDir } : {}) }, options.port ?? config.PORT);
    } catch (error) {
      throw error instanceof PortInUseError ? new StartupError(error.message) : error;
    }
    cleanups.push(() => api.close());

    let worker: QueueWorker | undefined;
    let model: OpenModel | undefined;
    let stopped = false;
    cleanups.push(async () => {
      stopped = true;
      await model?.detector.close();
    });
    if (options.worker !== false) {
      const extra = typeof options.worker === "object" ? options.worker : {};
      const queues = await openQueues(config, aws, log);
      const startWorker = (opened: OpenModel) => {
        model = opened;
        worker = createWorker(config, { clients: aws, store, ...queues }, opened, { log: (line) => log(`[worker] ${line}`), ...extra });
        void worker.start();
      };
      const first = await openWorkerModel(config, { fetchMissing: options.fetchModel ?? true, log });
      if (first.ok) startWorker(first.model);
      else {
        log(first.reason);
        log(`The page and the API are up. Looking for the model again every ${Math.round((options.modelCheckMs ?? MODEL_CHECK_MS) / 1000)} s.`);
        void (async () => {
          while (!stopped) {
            await sleep(options.modelCheckMs ?? MODEL_CHECK_MS);
            if (stopped) return;
            const again = await openWorkerModel(config, { fetchMissing: false, log });
            if (again.ok && !stopped) {
              log("Model found: the worker starts taking jobs.");
              return startWorker(again.model);
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
      embeddedEmulator,
      worker: () => worker,
      async stop(graceMs = 0) {
        stopped = true;
        await worker?.stop(graceMs);
        await stopAll();
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Bucket (with CORS), DLQ and job queue with a redrive policy; idempotent, as LocalStack's init hook may have made them. */
async function provision(config: Config, clients: AwsClients, options: { corsByProxy: boolean; log: (line: string) => void }): Promise<{ queueUrl: string; dlqUrl: string }> {
  await clients.s3.send(new CreateBucketCommand({ Bucket: config.BUCKET })).catch((error: unknown) => {
    const name = (error as { name?: string }).name;
    if (name !== "BucketAlreadyOwnedByYou" && name !== "BucketAlreadyExists") throw error;
  });
  if (!options.corsByProxy) {
    await clients.s3.send(new PutBucketCorsCommand({ Bucket: config.BUCKET, CORSConfiguration: { CORSRules: [BUCKET_CORS_RULE] } })).catch((error: unknown) => {
      options.log(`Could not set the bucket's CORS rule (${error instanceof Error ? error.message : String(error)}); browser uploads may be refused.`);
    });
  }
  const dlq = await clients.sqs.send(new CreateQueueCommand({ QueueName: config.DLQ_NAME }));
  const { Attributes } = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }));
  const queue = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: config.QUEUE_NAME,
      Attributes: {
        VisibilityTimeout: String(config.VISIBILITY_SECONDS),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: String(config.MAX_RECEIVES) }),
      },
    }),
  );
  if (!queue.QueueUrl || !dlq.QueueUrl) throw new Error("SQS did not return the queue URLs");
  return { queueUrl: queue.QueueUrl, dlqUrl: dlq.QueueUrl };
}

/**
 * A loopback proxy to fauxqs that answers CORS preflights and adds the CORS response headers,
 * as S3 does for a bucket with BUCKET_CORS_RULE. Bodies stream through untouched.
 */
export async function startCorsProxy(targetPort: number): Promise<Server> {
  // Kept-alive connections to the emulator: a new one per request made every small upload pay
  // a TCP handshake, and halved the MB/s of many small files (npm run bench:api).
  const upstreamAgent = new Agent({ keepAlive: true });
  const corsHeaders = (req: IncomingMessage): Record<string, string> => ({
    "access-control-allow-origin": req.headers.origin ?? "*",
    "access-control-expose-headers": BUCKET_CORS_RULE.ExposeHeaders!.join(", "),
    vary: "Origin",
  });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "OPTIONS") {
      res.writeHead(200, {
        ...corsHeaders(req),
        "access-control-allow-methods": BUCKET_CORS_RULE.AllowedMethods!.join(", "),
        "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "*",
        "access-control-max-age": String(BUCKET_CORS_RULE.MaxAgeSeconds),
      });
      res.end();
      return;
    }
    const upstream = request({ host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers, agent: upstreamAgent }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, { ...reply.headers, ...corsHeaders(req) });
      reply.pipe(res);
    });
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain", ...corsHeaders(req) });
      res.end(`The local S3/SQS emulator did not answer: ${error.message}`);
    });
    // A client that goes away (an aborted long poll) must not leave the upstream request open.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 65_000;
  server.on("close", () => upstreamAgent.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return server;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const grace = graceSeconds();
  if (!config.AWS_ENDPOINT_URL) console.log("Starting the S3/SQS emulator (fauxqs) in this process; set AWS_ENDPOINT_URL to use LocalStack or AWS instead.");
  const stack = await startLocalStack({ config });
  const page = stack.url.replace("127.0.0.1", "localhost");
  console.log(`\nTrapline is running. Open ${page} in your browser.\n  API ${page}/api, health ${page}/healthz; S3/SQS at ${stack.awsEndpoint}; Redis at ${config.REDIS_URL}\n  Ctrl-C to stop.`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: stopping${stack.worker()?.currentJobId ? " (the running job goes back to the queue if it cannot finish in time)" : ""}...`);
    void stack.stop(stack.embeddedEmulator ? 0 : grace * 1000).then(() => process.exit(0));
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError) console.error(error.message);
    else console.error(`Trapline could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  }
}
