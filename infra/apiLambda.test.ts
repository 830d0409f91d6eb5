// The API exactly as it is deployed: functions/lambda.ts bundled by the stack's NodejsFunction
// settings (esbuild, ES module), loaded in a fresh Node process like a Lambda container, and
// handed Function URL events (payload format 2.0). Real Redis at 127.0.0.1:6379, the fauxqs
// S3/SQS emulator on a random loopback port.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { App, Stack } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import { Redis } from "ioredis";
import { redisKeys } from "../core/keys.ts";
import { startLocalAws, TEST_CREDENTIALS, type LocalAws } from "../test/helpers/localAws.ts";
import { API_BUNDLING, REPO_ROOT } from "./traplineStack.ts";

const run = promisify(execFile);
const SITE_ORIGIN = "https://d111111abcdef8.cloudfront.net";

interface LambdaResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** A Function URL request as Lambda delivers it (payload format version 2.0). */
function functionUrlEvent(method: string, path: string, options: { headers?: Record<string, string>; body?: unknown; sourceIp?: string } = {}) {
  const now = new Date();
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath: path,
    rawQueryString: "",
    headers: { host: "abcdefghij.lambda-url.us-east-1.on.aws", "user-agent": "trapline-test", ...(options.body ? { "content-type": "application/json" } : {}), ...options.headers },
    requestContext: {
      accountId: "anonymous",
      apiId: "abcdefghij",
      domainName: "abcdefghij.lambda-url.us-east-1.on.aws",
      domainPrefix: "abcdefghij",
      http: { method, path, protocol: "HTTP/1.1", sourceIp: options.sourceIp ?? "203.0.113.9", userAgent: "trapline-test" },
      requestId: randomBytes(8).toString("hex"),
      routeKey: "$default",
      stage: "$default",
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(options.body ? { body: JSON.stringify(options.body) } : {}),
    isBase64Encoded: false,
  };
}

/** Loads the bundle in a new process (a cold Lambda container) and invokes it once per event, in order. */
const RUNNER = `
const { handler } = await import(process.env.BUNDLE_URL);
const events = JSON.parse(process.env.EVENTS);
const results = [];
for (const event of events) results.push(await handler(event, { awsRequestId: event.requestContext.requestId, functionName: "api" }));
process.stdout.write(JSON.stringify(results));
process.exit(0);
`;

describe("the API's Lambda bundle", () => {
  let workDir: string;
  let bundle: string;
  let aws: LocalAws;
  let redis: Redis;

  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), "trapline-lambda-"));
    const app = new App({ outdir: workDir, builtinCloudFormationValidation: false });
    const stack = new Stack(app, "Bundle");
    const fn = new nodejs.NodejsFunction(stack, "Api", {
      entry: join(REPO_ROOT, "functions", "lambda.ts"),
      runtime: lambda.Runtime.NODEJS_24_X,
      depsLockFilePath: join(REPO_ROOT, "package-lock.json"),
      projectRoot: REPO_ROOT,
      bundling: { ...API_BUNDLING, logLevel: nodejs.LogLevel.ERROR },
    });
    app.synth();
    const code = (fn.node.defaultChild as lambda.CfnFunction).code as { s3Key: string };
    const assetDir = readdirSync(workDir).find((name) => name.startsWith("asset.") && code.s3Key.startsWith(name.slice("asset.".length)));
    assert.ok(assetDir, "the bundle is staged");
    bundle = join(workDir, assetDir, "index.mjs");
    aws = await startLocalAws();
    redis = new Redis("redis://127.0.0.1:6379", { lazyConnect: true });
    await redis.connect();
  });

  after(async () => {
    redis?.disconnect();
    await aws?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  async function invoke(events: unknown[], env: Record<string, string> = {}): Promise<LambdaResult[]> {
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", RUNNER], {
      env: {
        PATH: process.env.PATH,
        BUNDLE_URL: new URL(`file://${bundle}`).href,
        EVENTS: JSON.stringify(events),
        AWS_ENDPOINT_URL: aws.endpoint,
        AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
        BUCKET: aws.config.BUCKET,
        QUEUE_URL: aws.queueUrl,
        QUEUE_NAME: aws.config.QUEUE_NAME,
        DLQ_NAME: aws.config.DLQ_NAME,
        REDIS_URL: "redis://127.0.0.1:6379",
        CORS_ORIGIN: SITE_ORIGIN,
        ...env,
      },
      timeout: 30_000,
    });
    return JSON.parse(stdout) as LambdaResult[];
  }

  it("answers health, CORS preflights (the site's origin only), errors and job creation", async () => {
    const sourceIp = `198.51.100.${1 + (randomBytes(1)[0]! % 250)}`;
    const email = `lambda-${randomBytes(6).toString("hex")}@example.org`;
    const unknownJob = randomBytes(16).toString("base64url");
    const preflight = (origin: string) =>
      functionUrlEvent("OPTIONS", "/api/jobs", { headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" } });
    const [health, allowed, refused, missing, created] = await invoke([
      functionUrlEvent("GET", "/healthz"),
      preflight(SITE_ORIGIN),
      preflight("https://elsewhere.example"),
      functionUrlEvent("GET", `/api/jobs/${unknownJob}`, { headers: { origin: SITE_ORIGIN } }),
      functionUrlEvent("POST", "/api/jobs", {
        headers: { origin: SITE_ORIGIN },
        sourceIp,
        body: { email, files: [{ name: "cam1/IMG_0001.JPG", size: 1234, type: "image/jpeg" }] },
      }),
    ]);

    assert.equal(health!.statusCode, 200, health!.body);
    assert.deepEqual(JSON.parse(health!.body), { ok: true, redis: "ok", s3: "ok", sqs: "ok" });

    assert.ok(allowed!.statusCode < 300);
    assert.equal(allowed!.headers["access-control-allow-origin"], SITE_ORIGIN);
    assert.notEqual(refused!.headers["access-control-allow-origin"], "https://elsewhere.example");
    assert.notEqual(refused!.headers["access-control-allow-origin"], "*");

    assert.equal(missing!.statusCode, 404);
    const error = (JSON.parse(missing!.body) as { error: { code: string; message: string } }).error;
    assert.equal(typeof error.code, "string");
    assert.ok(error.message.length > 0);
    assert.doesNotMatch(missing!.body, /at .*\.(ts|js|mjs):\d+/, "no stack trace");

    assert.equal(created!.statusCode, 201, created!.body);
    assert.equal(created!.headers["access-control-allow-origin"], SITE_ORIGIN);
    const job = JSON.parse(created!.body) as { jobId: string; uploads: { name: string; method?: string; url?: string }[] };
    try {
      assert.equal(job.uploads.length, 1);
      assert.equal(job.uploads[0]!.method, "PUT");
      assert.ok(job.uploads[0]!.url?.startsWith(`${aws.endpoint}/${aws.config.BUCKET}/jobs/${job.jobId}/input/`), job.uploads[0]!.url);
    } finally {
      await redis.del(redisKeys.job(job.jobId), redisKeys.files(job.jobId));
      await deleteRateKeys([sourceIp, email]);
    }
  });

  it("counts job creations by the connection's source IP: forwarded-address headers a client sends do not lift the limit", async () => {
    const sourceIp = `198.51.100.${1 + (randomBytes(1)[0]! % 250)}`;
    const emails = [1, 2, 3].map((n) => `lambda-${n}-${randomBytes(6).toString("hex")}@example.org`);
    const results = await invoke(
      emails.map((email, n) =>
        functionUrlEvent("POST", "/api/jobs", {
          // The function URL is public: anyone can send these, with a new address each time.
          headers: { "cloudfront-viewer-address": `203.0.113.${n + 1}:443`, "x-forwarded-for": `192.0.2.${n + 1}` },
          sourceIp,
          body: { email, files: [{ name: "a.jpg", size: 10, type: "image/jpeg" }] },
        }),
      ),
      { RATE_LIMIT_PER_HOUR: "2" },
    );
    try {
      assert.deepEqual(
        results.map((result) => result.statusCode),
        [201, 201, 429],
        results.map((result) => result.body).join("\n"),
      );
      assert.equal((JSON.parse(results[2]!.body) as { error: { code: string } }).error.code, "rate_limited");
    } finally {
      for (const result of results.filter((r) => r.statusCode === 201)) {
        const { jobId } = JSON.parse(result.body) as { jobId: string };
        await redis.del(redisKeys.job(jobId), redisKeys.files(jobId));
      }
      await deleteRateKeys([sourceIp, ...emails, ...[1, 2, 3].flatMap((n) => [`203.0.113.${n}`, `192.0.2.${n}`])]);
    }
  });

  async function deleteRateKeys(subjects: string[]): Promise<void> {
    for (const subject of subjects) {
      const keys = await redis.keys(`trapline:rate:*{${subject}}*`);
      if (keys.length > 0) await redis.del(...keys);
    }
  }
});
