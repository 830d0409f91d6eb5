// npm run bench:upload [-- --photos 2000 --photo-kb 126 --zip-mb 203 --memory-files 100000]
//
// The upload page in Chromium against `npm start` on loopback (worker idle, no model): how many
// MB/s many small files and one large file go at, and what a huge pick costs the page.
//
//   speed   a folder of --photos files of --photo-kb KB (2,000 × 126 KB = 253 MB, as a field
//           team's card) and one --zip-mb MB zip, each picked and sent as its own job; the time
//           runs from the first upload request to the last answer from storage, and from the click
//           to the job's submit (job creation and submit included). Then the same photos sent by a
//           bare loop (presigned forms, 6 at a time, no page code): the browser's own floor. Each
//           line splits the CPU per upload request between npm start and Chromium.
//   memory  a folder of --memory-files 1-byte files picked (0 to skip): the page's JS heap after
//           the pick and after 30 s of sending, its DOM size, and its longest task.
//
// Figures are printed, not asserted (DESIGN.md: speed is shown by benchmarks, not timed tests).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Browser, Page } from "playwright-core";
import { EMAIL, launchBrowser, startNpmStart, storageUpload } from "../test/browser/harness.ts";
import { treeCpuMs } from "./processCpu.ts";

const { values } = parseArgs({
  options: {
    photos: { type: "string", default: "2000" },
    "photo-kb": { type: "string", default: "126" },
    "zip-mb": { type: "string", default: "203" },
    "memory-files": { type: "string", default: "100000" },
  },
});
const PHOTOS = Number(values.photos);
const PHOTO_BYTES = Number(values["photo-kb"]) * 1000;
const ZIP_BYTES = Number(values["zip-mb"]) * 1000 * 1000;
const MEMORY_FILES = Number(values["memory-files"]);
/** Longest a bench job may take to upload before the bench gives up. */
const UPLOAD_TIMEOUT_MS = 15 * 60_000;
/** How long the memory case sends before its heap is measured. */
const MEMORY_SEND_MS = 30_000;

const MB = 1e6;

/** Files that compress as photos do not: random bytes (the page and storage do not look inside). */
function randomBytesOf(size: number): Buffer {
  const bytes = Buffer.allocUnsafe(size);
  for (let at = 0; at < size; at += 65_536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65_536)));
  return bytes;
}

async function newPage(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  page.on("dialog", (dialog) => void dialog.accept());
  await page.goto(url);
  await page.getByLabel("Your email").fill(EMAIL);
  return page;
}

/** Picks `what` (a folder or files), sends it, and times the transfer and the whole job. */
async function timeUpload(browser: Browser, url: string, serverPid: number | undefined, what: { folder?: string; files?: string[] }, bytes: number): Promise<string> {
  const page = await newPage(browser, url);
  let firstPut = 0;
  let lastAnswer = 0;
  let puts = 0;
  page.on("request", (request) => {
    if (storageUpload(request) !== undefined) {
      puts += 1;
      firstPut ||= Date.now();
    }
  });
  page.on("requestfinished", (request) => {
    if (storageUpload(request) !== undefined) lastAnswer = Date.now();
  });
  const picker = what.folder ? page.locator("#pick-folder") : page.locator("#pick-files");
  await picker.setInputFiles(what.folder ?? what.files ?? [], { timeout: 600_000 });
  const cpuBefore = cpuSplit(serverPid);
  const clicked = Date.now();
  await page.getByRole("button", { name: "Upload and start" }).click();
  await page.locator("#status-headline").filter({ hasText: /In the queue|Finding|Results/ }).waitFor({ timeout: UPLOAD_TIMEOUT_MS });
  const submitted = Date.now();
  const cpuAfter = cpuSplit(serverPid);
  await page.context().close();
  const perRequest = (key: "server" | "browser") =>
    cpuBefore && cpuAfter ? `${((cpuAfter[key] - cpuBefore[key]) / Math.max(1, puts)).toFixed(1)} ms` : "n/a (no /proc)";
  const transfer = (lastAnswer - firstPut) / 1000;
  const whole = (submitted - clicked) / 1000;
  return `${(bytes / MB).toFixed(0)} MB in ${puts} requests: ${(bytes / MB / transfer).toFixed(1)} MB/s over the transfer (${transfer.toFixed(1)} s), ${(bytes / MB / whole).toFixed(1)} MB/s click to submit (${whole.toFixed(1)} s); CPU per request: npm start ${perRequest("server")}, Chromium ${perRequest("browser")}`;
}

/**
 * The floor for a browser: the same folder sent by a bare loop in the same Chromium (presigned
 * forms from the API, 6 at a time, fetch, no page code), to tell the page's own cost from the
 * browser's and the server's.
 */
async function timeBareLoop(browser: Browser, url: string, serverPid: number | undefined, folder: string, bytes: number): Promise<string> {
  const page = await newPage(browser, url);
  // An input of its own: the page empties its pickers once it has read them.
  await page.evaluate(`document.body.append(Object.assign(document.createElement("input"), { type: "file", id: "bare", webkitdirectory: true }))`);
  await page.locator("#bare").setInputFiles(folder, { timeout: 600_000 });
  const names = await page.evaluate<string[]>(`Array.from(document.querySelector("#bare").files, (file) => file.webkitRelativePath)`);
  const jobId = ((await (await fetch(`${url}/api/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: EMAIL }) })).json()) as { jobId: string }).jobId;
  const plans: unknown[] = [];
  for (let at = 0; at < names.length; at += 1000) {
    const body = JSON.stringify({ singleUpload: "POST", files: names.slice(at, at + 1000).map((name) => ({ name, size: PHOTO_BYTES, type: "image/jpeg" })) });
    const answer = (await (await fetch(`${url}/api/jobs/${jobId}/files`, { method: "POST", headers: { "content-type": "application/json" }, body })).json()) as { uploads: unknown[] };
    plans.push(...answer.uploads);
  }
  const cpuBefore = cpuSplit(serverPid);
  const started = Date.now();
  // Page-side code as a string: this file is type-checked as Node code, without DOM globals.
  await page.evaluate(`(async (plans) => {
    const picked = document.querySelector("#bare").files;
    let next = 0;
    const send = async (plan, file) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(plan.fields)) form.append(name, value);
      form.append("file", file);
      const response = await fetch(plan.url, { method: "POST", body: form });
      if (!response.ok) throw new Error("storage answered " + response.status);
    };
    await Promise.all(Array.from({ length: 6 }, async () => { for (let i = next++; i < plans.length; i = next++) await send(plans[i], picked[i]); }));
  })(${JSON.stringify(plans)})`);
  const seconds = (Date.now() - started) / 1000;
  const cpuAfter = cpuSplit(serverPid);
  await page.context().close();
  const perRequest = (key: "server" | "browser") => (cpuBefore && cpuAfter ? `${((cpuAfter[key] - cpuBefore[key]) / names.length).toFixed(1)} ms` : "n/a (no /proc)");
  return `${(bytes / MB).toFixed(0)} MB in ${names.length} requests: ${(bytes / MB / seconds).toFixed(1)} MB/s (${seconds.toFixed(1)} s); CPU per request: npm start ${perRequest("server")}, Chromium ${perRequest("browser")}`;
}

/** CPU ms so far of npm start (API, emulator, worker) and of Chromium (every process the bench started but npm start). */
function cpuSplit(serverPid: number | undefined): { server: number; browser: number } | undefined {
  if (serverPid === undefined) return undefined;
  const server = treeCpuMs(serverPid);
  const browser = treeCpuMs(process.pid, [serverPid]);
  // The bench's own thread is idle while the page sends; its CPU is left out of Chromium's.
  const own = process.cpuUsage();
  return server === undefined || browser === undefined ? undefined : { server, browser: browser - (own.user + own.system) / 1000 };
}

/** Heap, DOM and longest task of a page holding `count` picked files, before and while sending. */
async function measureMemory(browser: Browser, url: string, folder: string, count: number): Promise<string[]> {
  const page = await newPage(browser, url);
  const cdp = await page.context().newCDPSession(page);
  const heapMb = async () => {
    await cdp.send("HeapProfiler.collectGarbage");
    const usage = (await cdp.send("Runtime.getHeapUsage")) as { usedSize: number };
    return (usage.usedSize / MB).toFixed(1);
  };
  // Page-side code as strings: this file is type-checked as Node code, without DOM globals.
  await page.evaluate(`window.longest = 0; new PerformanceObserver((list) => { for (const entry of list.getEntries()) window.longest = Math.max(window.longest, entry.duration); }).observe({ type: "longtask", buffered: true })`);
  const before = await heapMb();
  let at = Date.now();
  await page.locator("#pick-folder").setInputFiles(folder, { timeout: 600_000 });
  await page.getByText(`${count.toLocaleString("en")} files ·`, { exact: false }).waitFor({ timeout: 600_000 });
  const pickSeconds = ((Date.now() - at) / 1000).toFixed(1);
  const picked = await heapMb();
  const pickedDom = await page.evaluate("document.getElementsByTagName('*').length");
  const pickTask = await page.evaluate("window.longest");
  at = Date.now();
  await page.getByRole("button", { name: "Upload and start" }).click();
  await page.waitForTimeout(MEMORY_SEND_MS);
  const progress = await page.locator("#total-detail").textContent();
  const sending = await heapMb();
  const sendingDom = await page.evaluate("document.getElementsByTagName('*').length");
  const sendTask = await page.evaluate("window.longest");
  await page.getByRole("button", { name: "Cancel upload" }).click();
  await page.context().close();
  return [
    `empty page: JS heap ${before} MB`,
    `${count.toLocaleString("en")} files picked (${pickSeconds} s, Playwright's setInputFiles included): JS heap ${picked} MB, ${String(pickedDom)} DOM elements, longest task ${Math.round(Number(pickTask))} ms`,
    `after ${MEMORY_SEND_MS / 1000} s of sending (${progress}): JS heap ${sending} MB, ${String(sendingDom)} DOM elements, longest task so far ${Math.round(Number(sendTask))} ms`,
  ];
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), "trapline-bench-upload-"));
  const browser = await launchBrowser();
  // No model: the worker waits, so the uploads have the CPU to themselves.
  // The service's own multipart settings (8 MiB), not the browser tests' small parts.
  const { url, pid, stop } = await startNpmStart({ MODEL: join(work, "no-model.onnx"), MULTIPART_THRESHOLD_BYTES: String(8 * 1024 * 1024), PART_BYTES: String(8 * 1024 * 1024) });
  try {
    const photos = join(work, "card");
    for (let index = 0; index < PHOTOS; index += 1) {
      const folder = join(photos, "DCIM", `${100 + Math.floor(index / 500)}RECNX`);
      if (index % 500 === 0) await mkdir(folder, { recursive: true });
      await writeFile(join(folder, `IMG_${String(index).padStart(5, "0")}.JPG`), randomBytesOf(PHOTO_BYTES));
    }
    const zip = join(work, "season.zip");
    await writeFile(zip, randomBytesOf(ZIP_BYTES));
    console.log(`Chromium against npm start at ${url}; worker idle\n`);
    console.log(`one ${(ZIP_BYTES / MB).toFixed(0)} MB zip:        ${await timeUpload(browser, url, pid, { files: [zip] }, ZIP_BYTES)}`);
    console.log(`${PHOTOS} photos of ${PHOTO_BYTES / 1000} KB: ${await timeUpload(browser, url, pid, { folder: photos }, PHOTOS * PHOTO_BYTES)}`);
    console.log(`the same photos, bare loop: ${await timeBareLoop(browser, url, pid, photos, PHOTOS * PHOTO_BYTES)}`);
    await rm(photos, { recursive: true, force: true });
    await rm(zip, { force: true });

    if (MEMORY_FILES > 0) {
      const many = join(work, "many");
      for (let index = 0; index < MEMORY_FILES; index += 1) {
        const folder = join(many, "DCIM", `${100 + Math.floor(index / 1000)}RECNX`);
        if (index % 1000 === 0) await mkdir(folder, { recursive: true });
        await writeFile(join(folder, `IMG_${String(index).padStart(6, "0")}.JPG`), "x");
      }
      console.log(`\n${(await measureMemory(browser, url, many, MEMORY_FILES)).join("\n")}`);
    }
  } finally {
    await browser.close();
    await stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
