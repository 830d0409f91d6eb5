// The local stack (devstack/stack.ts) for end-to-end tests, and a client that does what the
// web page does: create a job, upload with the returned URLs, submit, poll, download.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../../core/config.ts";
import { startLocalStack, type LocalStack, type LocalStackOptions } from "../../devstack/stack.ts";
import { readZip } from "../helpers/readZip.ts";
import { deleteKeysWithPrefix, TEST_REDIS_URL } from "../helpers/redis.ts";

import { writeTinyDetector } from "../helpers/tinyModels.ts";

export const MiB = 1024 * 1024;

const ROOT = join(import.meta.dirname, "..", "..");

export interface TestStack extends LocalStack {
  dir: string;
  modelPath: string;
  lines: string[];
  /** Stops the stack, removes its Redis keys (shared Redis only) and its folder. */
  close(): Promise<void>;
}

/** Writes the tiny test detector into `dir`. */
export async function tinyModel(dir: string): Promise<string> {
  const modelPath = join(dir, "tiny.onnx");
  await writeTinyDetector(modelPath, { layout: "yolov5", inputSize: 64, dynamicSpatial: true, stride: 32 });
  return modelPath;
}

/**
 * The stack on a free port with the embedded emulator (its data folder inside `dir`) and the tiny model. On the shared Redis
 * every key goes under a random prefix; `env.REDIS_URL` points it at a private server instead.
 */
export async function startTestStack(env: Record<string, string> = {}, options: Partial<LocalStackOptions> = {}): Promise<TestStack> {
  const dir = await mkdtemp(join(tmpdir(), "trapline-e2e-"));
  const modelPath = await tinyModel(dir);
  const shared = env.REDIS_URL === undefined;
  const prefix = shared ? `test:${randomBytes(6).toString("hex")}:` : undefined;
  const config = loadConfig({
    REDIS_URL: TEST_REDIS_URL,
    MODEL: modelPath,
    PROVIDER: "cpu",
    BATCH_SIZE: "2",
    MAX_RECEIVES: "3",
    VISIBILITY_SECONDS: "30",
    TRAPLINE_DATA_DIR: join(dir, "data"),
    ...env,
  });
  const lines: string[] = [];
  const stack = await startLocalStack({
    config,
    port: 0,
    fetchModel: false,
    worker: { scratchDir: dir, pollSeconds: 1, retryDelaySeconds: () => 0, deadLetterCheckMs: 200, unavailableBackoffMs: 200 },
    log: (line) => lines.push(line),
    ...(prefix ? { redisKeyPrefix: prefix } : {}),
    ...options,
  });
  return {
    ...stack,
    dir,
    modelPath,
    lines,
    async close() {
      await stack.stop(5_000);
      if (prefix) await deleteKeysWithPrefix(prefix);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface NpmStart {
  child: ChildProcess;
  /** http://127.0.0.1:<PORT> */
  url: string;
  /** Everything it printed so far. */
  output(): string;
  /** Sends `signal` (SIGTERM unless told) and resolves with the exit code once it has exited. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `node devstack/main.ts` (what `npm start` runs after building the page) as a child process with
 * `env` over this process's environment (PORT required), resolved once it says the page is up.
 */
export async function spawnNpmStart(env: Record<string, string> & { PORT: string }, timeoutMs = 30_000): Promise<NpmStart> {
  const child = spawn(process.execPath, [join(ROOT, "devstack", "main.ts")], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const started: NpmStart = {
    child,
    url: `http://127.0.0.1:${env.PORT}`,
    output: () => output,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, "exit");
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`npm start did not come up in ${timeoutMs / 1000} s:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Trapline is running/.test(output)) {
        clearTimeout(timer);
        resolve(started);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code}:\n${output}`));
    });
  });
}

export interface UploadFile {
  name: string;
  bytes: Buffer;
  type?: string;
}

interface PlanEntry {
  name: string;
  method?: "PUT";
  url?: string;
  headers?: Record<string, string>;
  multipart?: { uploadId: string; partSize: number; parts: Array<{ partNumber: number; url: string }> };
}

export interface JobStatusView {
  jobId: string;
  status: string;
  progress: { processed: number; total: number };
  error: string | null;
  downloadUrl?: string;
  result: { images: number; failed: number; bytes: number } | null;
}

export async function api<T>(base: string, path: string, init: RequestInit = {}): Promise<{ status: number; json: T; headers: Headers }> {
  const response = await fetch(`${base}${path}`, { ...init, headers: { "content-type": "application/json", ...init.headers } });
  return { status: response.status, json: (await response.json()) as T, headers: response.headers };
}

/** What the page does: create the job, upload every file by its plan (PUT or multipart), submit. */
export async function submitJob(base: string, files: UploadFile[], options: { checkCors?: boolean } = {}): Promise<{ jobId: string; plan: PlanEntry[] }> {
  const origin = "http://localhost:3000";
  const checkCors = options.checkCors ?? true;
  const created = await api<{ jobId: string; uploads: PlanEntry[] }>(base, "/api/jobs", {
    method: "POST",
    body: JSON.stringify({ email: "ranger@example.org", files: files.map((file) => ({ name: file.name, size: file.bytes.length, type: file.type ?? "image/jpeg" })) }),
  });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  const { jobId, uploads } = created.json;
  for (const entry of uploads) {
    const file = files.find((candidate) => candidate.name === entry.name);
    assert.ok(file, `plan names a file we did not send: ${entry.name}`);
    if (entry.multipart) {
      const { uploadId, partSize, parts } = entry.multipart;
      const done: Array<{ PartNumber: number; ETag: string }> = [];
      for (const part of parts) {
        const body = bodyOf(file.bytes.subarray((part.partNumber - 1) * partSize, part.partNumber * partSize));
        const put: Response = await fetch(part.url, { method: "PUT", body, headers: { origin } });
        assert.equal(put.status, 200, await put.text());
        // A browser sees the ETag only when the bucket's CORS rule exposes it.
        if (checkCors) assert.match(put.headers.get("access-control-expose-headers") ?? "", /ETag/i);
        done.push({ PartNumber: part.partNumber, ETag: put.headers.get("etag")! });
      }
      const completed = await api(base, `/api/jobs/${jobId}/uploads/${encodeURIComponent(uploadId)}/complete`, { method: "POST", body: JSON.stringify({ parts: done }) });
      assert.equal(completed.status, 200, JSON.stringify(completed.json));
    } else {
      const put = await fetch(entry.url!, { method: "PUT", body: bodyOf(file.bytes), headers: { ...entry.headers, origin } });
      assert.equal(put.status, 200, await put.text());
      if (checkCors) assert.ok(put.headers.get("access-control-allow-origin"));
    }
  }
  const submitted = await api<JobStatusView>(base, `/api/jobs/${jobId}/submit`, { method: "POST" });
  assert.equal(submitted.status, 200, JSON.stringify(submitted.json));
  return { jobId, plan: uploads };
}

/** A Buffer as fetch's body type wants it (a copy on its own ArrayBuffer). */
function bodyOf(bytes: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

export async function waitForStatus(base: string, jobId: string, wanted: string, timeoutMs = 40_000): Promise<JobStatusView> {
  const deadline = Date.now() + timeoutMs;
  let last: JobStatusView | undefined;
  while (Date.now() < deadline) {
    const reply = await api<JobStatusView>(base, `/api/jobs/${jobId}`).catch(() => undefined);
    if (reply?.status === 200) {
      last = reply.json;
      if (last.status === wanted) return last;
      if (last.status === "failed" && wanted !== "failed") throw new Error(`job failed: ${last.error}`);
    }
    await sleep(100);
  }
  throw new Error(`job ${jobId} did not become ${wanted} in ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}


/** Downloads the presigned URL and reads the zip back. */
export async function downloadZip(url: string, dir: string): Promise<Map<string, Buffer>> {
  const response = await fetch(url);
  assert.equal(response.status, 200);
  const path = join(dir, `download-${randomBytes(4).toString("hex")}.zip`);
  await writeFile(path, Buffer.from(await response.arrayBuffer()));
  return readZip(path);
}
