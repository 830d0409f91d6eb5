// The choice of photos in the results zip, in real Chromium against the local stack (no worker):
// each choice shows its download for the files picked, the choice travels with the new job, and it
// cannot change while the upload runs. A screenshot lands in test-artifacts/ for a person.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { loadConfig } from "../../core/config.ts";
import { startLocalStack, type LocalStack } from "../../devstack/stack.ts";
import { noiseJpeg } from "../e2e/photos.ts";
import { deleteKeysWithPrefix } from "../helpers/redis.ts";
import { ARTIFACTS, EMAIL, launchBrowser, MiB, newPage, routeUploads, UPLOAD_ENV } from "./harness.ts";

let browser: Browser;
let stack: LocalStack;
let work: string;
const redisKeyPrefix = `test:${randomBytes(6).toString("hex")}:`;

before(async () => {
  browser = await launchBrowser();
  work = await mkdtemp(join(tmpdir(), "trapline-images-"));
  const config = loadConfig({ ...UPLOAD_ENV, TRAPLINE_DATA_DIR: join(work, "stack-data") });
  stack = await startLocalStack({ config, port: 0, worker: false, fetchModel: false, redisKeyPrefix, log: () => {} });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await deleteKeysWithPrefix(redisKeyPrefix);
  if (work) await rm(work, { recursive: true, force: true });
});

test("each choice shows its download for the files picked; the one chosen is the new job's option, fixed while uploading", async () => {
  const files: string[] = [];
  for (const name of ["IMG_0001.JPG", "IMG_0002.JPG"]) {
    const file = join(work, name);
    await writeFile(file, noiseJpeg(3 * MiB));
    files.push(file);
  }
  const page = await newPage(browser, { width: 1100, height: 1000 });
  // Storage answers slowly, so the upload is still running when the lock is checked.
  await routeUploads(page, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await route.continue().catch(() => {});
  });
  await page.goto(stack.url);
  const boxed = page.getByLabel("Photos where something was found, with boxes drawn");
  assert.equal(await boxed.isChecked(), true, "boxed copies of detections by default");
  assert.equal(await page.locator(".choice-size").first().textContent(), "", "no size before anything is picked");
  const blur = page.getByLabel("Blur people in the returned photos");
  const dropGps = page.getByLabel("Remove the GPS position from the returned photos");
  assert.equal(await blur.isChecked(), false, "people are not blurred unless asked");
  assert.equal(await dropGps.isChecked(), false, "GPS is kept unless asked");

  await page.getByLabel("Your email").fill(EMAIL);
  await page.locator("#pick-files").setInputFiles(files);
  await page.getByText("2 files · 6.3 MB").waitFor();
  // 6.3 MB picked: every photo about that again, a quarter of it, or the reports alone.
  assert.match((await page.locator("#images-all-size").textContent()) ?? "", /^Download: about 6\.4 MB, as much as you upload\.$/);
  assert.match((await page.locator("#images-detections-size").textContent()) ?? "", /^Download: about 1\.7 MB, usually far less than you upload: most camera-trap photos are empty .* about 25 % of them\.$/);
  assert.match((await page.locator("#images-none-size").textContent()) ?? "", /^Download: about 100 KB\.$/);
  await page.screenshot({ path: join(ARTIFACTS, "upload-images-choice.png"), fullPage: true });

  await page.getByLabel("Every photo, with boxes where something was found").check();
  await blur.check();
  await dropGps.check();
  await page.screenshot({ path: join(ARTIFACTS, "upload-privacy-choice.png"), fullPage: true });
  const created = page.waitForRequest((request) => request.url().endsWith("/api/jobs") && request.method() === "POST");
  await page.getByRole("button", { name: "Upload and start" }).click();
  const body = (await created).postDataJSON() as { options?: { images?: string } };
  assert.deepEqual(body.options, { images: "all", blurPeople: true, dropGps: true });
  await page.waitForFunction('document.querySelector("fieldset.images-choice").disabled === true');
  assert.equal(await page.getByLabel("No photos: only the spreadsheet and detection files").isDisabled(), true);
  assert.equal(await blur.isDisabled(), true, "the privacy choice is fixed while uploading too");

  const response = await (await created).response();
  const { jobId } = (await response!.json()) as { jobId: string };
  assert.deepEqual((await stack.store.get(jobId))?.options, { images: "all", blurPeople: true, dropGps: true }, "the API kept the choices for the worker");
  await page.context().close();
});
