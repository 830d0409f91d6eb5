// The API over real HTTP for tests: fauxqs on loopback, Redis under a random key prefix, and
// the app served by functions/node.ts on a free port.
import { FilePlan } from "../../core/filePlan.ts";
import type { PlannedFile } from "../../core/jobs.ts";
import { JobStore } from "../../core/jobStore.ts";
import { RateLimiter } from "../../core/rateLimit.ts";
import { startApiServer } from "../../functions/node.ts";
import type { ApiServer } from "../../functions/node.ts";
import type { AppDeps } from "../../functions/types.ts";
import { createAwsClients } from "../../core/aws.ts";
import { startLocalAws, TEST_CREDENTIALS } from "./localAws.ts";
import type { LocalAws } from "./localAws.ts";
import { testRedis } from "./redis.ts";
import type { TestRedis } from "./redis.ts";
import { startS3Gate } from "./s3Gate.ts";
import type { S3Gate } from "./s3Gate.ts";

export const MiB = 1024 * 1024;

/**
 * Response bodies as tests read them: every field any route may answer, declared present so tests
 * can reach in without casts (a field a route did not send is undefined and fails the assertion).
 */
export interface ApiBody {
  error: {
    code: string;
    message: string;
    names: string[];
    missing: string[];
    extra: string[];
    wrongSize: { name: string; expected: number; actual: number }[];
    missingCount: number;
    extraCount: number;
    wrongSizeCount: number;
  };
  jobId: string;
  expiresAt: string;
  unsigned?: number;
  limits: { maxFiles: number; maxTotalBytes: number; maxFileBytes: number; pageFiles: number; uploadIdleSeconds: number };
  files: { name: string; size: number }[];
  cursor?: string;
  partsKnown: boolean;
  fileCount: number;
  uploads: {
    name: string;
    method: "PUT" | "multipart";
    url: string;
    headers: Record<string, string>;
    multipart: { uploadId: string; key: string; partSize: number; partCount: number; parts: { partNumber: number; url: string }[] };
  }[];
  parts: { partNumber: number; url: string; PartNumber: number; ETag: string }[];
  name: string;
  status: string;
  progress: { processed: number; total: number };
  queuePosition: number | null;
  etaSeconds: number | null;
  createdAt: string;
  queuedAt: string;
  startedAt: string;
  result: { images: number; failed: number; bytes: number };
  recordGone: boolean;
  downloadUrl: string;
  downloadExpiresAt: string;
  ok: boolean;
  redis: string;
  s3: string;
  sqs: string;
}

export interface ApiHarness {
  url: string;
  aws: LocalAws;
  redis: TestRedis;
  store: JobStore;
  deps: AppDeps;
  server: ApiServer;
  /** With `{ gate: true }`: the proxy every presigned link goes through (test/helpers/s3Gate.ts). */
  gate?: S3Gate;
  /** The job's planned files as the store holds them, sorted by name (all of them: fine for tests). */
  plannedFiles(jobId: string): Promise<PlannedFile[]>;
  /** fetch against the API with a JSON body. */
  /** `bytes`: the answer's body as it came, in bytes. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: ApiBody; headers: Headers; bytes: number }>;
  stop(): Promise<void>;
}

/**
 * Small multipart settings by default (S3's 5 MiB minimum part, fauxqs's 11 MiB body cap).
 * `options.gate`: presigned links point at an S3Gate in front of the emulator, which refuses
 * expired links and counts uploads.
 */
export async function startApiHarness(env: Record<string, string> = {}, extra: Partial<AppDeps> = {}, options: { gate?: boolean } = {}): Promise<ApiHarness> {
  const aws = await startLocalAws({ MULTIPART_THRESHOLD_BYTES: String(6 * MiB), PART_BYTES: String(5 * MiB), ...env });
  const gate = options.gate ? await startS3Gate(aws.endpoint, aws.config.BUCKET) : undefined;
  const redis = testRedis();
  const store = new JobStore(redis.redis, { retentionDays: aws.config.RETENTION_DAYS });
  const deps: AppDeps = {
    config: aws.config,
    store,
    aws: gate ? createAwsClients(aws.config, { credentials: TEST_CREDENTIALS, presignEndpoint: gate.url }) : aws.clients,
    rateLimiter: new RateLimiter(redis.redis, { limit: aws.config.RATE_LIMIT_PER_HOUR }),
    log: process.env.DEBUG_API ? (line: string) => console.error(line) : () => {},
    ...extra,
  };
  const server = await startApiServer(deps, 0);
  return {
    url: server.url,
    aws,
    redis,
    store,
    deps,
    server,
    ...(gate ? { gate } : {}),
    async plannedFiles(jobId) {
      const files: PlannedFile[] = [];
      for await (const batch of new FilePlan(redis.redis, { retentionDays: 7 }).batches(jobId)) files.push(...batch);
      return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async call(method, path, body, headers = {}) {
      const response = await fetch(server.url + path, {
        method,
        headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
        ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
        redirect: "manual",
      });
      const text = await response.text();
      let json: unknown = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = text;
      }
      return { status: response.status, json: json as ApiBody, headers: response.headers, bytes: Buffer.byteLength(text) };
    },
    async stop() {
      await server.close();
      await gate?.close();
      await aws.stop();
      await redis.cleanup();
    },
  };
}
