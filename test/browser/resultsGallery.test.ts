// Results you can see (issue 13), in real Chromium against the local stack in this process: a
// finished job with animals, people, empties (some in the blank check), bursts, an undated photo
// and two cameras with GPS. Its previews are real (makePreview on generated photos) and its index
// and zip are written by the merge's own code (writeBrowseOutputs). The page's gallery is
// filtered (the filters land in the link and survive a reload), opened large and stepped with
// the arrow keys; the blank check, the map's markers and the chart's bars are checked; then the
// zip's report.html is opened from an unzipped folder with the network off.
// Screenshots at desktop and phone sizes land in test-artifacts/ for a person to look at.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { finished } from "node:stream/promises";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import sharp from "sharp";
import type { Browser } from "playwright-core";
import { loadConfig } from "../../core/config.ts";
import type { JobRecord } from "../../core/jobs.ts";
import { previewKey, resultKey } from "../../core/keys.ts";
import { startLocalStack, type LocalStack } from "../../devstack/stack.ts";
import { makePreview, previewName } from "../../gpu-worker/pipeline/outputs/preview.ts";
import { ResultsZip } from "../../gpu-worker/pipeline/outputs/resultsZip.ts";
import type { ImageResult, RunInfo } from "../../gpu-worker/pipeline/types.ts";
import { writeBrowseOutputs } from "../../gpu-worker/worker/shards/browseOutputs.ts";
import { readZip } from "../helpers/readZip.ts";
import { ARTIFACTS, launchBrowser, newPage, UPLOAD_ENV } from "./harness.ts";
import { sampleRun } from "../helpers/sampleRun.ts";

let browser: Browser;
let stack: LocalStack;
let work: string;
let jobId: string;
let unzipped: string;
const results: ImageResult[] = [];
const run: RunInfo = sampleRun({ startedAt: new Date(), completedAt: new Date() });
const GPS: Record<string, { latitude: number; longitude: number }> = { cam1: { latitude: -2.331, longitude: -61.502 }, cam2: { latitude: -2.352, longitude: -61.47 } };

/** A 1600x1200 photo: green-grey ground with a coloured block where the "animal" or "person" stands. */
async function scene(seed: number, target?: { color: { r: number; g: number; b: number }; bbox: [number, number, number, number] }): Promise<Buffer> {
  const base = sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: 70 + (seed % 5) * 8, g: 90 + (seed % 3) * 10, b: 60 } } });
  const composite = target
    ? [{ input: await sharp({ create: { width: Math.round(target.bbox[2] * 1600), height: Math.round(target.bbox[3] * 1200), channels: 3, background: target.color } }).png().toBuffer(), left: Math.round(target.bbox[0] * 1600), top: Math.round(target.bbox[1] * 1200) }]
    : [];
  return base.composite(composite).jpeg({ quality: 85 }).toBuffer();
}

function wall(day: number, hour: number, minute: number, second = 0) {
  const wallClock = new Date(Date.UTC(2024, 4, day, hour, minute, second));
  return { text: wallClock.toISOString().slice(0, 19).replace("T", " ").replaceAll("-", ":"), wallClock };
}

before(async () => {
  browser = await launchBrowser();
  work = await mkdtemp(join(tmpdir(), "trapline-gallery-"));
  const config = loadConfig({ ...UPLOAD_ENV, TRAPLINE_DATA_DIR: join(work, "stack-data") });
  stack = await startLocalStack({ config, port: 0, worker: false, fetchModel: false, redisKeyPrefix: `test:${randomBytes(6).toString("hex")}:`, log: () => {} });
  jobId = randomBytes(16).toString("base64url");

  // cam1: a night burst of 3 animal frames, and a person by day; cam2: animals at dawn and dusk and
  // a vehicle-free empty stretch; cam3 (no GPS): one undated animal and empties.
  const plan: { path: string; kind: "animal" | "person" | "empty"; time?: ReturnType<typeof wall>; conf?: number; sampled?: boolean }[] = [
    { path: "cam1/IMG_0001.JPG", kind: "animal", time: wall(1, 2, 14, 0), conf: 0.93 },
    { path: "cam1/IMG_0002.JPG", kind: "animal", time: wall(1, 2, 14, 2), conf: 0.88 },
    { path: "cam1/IMG_0003.JPG", kind: "animal", time: wall(1, 2, 14, 4), conf: 0.61 },
    { path: "cam1/IMG_0004.JPG", kind: "person", time: wall(1, 13, 5), conf: 0.97 },
    { path: "cam1/IMG_0005.JPG", kind: "empty", time: wall(1, 15, 0), sampled: true },
    { path: "cam2/IMG_0001.JPG", kind: "animal", time: wall(2, 5, 40), conf: 0.45 },
    { path: "cam2/IMG_0002.JPG", kind: "animal", time: wall(2, 19, 10), conf: 0.72 },
    { path: "cam2/IMG_0003.JPG", kind: "empty", time: wall(2, 12, 0), sampled: true },
    { path: "cam2/IMG_0004.JPG", kind: "empty", time: wall(2, 12, 30) },
    { path: "cam3/IMG_0001.JPG", kind: "animal", conf: 0.55 },
    { path: "cam3/IMG_0002.JPG", kind: "empty", time: wall(3, 9, 0), sampled: true },
    { path: "cam3/IMG_0003.JPG", kind: "empty", time: wall(3, 9, 30) },
  ];
  for (const [i, p] of plan.entries()) {
    const bbox: [number, number, number, number] = [0.3, 0.35, 0.3, 0.35];
    const target = p.kind === "empty" ? undefined : { color: p.kind === "animal" ? { r: 120, g: 80, b: 40 } : { r: 40, g: 60, b: 150 }, bbox };
    const bytes = await scene(i, target);
    const detections = p.kind === "empty" ? [] : [{ category: p.kind === "animal" ? "1" : "2", conf: p.conf!, bbox }];
    const camera = p.path.split("/")[0]!;
    const result: ImageResult = {
      path: p.path,
      status: "ok",
      warnings: [],
      detections,
      metadata: { width: 1600, height: 1200, ...(p.time ? { dateTimeOriginal: p.time } : {}), ...(GPS[camera] ?? {}) },
      fileSize: bytes.length,
      format: "jpeg",
      ...(p.sampled ? { blankSample: true as const } : {}),
    };
    if (p.kind !== "empty" || p.sampled) {
      result.preview = previewName(p.path);
      await stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.config.BUCKET, Key: previewKey(jobId, result.preview), Body: await makePreview(bytes, detections, { threshold: 0.2, categories: run.categories }), ContentType: "image/jpeg" }));
    }
    results.push(result);
  }
  // A photo whose preview could not be made: its card says why.
  results.push({ path: "cam3/IMG_0004.JPG", status: "ok", warnings: [], detections: [{ category: "1", conf: 0.33, bbox: [0.1, 0.1, 0.2, 0.2] }], metadata: { dateTimeOriginal: wall(3, 22, 0) }, fileSize: 10, format: "jpeg", previewError: "the preview could not be made (VipsJpeg: premature end of JPEG image)" });

  const zipPath = join(work, "result.zip");
  const out = createWriteStream(zipPath);
  const zip = new ResultsZip(out);
  await writeBrowseOutputs({ s3: stack.clients.s3, bucket: stack.config.BUCKET, jobId, zip, images: () => results, run, scratchDir: work });
  await zip.finish();
  await finished(out);
  const zipBytes = await readFile(zipPath);
  await stack.clients.s3.send(new PutObjectCommand({ Bucket: stack.config.BUCKET, Key: resultKey(jobId), Body: zipBytes }));
  unzipped = join(work, "unzipped");
  for (const [name, bytes] of await readZip(zipPath)) {
    await mkdir(dirname(join(unzipped, name)), { recursive: true });
    await writeFile(join(unzipped, name), bytes);
  }
  const now = new Date().toISOString();
  const job: JobRecord = {
    id: jobId,
    email: "ranger@example.org",
    status: "done",
    createdAt: now,
    updatedAt: now,
    finishedAt: now,
    fileCount: results.length,
    totalBytes: 0,
    options: {},
    progress: { processed: results.length, total: results.length },
    attempts: 1,
    result: { key: resultKey(jobId), bytes: zipBytes.length, images: results.length, failed: 0, imagesPerSecond: 1 },
  };
  await stack.store.create(job);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test("the job page shows what the cameras caught: counts, gallery with filters in the link, larger view, blank check, map and chart", async () => {
  const page = await newPage(browser, { width: 1200, height: 900 });
  await page.goto(`${stack.url}/#/jobs/${jobId}`);
  await page.locator("#gallery-grid li").first().waitFor();
  const counts = (await page.locator(".result-counts").textContent()) ?? "";
  assert.match(counts, /animal: 7/);
  assert.match(counts, /person: 1/);
  assert.match(counts, /empty: 5/);
  // 8 photos with a detection: 7 previews and one card that says why it has none.
  assert.equal(await page.locator("#gallery-grid li").count(), 8);
  assert.equal(await page.locator("#gallery-grid img").count(), 7);
  await page.getByText("premature end of JPEG image").waitFor();
  await page.waitForFunction("[...document.querySelectorAll('#gallery-grid img')].every((img) => img.complete && img.naturalWidth === 800)");
  // Time order: the night burst first, the undated photo last.
  // Page-side code as strings: this file is type-checked as Node code, without DOM globals.
  const labels = await page.evaluate<string[]>("[...document.querySelectorAll('#gallery-grid .gallery-card')].map((card) => card.getAttribute('aria-label') ?? '')");
  assert.match(labels[0]!, /^cam1\/IMG_0001\.JPG: animal 93 %, 2024-05-01 02:14:00$/);
  assert.match(labels.at(-1)!, /cam3\/IMG_0001\.JPG: animal 55 %, no date/);
  assert.match((await page.locator("#gallery-grid .gallery-caption").first().textContent()) ?? "", /3 frames/);
  // Map: the two cameras with GPS; chart: a bar per (category, hour) with photos.
  assert.deepEqual(await page.evaluate("[...document.querySelectorAll('#camera-map .marker')].map((m) => m.getAttribute('data-camera'))"), ["cam1", "cam2"]);
  assert.match((await page.locator("#camera-map .marker").first().getAttribute("aria-label")) ?? "", /cam1: 5 photos, animal 3, person 1/);
  assert.equal(await page.locator("#activity-chart rect.activity-bar").count(), 5, "animal at 2, 5, 19, 22 h; person at 13 h");
  assert.match((await page.locator("#activity-chart").textContent()) ?? "", /1 photo without a date not shown/);
  await page.screenshot({ path: join(ARTIFACTS, "results-desktop.png"), fullPage: true });

  // Filter: people only, by keyboard. The link says so; a reload keeps it.
  await page.getByLabel("Category", { exact: true }).selectOption("2");
  await page.waitForFunction("document.querySelectorAll('#gallery-grid li').length === 1");
  assert.match(page.url(), /#\/jobs\/[A-Za-z0-9_-]{22}\?category=2$/);
  await page.getByLabel("Category", { exact: true }).selectOption("1");
  await page.getByLabel("Confidence", { exact: true }).selectOption("0.8");
  await page.getByLabel("Order", { exact: true }).selectOption("confidence");
  await page.waitForFunction("document.querySelectorAll('#gallery-grid li').length === 2");
  assert.match(page.url(), /\?category=1&minConf=0\.8&sort=confidence$/);
  await page.reload();
  await page.waitForFunction("document.querySelectorAll('#gallery-grid li').length === 2");
  assert.equal(await page.getByLabel("Category", { exact: true }).inputValue(), "1");
  assert.equal(await page.getByLabel("Confidence", { exact: true }).inputValue(), "0.8");

  // The larger view: opened by keyboard, stepped with the arrows, closed with Escape.
  await page.locator("#gallery-grid .gallery-card").first().focus();
  await page.keyboard.press("Enter");
  await page.locator("#viewer[open]").waitFor();
  assert.match((await page.locator("#viewer-title").textContent()) ?? "", /^1 of 2: cam1\/IMG_0001\.JPG$/);
  assert.match((await page.locator("#viewer-details").textContent()) ?? "", /2024-05-01 02:14:00 · camera cam1 · event .+ \(3 frames\)animal: 93 %/);
  await page.waitForFunction("document.getElementById('viewer-image').naturalWidth === 800");
  await page.screenshot({ path: join(ARTIFACTS, "results-viewer.png") });
  await page.keyboard.press("ArrowRight");
  assert.match((await page.locator("#viewer-title").textContent()) ?? "", /^2 of 2: cam1\/IMG_0002\.JPG$/);
  await page.keyboard.press("ArrowRight");
  assert.match((await page.locator("#viewer-title").textContent()) ?? "", /^1 of 2/);
  await page.keyboard.press("ArrowLeft");
  assert.match((await page.locator("#viewer-title").textContent()) ?? "", /^2 of 2/);
  await page.keyboard.press("Escape");
  await page.locator("#viewer[open]").waitFor({ state: "detached" });

  // A burst opened from the larger view: its frames alone (event= in the link), then all photos again.
  await page.locator("#gallery-grid .gallery-card").first().click();
  await page.getByRole("button", { name: "Show this burst's frames (3 in all)" }).click();
  await page.locator("#event-note", { hasText: "Showing the frames of one burst" }).waitFor();
  assert.match(page.url(), /[?&]event=/);
  await page.waitForFunction("document.querySelectorAll('#gallery-grid li').length >= 1 && document.querySelectorAll('#gallery-grid li').length <= 3");
  await page.getByRole("button", { name: "Show all photos" }).click();
  await page.waitForFunction("document.querySelectorAll('#gallery-grid li').length === 2 && document.getElementById('event-note').hidden");
  assert.doesNotMatch(page.url(), /[?&]event=/);

  // The blank check: the sampled empties, the threshold named.
  await page.getByRole("tab", { name: /Blank check \(3\)/ }).click();
  await page.waitForFunction("document.querySelectorAll('#gallery-grid li').length === 3");
  assert.match((await page.locator("#blank-note").textContent()) ?? "", /no box reached 20 %.*lower one/);
  assert.match(page.url(), /tab=blank/);
  await page.screenshot({ path: join(ARTIFACTS, "results-blank-check.png"), fullPage: true });

  // Phone width: no sideways scrolling, two cards a row.
  const phone = await newPage(browser, { width: 390, height: 844 });
  await phone.goto(`${stack.url}/#/jobs/${jobId}`);
  await phone.locator("#gallery-grid li").first().waitFor();
  assert.equal(await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), true, "fits the phone's width");
  await phone.screenshot({ path: join(ARTIFACTS, "results-phone.png"), fullPage: true });
  await phone.context().close();
  await page.context().close();
});

test("report.html from the unzipped results opens with the network off: its images load and its numbers are the summary's", async () => {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, offline: true });
  const requests: string[] = [];
  context.on("request", (request) => requests.push(request.url()));
  const page = await context.newPage();
  await page.goto(`file://${join(unzipped, "report.html")}`);
  await page.locator("#gallery li").first().waitFor();
  assert.equal(await page.locator("#gallery li").count(), 8);
  await page.waitForFunction("[...document.querySelectorAll('#gallery img')].length === 7 && [...document.querySelectorAll('#gallery img')].every((img) => img.complete && img.naturalWidth === 800)");
  const counts = (await page.locator("#counts").textContent()) ?? "";
  assert.match(counts, /animal: 7/);
  assert.match(counts, /person: 1/);
  assert.match(counts, /empty: 5/);
  assert.equal(await page.locator(".camera-map .marker").count(), 2);
  assert.equal(await page.locator(".activity-chart rect.activity-bar").count(), 5);
  await page.locator("#f-category").selectOption("2");
  assert.equal(await page.locator("#gallery li").count(), 1);
  await page.locator("#gallery button").first().click();
  await page.locator("#viewer[open]").waitFor();
  await page.keyboard.press("Escape");
  await page.locator("#tab-blank").click();
  assert.equal(await page.locator("#gallery li").count(), 3);
  assert.ok(requests.every((url) => url.startsWith("file://")), `only local files: ${requests.filter((u) => !u.startsWith("file://")).join(", ")}`);
  await page.screenshot({ path: join(ARTIFACTS, "report-html.png"), fullPage: true });
  await context.close();
});
