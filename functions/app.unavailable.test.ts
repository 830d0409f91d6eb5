// When Redis (or S3/SQS) is away the API answers 503 with the error shape, quickly, and recovers
// by itself when it comes back. A private redis-server is stopped and started here; the
// machine's shared one is never touched.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { JobStore, createRedis } from "../core/jobStore.ts";
import { createAwsClients } from "../core/aws.ts";
import { startApiServer } from "./node.ts";
import type { ApiServer } from "./node.ts";
import { startLocalAws, TEST_CREDENTIALS } from "../test/helpers/localAws.ts";
import type { LocalAws } from "../test/helpers/localAws.ts";
import type { ApiBody } from "../test/helpers/apiHarness.ts";
import type { RedisClient } from "../core/jobStore.ts";

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  for (let i = 0; i < 100 && !output.includes("Ready to accept connections"); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!output.includes("Ready to accept connections")) throw new Error(`redis-server did not start:\n${output}`);
  return child;
}

async function stopRedisServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGKILL");
  await exited;
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

async function get(url: string, init?: RequestInit) {
  const response = await fetch(url, init);
  return { status: response.status, json: (await response.json()) as ApiBody, retryAfter: response.headers.get("retry-after") };
}

describe("Redis down and back", () => {
  let aws: LocalAws;
  let port: number;
  let redisServer: ChildProcess;
  let redis: RedisClient;
  let api: ApiServer;
  const logged: string[] = [];

  before(async () => {
    aws = await startLocalAws();
    port = await freePort();
    redisServer = await startRedisServer(port);
    redis = createRedis({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_CLUSTER: false }, { log: () => {} });
    api = await startApiServer({ config: aws.config, store: new JobStore(redis, { retentionDays: 1 }), aws: aws.clients, log: (line) => logged.push(line) }, 0);
  });
  after(async () => {
    await api.close();
    redis.disconnect();
    await stopRedisServer(redisServer);
    await aws.stop();
  });

  test("503 with code unavailable, fast, while Redis is down; back to normal when it returns", async () => {
    const body = JSON.stringify({ email: "ranger@example.org", files: [{ name: "a.jpg", size: 3 }] });
    const post = () => get(`${api.url}/api/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body });
    assert.equal((await post()).status, 201);

    await stopRedisServer(redisServer);
    for (const request of [post, () => get(`${api.url}/api/jobs/AAAAAAAAAAAAAAAAAAAAAA`), () => get(`${api.url}/api/jobs/AAAAAAAAAAAAAAAAAAAAAA/submit`, { method: "POST" })]) {
      const { value, ms } = await timed(request);
      assert.equal(value.status, 503, JSON.stringify(value.json));
      assert.equal(value.json.error.code, "unavailable");
      assert.match(value.json.error.message, /try again/);
      assert.equal(value.retryAfter, "30");
      assert.ok(ms < 3_000, `answered in ${Math.round(ms)} ms`);
    }
    const health = await get(`${api.url}/healthz`);
    assert.equal(health.status, 503);
    assert.deepEqual(health.json, { ok: false, redis: "unreachable", s3: "ok", sqs: "ok" }, "no addresses or driver text for anyone to read");
    assert.ok(logged.some((line) => line.startsWith("Health check: Redis is unreachable (") && line.includes("unavailable")), logged.join("\n"));

    redisServer = await startRedisServer(port);
    let recovered = await post();
    for (let i = 0; i < 40 && recovered.status !== 201; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      recovered = await post();
    }
    assert.equal(recovered.status, 201);
    assert.equal((await get(`${api.url}/healthz`)).status, 200);
  });
});

describe("S3 and SQS unreachable", () => {
  test("healthz names them, and requests that need them get 503", async () => {
    // Port 1: only root may listen there and nothing does, so it refuses at once; a free port
    // picked now could be taken by another test file's server before this one connects.
    const closed = 1;
    const local = await startLocalAws();
    await local.stop(); // its config, with nothing listening at the endpoint any more
    const config = { ...local.config, AWS_ENDPOINT_URL: `http://127.0.0.1:${closed}`, QUEUE_URL: `http://127.0.0.1:${closed}/000000000000/q` };
    const clients = createAwsClients(config, { credentials: TEST_CREDENTIALS });
    const redis = createRedis({ REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379", REDIS_CLUSTER: false }, { keyPrefix: `test:unavailable:${process.pid}:` });
    const logged: string[] = [];
    const api = await startApiServer({ config, store: new JobStore(redis, { retentionDays: 1 }), aws: clients, log: (line) => logged.push(line) }, 0);
    try {
      const health = await get(`${api.url}/healthz`);
      assert.equal(health.status, 503);
      assert.deepEqual(health.json, { ok: false, redis: "ok", s3: "unreachable", sqs: "unreachable" });
      for (const name of ["S3", "SQS"]) {
        assert.ok(logged.some((line) => line.startsWith(`Health check: ${name} is unreachable`) && /ECONNREFUSED|127\.0\.0\.1/.test(line)), logged.join("\n"));
      }
      // A job whose record is gone is looked for in S3: unreachable S3 is a 503, not a 404 or a 500.
      const status = await get(`${api.url}/api/jobs/AAAAAAAAAAAAAAAAAAAAAA`);
      assert.equal(status.status, 503, JSON.stringify(status.json));
      assert.equal(status.json.error.code, "unavailable");
    } finally {
      await api.close();
      redis.disconnect();
    }
  });
});
