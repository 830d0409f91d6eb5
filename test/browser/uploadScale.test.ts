// The upload page at SD-card scale (issue 12), in real Chromium against the local stack in this
// process, with a worker and the tiny test model:
// - 5,000 generated photos (1-5 KB) picked as one folder; the page is reloaded once about half
//   are in storage; the job's link brings the upload view back with its email and asks for the
//   folder again; picked again, only the files storage lacks are sent (the API's missing listing
//   and the PUTs Chromium made agree), and the same job is processed to the end.
// - a folder picked again that differs from the job (files it lacks, one of another size, an
//   extra one) is told apart by name; the job waits until storage has every file.
// - a cut connection pauses the upload with a visible state and it resumes by itself; no file
//   or part in storage is sent twice.
// Screenshots land in test-artifacts/ for a person to look at.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Browser, Page } from "playwright-core";
import sharp from "sharp";
import { loadConfig } from "../../core/config.ts";
import { startLocalStack, type LocalStack } from "../../devstack/stack.ts";
import type { CreatedJob, FileListPage } from "../../functions/wire.ts";
import { noiseJpeg } from "../e2e/photos.ts";
import { writeTinyDetector } from "../helpers/tinyModels.ts";
import { ARTIFACTS, EMAIL, jobIdOf, launchBrowser, MiB, newPage, routeUploads, storageUpload, UPLOAD_ENV, type StorageUpload } from "./harness.ts";

const PHOTOS = 5_000;
/** Photos per camera folder of the generated card, as a Reconyx writes them. */
const PER_FOLDER = 1_000;
/** Sides of the generated photos: grey noise, 1.5 to 5 KB as JPEG. */
const SIDES = [48, 56, 64, 80, 96];
const FINISHED = /Results ready|No photos could be read/;

let browser: Browser;
let stack: LocalStack;
let work: string;

async function put(path: string, bytes: Buffer | string): Promise<string> {
  const file = join(work, path);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, bytes);
  return file;
}

/** Grey noise: a real photo to the worker, nothing for the tiny detector to find, little to compress. */
function greyNoise(side: number): Promise<Buffer> {
  return sharp({ create: { width: side, height: side, channels: 3, background: { r: 60, g: 60, b: 60 }, noise: { type: "gaussian", mean: 100, sigma: 40 } } })
    .greyscale()
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** Every name of the job's plan that storage does not hold, read through the API a page at a time. */
async function missingNames(jobId: string): Promise<Set<string>> {
  const names = new Set<string>();
  let cursor: string | undefined;
  do {
    const response = await fetch(`${stack.url}/api/jobs/${jobId}/files?missing=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    assert.equal(response.status, 200);
    const page = (await response.json()) as FileListPage;
    for (const file of page.files) names.add(file.name);
    cursor = page.cursor;
  } while (cursor);
  return names;
}

/** A job of `card/<name>` files of these sizes, made through the API as the page would (PUT plans), and a photo of each size. */
async function cardJob(sizes: Record<string, number>): Promise<{ created: CreatedJob; bytes: Record<string, Buffer> }> {
  const response = await fetch(`${stack.url}/api/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: EMAIL, files: Object.entries(sizes).map(([name, size]) => ({ name: `card/${name}`, size, type: "image/jpeg" })) }),
  });
  const created = (await response.json()) as CreatedJob;
  return { created, bytes: Object.fromEntries(Object.entries(sizes).map(([name, size]) => [name, noiseJpeg(size)])) };
}

/** The uploads the page starts. */
function recordUploads(page: Page): StorageUpload[] {
  const uploads: StorageUpload[] = [];
  page.on("request", (request) => {
    const upload = storageUpload(request);
    if (upload) uploads.push(upload);
  });
  return uploads;
}

/** The "N of M files" the total line shows, as a number. */
function filesDone(page: Page): Promise<number> {
  return page.evaluate<number>(`Number((/([\\d,]+) of [\\d,]+ files?/.exec(document.getElementById("total-detail").textContent) ?? [0, "0"])[1].replace(/,/g, ""))`);
}

before(async () => {
  browser = await launchBrowser();
  work = await mkdtemp(join(tmpdir(), "trapline-scale-"));
  const model = join(work, "tiny.onnx");
  await writeTinyDetector(model, { layout: "yolov5" });
  const config = loadConfig({ ...UPLOAD_ENV, MODEL: model, TRAPLINE_DATA_DIR: join(work, "stack-data") });
  stack = await startLocalStack({ config, port: 0, fetchModel: false, redisKeyPrefix: `test:${randomBytes(6).toString("hex")}:`, log: () => {} });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test("5,000 photos: reloaded halfway, the same folder picked again sends only what storage lacks, to the same job", async () => {
  const bodies = await Promise.all(SIDES.map(greyNoise));
  for (let index = 0; index < PHOTOS; index += 1) {
    await put(`SDcard01/DCIM/${100 + Math.floor(index / PER_FOLDER)}RECNX/IMG_${String(index).padStart(4, "0")}.JPG`, bodies[index % bodies.length]!);
  }
  const card = join(work, "SDcard01");
  const page = await newPage(browser, { width: 1100, height: 1000 });
  // Reloading mid-upload asks "Leave site?"; the person says yes.
  page.on("dialog", (dialog) => void dialog.accept());
  await page.goto(stack.url);
  await page.getByLabel("Your email").fill(EMAIL);
  await page.locator("#pick-folder").setInputFiles(card, { timeout: 120_000 });
  await page.getByText(`${PHOTOS.toLocaleString("en")} files · `, { exact: false }).waitFor();
  // No 5,000 rows: the first ones, "…and N more", and the counts per folder.
  assert.equal(await page.locator(".file-row").count(), 200);
  await page.getByText("…and 4,800 more files (counted in the totals and per folder below).").waitFor();
  assert.equal(await page.locator(".folder-row").count(), 5);
  await page.screenshot({ path: join(ARTIFACTS, "scale-1-picked.png"), fullPage: true });

  await page.getByRole("button", { name: "Upload and start" }).click();
  // The job's link is in the address bar from the moment the job exists.
  const jobId = await jobIdOf(page);
  await page.waitForFunction(`Number((/([\\d,]+) of 5,000 files/.exec(document.getElementById("total-detail").textContent) ?? [0, "0"])[1].replace(/,/g, "")) >= ${PHOTOS / 2}`, undefined, { timeout: 240_000, polling: 200 });
  await page.screenshot({ path: join(ARTIFACTS, "scale-2-halfway.png"), fullPage: true });

  await page.reload();
  await page.getByRole("heading", { name: "Finish uploading your job" }).waitFor({ timeout: 30_000 });
  assert.equal(new URL(page.url()).hash, `#/jobs/${jobId}`, "the same job");
  assert.equal(await page.getByRole("button", { name: "Send the missing files" }).isDisabled(), true, "nothing to send before the folder is picked");
  assert.equal(await page.getByLabel("Your email").inputValue(), EMAIL, "the email is kept");
  await page.screenshot({ path: join(ARTIFACTS, "scale-3-reloaded.png"), fullPage: true });
  const missing = await missingNames(jobId);
  assert.ok(missing.size > 0 && missing.size <= PHOTOS / 2, `${missing.size} files missing after the reload`);

  const uploads = recordUploads(page);
  await page.locator("#pick-folder").setInputFiles(card, { timeout: 120_000 });
  const stored = PHOTOS - missing.size;
  await page.locator("#upload-message", { hasText: "The pick matches the job." }).waitFor({ timeout: 60_000 });
  assert.equal(
    await page.locator("#upload-message").textContent(),
    `Storage holds ${stored.toLocaleString("en")} files of this pick already; ${missing.size.toLocaleString("en")} files will be sent. The pick matches the job.`,
  );
  assert.equal(await filesDone(page), stored);
  await page.screenshot({ path: join(ARTIFACTS, "scale-4-picked-again.png"), fullPage: true });

  await page.getByRole("button", { name: `Send the ${missing.size.toLocaleString("en")} missing files` }).click();
  await page.locator("#status-headline", { hasText: FINISHED }).waitFor({ timeout: 300_000 });
  assert.equal(new URL(page.url()).hash, `#/jobs/${jobId}`);
  // Only what storage lacked went again, each file once: as many uploads as files were missing, and now none is.
  assert.equal(uploads.length, missing.size, "one upload per missing file");
  assert.equal((await missingNames(jobId)).size, 0);
  assert.equal(await page.locator("#job-count").textContent(), "5,000 photos checked");
  await page.screenshot({ path: join(ARTIFACTS, "scale-5-done.png"), fullPage: true });
  await page.context().close();
});

test("a folder picked again that differs from the job says how, and the job waits until storage has every file", async () => {
  // A job of five files of which storage holds two, made through the API as the page would.
  const { created, bytes } = await cardJob({ "a.jpg": 2000, "b.jpg": 3000, "c.jpg": 4000, "d.jpg": 5000, "e.jpg": 6000 });
  for (const plan of created.uploads.slice(0, 2)) {
    if (plan.method !== "PUT") throw new Error("small files have PUT plans");
    assert.equal((await fetch(plan.url, { method: "PUT", headers: plan.headers, body: bytes[plan.name.slice("card/".length)] })).status, 200);
  }
  // The card as it is now: d and e gone, b rewritten at another size, f new.
  await put("differs/card/a.jpg", bytes["a.jpg"]!);
  await put("differs/card/b.jpg", noiseJpeg(3500));
  await put("differs/card/c.jpg", bytes["c.jpg"]!);
  await put("differs/card/f.jpg", noiseJpeg(1000));

  const page = await newPage(browser, { width: 1100, height: 1100 });
  await page.goto(`${stack.url}/#/jobs/${created.jobId}`);
  await page.getByRole("heading", { name: "Finish uploading your job" }).waitFor();
  // Another browser never knew the email: it says so instead of showing a wrong one.
  assert.equal(await page.getByLabel("Your email").inputValue(), "");
  await page.locator("#pick-folder").setInputFiles(join(work, "differs", "card"));
  await page.locator("#upload-message", { hasText: "This pick differs from the job:" }).waitFor();
  assert.deepEqual(await page.locator("#pick-report li").allTextContents(), [
    "2 files of the job are not in this pick and not in storage: “card/d.jpg”, “card/e.jpg”. Pick the folder that holds them too, or leave them out of the job (the button below); the job is submitted once storage has every file it holds.",
    "1 file has another size than in the job: “card/b.jpg” (3.5 KB here, 3.0 KB in the job). It is not sent.",
    "1 file in this pick is not part of the job: “card/f.jpg”. It is not sent.",
  ]);
  await page.screenshot({ path: join(ARTIFACTS, "repick-differs.png"), fullPage: true });

  const uploads = recordUploads(page);
  await page.getByRole("button", { name: "Send the 1 missing file" }).click();
  await page.locator("#upload-message", { hasText: "The job still lacks files that are not in it" }).waitFor({ timeout: 30_000 });
  // One upload, and c.jpg is in storage now: b (another size) and f (not in the job) were not sent.
  assert.equal(uploads.length, 1);
  assert.deepEqual(await missingNames(created.jobId), new Set(["card/d.jpg", "card/e.jpg"]));
  assert.equal(((await (await fetch(`${stack.url}/api/jobs/${created.jobId}`)).json()) as { status: string }).status, "uploading", "not submitted with files missing");

  // d and e are found and put back on the card: the same folder, picked again, finishes the job.
  await put("differs/card/d.jpg", bytes["d.jpg"]!);
  await put("differs/card/e.jpg", bytes["e.jpg"]!);
  await page.locator("#pick-folder").setInputFiles(join(work, "differs", "card"));
  await page.getByRole("button", { name: "Send the 2 missing files" }).click();
  await page.locator("#status-headline", { hasText: /In the queue|Finding|Results ready|No photos/ }).waitFor({ timeout: 30_000 });
  assert.equal(uploads.length, 3, "c, then d and e");
  assert.equal((await missingNames(created.jobId)).size, 0);
  await page.context().close();
});

test("files the card no longer has, or has only at another size, can be left out of the job, which is then sent and submitted with the rest", async () => {
  const { created, bytes } = await cardJob({ "a.jpg": 2000, "b.jpg": 3000, "c.jpg": 4000, "d.jpg": 5000 });
  const [first] = created.uploads;
  if (first?.method !== "PUT") throw new Error("small files have PUT plans");
  assert.equal((await fetch(first.url, { method: "PUT", headers: first.headers, body: bytes["a.jpg"] })).status, 200);
  // The card now: a and b as they were, c rewritten at another size, d gone for good.
  await put("leftout/card/a.jpg", bytes["a.jpg"]!);
  await put("leftout/card/b.jpg", bytes["b.jpg"]!);
  await put("leftout/card/c.jpg", noiseJpeg(4500));

  const page = await newPage(browser, { width: 1100, height: 1000 });
  await page.goto(`${stack.url}/#/jobs/${created.jobId}`);
  await page.getByRole("heading", { name: "Finish uploading your job" }).waitFor();
  await page.locator("#pick-folder").setInputFiles(join(work, "leftout", "card"));
  await page.locator("#upload-message", { hasText: "This pick differs from the job:" }).waitFor();
  await page.getByText("Storage lacks it at the job's size too: pick it as it was, or leave it out of the job (the button below).", { exact: false }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "repick-leave-out-1.png"), fullPage: true });
  await page.getByRole("button", { name: "Leave the 2 files out of the job" }).click();
  // Compared again: c (left out) is now simply not part of the job; nothing holds the job up.
  await page.locator("#pick-report li", { hasText: "1 file in this pick is not part of the job: “card/c.jpg”. It is not sent." }).waitFor({ timeout: 30_000 });
  assert.deepEqual(await page.locator("#pick-report li").allTextContents(), ["1 file in this pick is not part of the job: “card/c.jpg”. It is not sent."]);
  assert.equal(await page.getByRole("button", { name: /Leave the/ }).isHidden(), true);
  assert.match((await page.locator("#resume-text").textContent()) ?? "", /It holds 2 files \(5\.0 KB\)\./);
  await page.screenshot({ path: join(ARTIFACTS, "repick-leave-out-2.png"), fullPage: true });
  await page.getByRole("button", { name: "Send the 1 missing file" }).click();
  await page.locator("#status-headline", { hasText: /In the queue|Finding|Results ready|No photos/ }).waitFor({ timeout: 30_000 });
  const job = (await (await fetch(`${stack.url}/api/jobs/${created.jobId}`)).json()) as { fileCount: number; status: string };
  assert.equal(job.fileCount, 2, "a and b; c and d left out");
  assert.notEqual(job.status, "uploading");
  await page.context().close();
});

test("a cut connection pauses the upload, which resumes by itself; nothing in storage is sent twice", async () => {
  const files: string[] = [];
  for (let index = 0; index < 150; index += 1) files.push(await put(`cut/IMG_${String(index).padStart(4, "0")}.JPG`, noiseJpeg(20_000)));
  files.push(await put("cut/big.jpg", noiseJpeg(12 * MiB)));
  const page = await newPage(browser, { width: 1100, height: 900 });
  // Slow storage, so that the connection is cut mid-upload.
  await routeUploads(page, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 150));
    await route.continue().catch(() => {}); // cut meanwhile
  });
  // Uploads storage took, as the page saw them answered: forms counted, big.jpg's parts by number.
  let formsStored = 0;
  const partsStored: number[] = [];
  page.on("response", (reply) => {
    const upload = storageUpload(reply.request());
    if (!upload || !reply.ok()) return;
    if (upload.method === "POST") formsStored += 1;
    else partsStored.push(upload.partNumber ?? 0);
  });
  await page.goto(stack.url);
  await page.getByLabel("Your email").fill(EMAIL);
  await page.locator("#pick-files").setInputFiles(files);
  await page.getByRole("button", { name: "Upload and start" }).click();
  await page.waitForFunction(`/(\\b[3-9]\\d|\\b\\d{3}) of 151 files/.test(document.getElementById("total-detail").textContent)`, undefined, { timeout: 60_000 });

  await page.context().setOffline(true);
  await page.locator("#total-detail", { hasText: "Paused: no connection — resumes by itself" }).waitFor({ timeout: 20_000 });
  await page.locator("#upload-message", { hasText: /^Paused: no connection — resumes by itself\. \d+ of 151 files are in storage; none of them is sent again\.$/ }).waitFor();
  const atCut = await filesDone(page);
  await page.screenshot({ path: join(ARTIFACTS, "upload-paused-offline.png"), fullPage: true });
  await page.waitForTimeout(2_000);
  assert.equal(await filesDone(page), atCut, "nothing moves while offline");

  await page.context().setOffline(false);
  await page.locator("#status-headline", { hasText: /In the queue|Finding|Results ready|No photos/ }).waitFor({ timeout: 120_000 });
  const jobId = await jobIdOf(page);
  assert.equal((await missingNames(jobId)).size, 0);
  // 150 files and big.jpg's three parts (5 MiB parts), each stored exactly once: 150 forms
  // answered for 150 files that are all in storage, and parts 1, 2, 3 once each.
  assert.equal(formsStored, 150);
  assert.deepEqual(partsStored.sort(), [1, 2, 3]);
  await page.context().close();
});

test("an upload link storage refuses as expired is signed again and the file goes", async () => {
  const files = [await put("expired/IMG_0001.JPG", noiseJpeg(3_000)), await put("expired/IMG_0002.JPG", noiseJpeg(3_000))];
  const page = await newPage(browser, { width: 1100, height: 800 });
  let refused = 0;
  // The first link used has run out by then, as after a laptop slept (which file's is not
  // known here: a form's name is in its body, see storageUpload).
  await routeUploads(page, (route) => {
    if (refused > 0) return route.fallback();
    refused += 1;
    return route.fulfill({ status: 403, headers: { "access-control-allow-origin": "*" }, body: "<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>" });
  });
  const signs: string[] = [];
  page.on("request", (request) => {
    if (request.url().endsWith("/uploads/sign")) signs.push(request.postData() ?? "");
  });
  await page.goto(stack.url);
  await page.getByLabel("Your email").fill(EMAIL);
  await page.locator("#pick-files").setInputFiles(files);
  await page.getByRole("button", { name: "Upload and start" }).click();
  await page.locator("#status-headline", { hasText: /In the queue|Finding|Results ready|No photos/ }).waitFor({ timeout: 30_000 });
  const jobId = await jobIdOf(page);
  assert.equal(refused, 1);
  // That one file, and only it, was signed again.
  const resigned = signs.map((body) => (JSON.parse(body) as { names: string[] }).names);
  assert.equal(resigned.length, 1);
  assert.equal(resigned[0]!.length, 1);
  assert.ok(["IMG_0001.JPG", "IMG_0002.JPG"].includes(resigned[0]![0]!), resigned[0]![0]);
  assert.equal((await missingNames(jobId)).size, 0);
  await page.context().close();
});
