// What the browser tests share: Chromium (test/helpers/chromium.ts) driven by playwright-core, `npm start`'s entry
// (`node functions/local.ts`) as a child process on a free port, and the jobs they made removed
// from Redis afterwards (npm start keeps jobs under the real key names).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import type { Browser, Page } from "playwright-core";
import { redisKeys } from "../../core/keys.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { buildWeb } from "../../web/build.ts";

export const ROOT = join(import.meta.dirname, "..", "..");
/** Screenshots for a person to look at (git-ignored). */
export const ARTIFACTS = join(ROOT, "test-artifacts");
export const MiB = 1024 * 1024;
/** Small multipart settings: a 7 MiB photo goes up as two parts (S3's minimum part is 5 MiB). */
export const UPLOAD_ENV = { MULTIPART_THRESHOLD_BYTES: String(6 * MiB), PART_BYTES: String(5 * MiB) };
export const EMAIL = "ranger@fieldstation.org";
/** Longest wait for `npm start` to say it is running. */
const START_TIMEOUT_MS = 30_000;

/** Builds the page, then starts the Chromium test/helpers/chromium.ts chooses. */
export async function launchBrowser(): Promise<Browser> {
  await buildWeb("");
  await mkdir(ARTIFACTS, { recursive: true });
  return launchChromium();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `node functions/local.ts` (what `npm start` runs) with `env` added, resolved once it says where the page is. */
export async function startNpmStart(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, "functions", "local.ts")], {
    cwd: ROOT,
    // npm start keeps its rate-limit counters under the real key names in the machine's shared
    // Redis, where every run (and every engineer's) from 127.0.0.1 adds to the same hour.
    env: { ...process.env, ...UPLOAD_ENV, PROVIDER: "cpu", RATE_LIMIT_PER_HOUR: "100000", ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
  };
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not come up in ${START_TIMEOUT_MS / 1000} s:\n${output}`)), START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Trapline is running/.test(output)) {
        clearTimeout(timer);
        resolve({ child, url: `http://127.0.0.1:${port}`, stop });
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

export async function newPage(browser: Browser, viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  return context.newPage();
}

/** Job ids the page moved to; removeJobs() deletes their records. */
export const jobIds: string[] = [];

export async function jobIdOf(page: Page): Promise<string> {
  // Page-side code as a string: this file is type-checked as Node code, without DOM globals.
  await page.waitForFunction("/^#\\/jobs\\/[A-Za-z0-9_-]{22}$/.test(location.hash)", undefined, { timeout: 30_000 });
  const jobId = new URL(page.url()).hash.split("/").pop()!;
  jobIds.push(jobId);
  return jobId;
}

/** Removes exactly the jobs this process's tests made under the real key names. */
export async function removeJobs(): Promise<void> {
  const redis = new Redis(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
  for (const id of jobIds.splice(0)) await redis.del(redisKeys.job(id), redisKeys.files(id)).then(() => redis.zrem(redisKeys.queue(), id));
  redis.disconnect();
}
