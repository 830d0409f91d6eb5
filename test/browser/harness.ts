// What the browser tests share: Chromium (test/helpers/chromium.ts) driven by playwright-core, and
// `npm start`'s entry (`node devstack/main.ts`) as a child process on a free port with its own
// redis-server and data folder, both removed when it stops.
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page, Request, Route } from "playwright-core";
import { spawnNpmStart } from "../e2e/stack.ts";
import { launchChromium } from "../helpers/chromium.ts";
import { freePort } from "../helpers/freePort.ts";
import { startRedisServer } from "../helpers/redisServer.ts";
import { buildWeb } from "../../web/build.ts";

export const ROOT = join(import.meta.dirname, "..", "..");
/** Screenshots for a person to look at (git-ignored). */
export const ARTIFACTS = join(ROOT, "test-artifacts");
export const MiB = 1024 * 1024;
/** Small multipart settings: a 7 MiB photo goes up as two parts (S3's minimum part is 5 MiB). */
export const UPLOAD_ENV = { MULTIPART_THRESHOLD_BYTES: String(6 * MiB), PART_BYTES: String(5 * MiB) };
export const EMAIL = "ranger@fieldstation.org";

/** Builds the page, then starts the Chromium test/helpers/chromium.ts chooses. */
export async function launchBrowser(): Promise<Browser> {
  await buildWeb("");
  await mkdir(ARTIFACTS, { recursive: true });
  return launchChromium();
}

/**
 * `node devstack/main.ts` (what `npm start` runs) with `env` added, on its own redis-server and data
 * folder (a stack claims its Redis for its folder, so it must not share a developer's), resolved
 * once it says where the page is.
 */
export async function startNpmStart(env: Record<string, string>): Promise<{ url: string; pid: number | undefined; stop: () => Promise<void> }> {
  const redis = await startRedisServer();
  const data = await mkdtemp(join(tmpdir(), "trapline-npm-start-"));
  try {
    const started = await spawnNpmStart({
      ...UPLOAD_ENV,
      PROVIDER: "cpu",
      ...env,
      PORT: String(await freePort()),
      REDIS_URL: redis.url,
      TRAPLINE_DATA_DIR: data,
    });
    const stop = async () => {
      await started.stop();
      await redis.dispose();
      await rm(data, { recursive: true, force: true });
    };
    return { url: started.url, pid: started.child.pid, stop };
  } catch (error) {
    await redis.dispose();
    await rm(data, { recursive: true, force: true });
    throw error;
  }
}

export async function newPage(browser: Browser, viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  return context.newPage();
}

export async function jobIdOf(page: Page): Promise<string> {
  // Page-side code as a string: this file is type-checked as Node code, without DOM globals.
  await page.waitForFunction("/^#\\/jobs\\/[A-Za-z0-9_-]{22}$/.test(location.hash)", undefined, { timeout: 30_000 });
  return new URL(page.url()).hash.split("/").pop()!;
}

/**
 * A request of the page that carries a file's bytes to storage: a presigned PUT (a file or a
 * part: its name in the job and part number come from the path) or a presigned form POST (the
 * page's single-request files). A form's name is not known: its key is a field of the body, and
 * Chromium shows tests no body of a request that holds a file from disk. Tests count forms and
 * ask the API which files storage holds.
 */
export type StorageUpload = { method: "PUT"; name: string; partNumber?: number } | { method: "POST" };

/** The upload a request is, if it is one. */
export function storageUpload(request: Request): StorageUpload | undefined {
  const url = new URL(request.url());
  if (request.method() === "PUT" && url.pathname.includes("/input/")) {
    const partNumber = url.searchParams.get("partNumber");
    return { method: "PUT", name: decodeURIComponent(url.pathname.split("/input/")[1]!), ...(partNumber ? { partNumber: Number(partNumber) } : {}) };
  }
  if (request.method() === "POST" && (request.headers()["content-type"] ?? "").startsWith("multipart/form-data")) return { method: "POST" };
  return undefined;
}

/** Sends the page's uploads to storage through `handler` (which may delay, refuse or hold them); other requests go on untouched. */
export async function routeUploads(page: Page, handler: (route: Route, upload: StorageUpload) => unknown): Promise<void> {
  await page.route(
    () => true,
    async (route) => {
      const upload = storageUpload(route.request());
      if (!upload) return route.fallback();
      await handler(route, upload);
    },
  );
}
