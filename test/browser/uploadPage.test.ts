// The web page in real Chromium (Debian's chromium, driven by playwright-core) against the
// local stack. First `npm start`'s entry as a child process with a tiny ONNX model: a folder, a
// zip and a multipart-sized photo go straight to storage, the job runs on the real worker and
// the downloaded zip is read back. Then the stack in this process without a worker, so the test
// can hold a job in "processing" (progress bar, countdown) and make storage refuse an upload.
// Screenshots land in test-artifacts/ for a person to look at.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import yazl from "yazl";
import { loadConfig } from "../../core/config.ts";
import { startLocalStack, type LocalStack } from "../../devstack/stack.ts";
import { noiseJpeg, photo } from "../e2e/photos.ts";
import { deleteKeysWithPrefix } from "../helpers/redis.ts";
import { readZip } from "../helpers/readZip.ts";
import { writeTinyDetector } from "../helpers/tinyModels.ts";
import { ARTIFACTS, EMAIL, jobIdOf, launchBrowser, MiB, newPage, routeUploads, startNpmStart, UPLOAD_ENV } from "./harness.ts";

let browser: Browser;
let work: string;
let model: string;

function zipOf(entries: Record<string, Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, data] of Object.entries(entries)) zip.addBuffer(data, name);
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on("data", (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on("end", () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on("error", reject);
  });
}

before(async () => {
  browser = await launchBrowser();
  work = await mkdtemp(join(tmpdir(), "trapline-browser-"));
  model = join(work, "tiny.onnx");
  await writeTinyDetector(model, { layout: "yolov5" });
  await mkdir(join(work, "season", "cam1"), { recursive: true });
  await mkdir(join(work, "season", "cam2"), { recursive: true });
  await writeFile(join(work, "season", "cam1", "IMG_0001.JPG"), await photo({ left: 100, top: 100, width: 160, height: 120 }));
  await writeFile(join(work, "season", "cam2", "IMG_0001.JPG"), await photo());
  await writeFile(join(work, "season", ".DS_Store"), Buffer.from("junk"));
  await writeFile(join(work, "card.zip"), await zipOf({ "DCIM/100/IMG_0100.JPG": await photo(), "DCIM/100/IMG_0101.JPG": await photo() }));
  await writeFile(join(work, "big.jpg"), noiseJpeg(7 * MiB));
  await writeFile(join(work, "refused.jpg"), await photo());
});

after(async () => {
  await browser?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

test("npm start: a folder, a zip and a large photo are uploaded, processed and downloaded", async () => {
  const { url, stop } = await startNpmStart({ MODEL: model });
  try {
    const page = await newPage(browser, { width: 1100, height: 900 });
    await page.goto(url);

    // A bad email is caught while typing, and keeps the upload from starting.
    const email = page.getByLabel("Your email");
    await email.fill("ranger@field");
    await email.blur();
    await page.getByText("“field” is not a complete domain").waitFor();
    assert.equal(await email.getAttribute("aria-invalid"), "true");
    await email.fill(EMAIL);
    assert.equal(await page.locator("#email-error").textContent(), "");

    await page.locator("#pick-folder").setInputFiles(join(work, "season"));
    await page.locator("#pick-files").setInputFiles([join(work, "card.zip"), join(work, "big.jpg")]);
    await page.getByText("4 files · 7.3 MB").waitFor();
    await page.getByText("season/cam1/IMG_0001.JPG").waitFor();
    await page.getByText("season/cam2/IMG_0001.JPG").waitFor();
    await page.screenshot({ path: join(ARTIFACTS, "upload-page.png"), fullPage: true });

    await page.getByRole("button", { name: "Upload and start" }).click();
    await jobIdOf(page);
    const started = Date.now();
    await page.locator("#status-headline", { hasText: "Results ready" }).waitFor({ timeout: 45_000 });
    console.log(`upload to results: ${Date.now() - started} ms`);
    await page.getByText(/This link works until/).waitFor();
    // big.jpg is noise behind a JPEG header: it is in the zip, and counted as what it is.
    assert.equal(await page.locator("#job-count").textContent(), "4 photos checked · 1 unreadable");
    await page.screenshot({ path: join(ARTIFACTS, "job-done.png"), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download results (zip)" }).click()]);
    const saved = join(work, "results.zip");
    await download.saveAs(saved);
    const names = [...(await readZip(saved)).keys()];
    for (const expected of ["results.xlsx", "detections.json", "README.txt", "season/cam1/IMG_0001.JPG"]) {
      assert.ok(names.includes(expected), `${expected} missing from the results zip: ${names.join(", ")}`);
    }
    // The page's default choice: only the photo with something found comes back (boxed); the
    // blank ones, the zip's and the unreadable one are rows in the reports, not copies.
    assert.equal(names.filter((name) => /\.jpe?g$/i.test(name) && !name.startsWith("previews/")).length, 1, names.join(", "));
    await page.context().close();
  } finally {
    await stop();
  }
});

test("a job in progress shows its bar and countdown; a refused upload says so and a retry sends it", async () => {
  const config = loadConfig({ ...UPLOAD_ENV, MODEL: model, TRAPLINE_DATA_DIR: join(work, "stack-data") });
  const prefix = `test:${randomBytes(6).toString("hex")}:`;
  const stack: LocalStack = await startLocalStack({ config, port: 0, worker: false, fetchModel: false, redisKeyPrefix: prefix, log: () => {} });
  try {
    const page = await newPage(browser, { width: 390, height: 844 });
    let refuse = true;
    await routeUploads(page, (route, upload) =>
      // big.jpg goes in parts (PUTs): the one form upload is refused.jpg.
      refuse && upload.method === "POST"
        ? route.fulfill({ status: 403, headers: { "access-control-allow-origin": "*" }, body: "<Error><Code>AccessDenied</Code></Error>" })
        : route.fallback(),
    );
    await page.goto(stack.url);
    await page.getByLabel("Your email").fill(EMAIL);
    await page.locator("#pick-files").setInputFiles([join(work, "refused.jpg"), join(work, "big.jpg")]);
    await page.getByRole("button", { name: "Upload and start" }).click();
    await page.locator("#upload-message", { hasText: "1 file did not upload" }).waitFor({ timeout: 30_000 });
    await page.getByText(/Storage refused this file/).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, "upload-failed-phone.png"), fullPage: true });

    refuse = false;
    await page.getByRole("button", { name: "Retry failed files" }).click();
    const jobId = await jobIdOf(page);
    await page.locator("#status-headline", { hasText: "In the queue" }).waitFor();

    // The worker's part, played by the test: it starts the job and reports progress.
    await stack.store.recordRate(0.05);
    await stack.store.transition(jobId, ["queued"], "processing", { startedAt: new Date().toISOString(), progress: { processed: 1, total: 2 } });
    await page.locator("#job-count", { hasText: "1 of 2 files" }).waitFor({ timeout: 20_000 });
    const first = await page.locator("#job-eta").textContent();
    assert.match(first ?? "", /^About \d+ s left$/);
    await page.waitForFunction(`document.getElementById("job-eta")?.textContent !== ${JSON.stringify(first)}`, undefined, { timeout: 5_000 });
    assert.equal(await page.locator("#job-bar").getAttribute("aria-valuenow"), "50");
    await page.screenshot({ path: join(ARTIFACTS, "job-processing-phone.png"), fullPage: true });
    await page.context().close();
  } finally {
    await stack.stop();
    await deleteKeysWithPrefix(prefix);
  }
});
