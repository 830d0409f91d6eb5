// `trapline upload <folders, zips or photos...> --api <url> --email <addr>`: sends them to a
// Trapline service (a deployed stack or `npm start`) as one job, resumable with --job <id>, then
// submits it and, with --wait, follows it and downloads the results.
//
//   1. The files are named as the page names them (cli/uploadInputs.ts).
//   2. A new job is created with the first page of files; the rest follow a page at a time
//      (POST .../files), each answer bringing the plans of its page, so there is no API call per
//      file. With --job, the job's plan is compared with the files on disk (names and sizes);
//      only the files storage lacks (GET .../files?missing=1) and any new ones are sent.
//   3. cli/uploader.ts sends the plans, many at a time, from disk.
//   4. Submit: the API checks storage; whatever it still misses is sent once more.
//   5. --wait: the job is followed until done, and its results zip downloaded to --out.
import { createWriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { emailProblem } from "../../core/email.ts";
import { privacyOf, type ImagesChoice } from "../../core/jobs.ts";
import { MAX_BODY_BYTES, MAX_PAGE_FILES } from "../../functions/wire.ts";
import type { FileToUpload, JobOptions, JobView, UploadPlans } from "../../functions/wire.ts";
import { ApiCallError, TraplineApi } from "./apiClient.ts";
import { createTransfers } from "./transfers.ts";
import { collectUploadInputs } from "./uploadInputs.ts";
import type { LocalFile } from "./uploadInputs.ts";
import { uploadPlanPages } from "./uploader.ts";
import type { PlanPage, UploadStats } from "./uploader.ts";
import { createUploadProgress } from "./uploadProgress.ts";

export interface UploadOptions {
  api: string;
  email?: string;
  job?: string;
  wait: boolean;
  out?: string;
  parallel: number;
  progress: boolean;
  threshold?: number;
  sorted?: boolean;
  images?: ImagesChoice;
  eventGap?: number;
  blurPeople?: boolean;
  dropGps?: boolean;
}

/** Room a page's request keeps for what surrounds its files. */
const PAGE_ENVELOPE_BYTES = 10_000;
/** Names shown when files differ or fail; the rest are counted. */
const NAMES_SHOWN = 20;
/** How often --wait asks where the job stands. */
const POLL_MS = 3_000;
const MB = 1_000_000;

/** What the command says as it goes (stderr by default; tests collect it). */
export type Say = (line: string) => void;

/** Pages of at most MAX_PAGE_FILES files whose request stays under MAX_BODY_BYTES. */
export function filePages(files: readonly LocalFile[]): FileToUpload[][] {
  const pages: FileToUpload[][] = [];
  let page: FileToUpload[] = [];
  let bytes = 0;
  for (const file of files) {
    const entry: FileToUpload = { name: file.name, size: file.size, type: file.type };
    const size = Buffer.byteLength(JSON.stringify(entry)) + 1;
    if (page.length > 0 && (page.length >= MAX_PAGE_FILES || bytes + size > MAX_BODY_BYTES - PAGE_ENVELOPE_BYTES)) {
      pages.push(page);
      page = [];
      bytes = 0;
    }
    page.push(entry);
    bytes += size;
  }
  if (page.length > 0) pages.push(page);
  return pages;
}

/** The plans of one answer, then those of the files it left `unsigned` (signed by name until none is left). */
async function* withUnsigned(api: TraplineApi, jobId: string, asked: readonly string[], answer: UploadPlans, resumed: boolean): AsyncGenerator<PlanPage> {
  yield { plans: answer.uploads, expiresAt: Date.parse(answer.expiresAt), resumed };
  let rest = asked.slice(answer.uploads.length);
  while (rest.length > 0) {
    const signed = await api.sign(jobId, rest);
    if (signed.uploads.length === 0) throw new Error(`the API signed none of ${rest.length} files; try again later`);
    yield { plans: signed.uploads, expiresAt: Date.parse(signed.expiresAt), resumed };
    rest = rest.slice(signed.uploads.length);
  }
}

/** Asks for the next page as soon as one is handed out, so plans are ready when the transfers need them. */
async function* prefetched<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  for (;;) {
    const current = await next;
    if (current.done) return;
    next = iterator.next();
    // A failure of the page fetched ahead is reported when it is reached, not as an unhandled rejection.
    next.catch(() => {});
    yield current.value;
  }
}

/** Every page of a listing of the job's files. */
async function listAll(api: TraplineApi, jobId: string, missing: boolean): Promise<{ name: string; size: number }[]> {
  const files: { name: string; size: number }[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.listFiles(jobId, { missing, ...(cursor ? { cursor } : {}) });
    files.push(...page.files);
    cursor = page.cursor;
  } while (cursor);
  return files;
}

function shown(names: readonly string[]): string {
  const head = names.slice(0, NAMES_SHOWN).map((name) => `  ${name}`);
  return [...head, ...(names.length > NAMES_SHOWN ? [`  … and ${names.length - NAMES_SHOWN} more`] : [])].join("\n");
}

function jobOptions(options: UploadOptions): JobOptions {
  return {
    ...(options.threshold !== undefined ? { renderThreshold: options.threshold } : {}),
    ...(options.sorted ? { sortedView: true } : {}),
    ...(options.images ? { images: options.images } : {}),
    ...(options.eventGap !== undefined ? { eventGapSeconds: options.eventGap } : {}),
    ...privacyOf(options),
  };
}

export interface UploadResult {
  jobId: string;
  stats: UploadStats;
  /** The job as it stood at the end: queued, or done (with --wait). */
  view: JobView;
  /** Where the results went (--wait). */
  out?: string;
}

export async function uploadCommand(paths: string[], options: UploadOptions, say: Say = (line) => console.error(line), signal?: AbortSignal): Promise<UploadResult> {
  if (!options.job) {
    if (!options.email) throw new Error("--email is required for a new job (the address the results are sent to); to continue a job, give --job <id>");
    const problem = emailProblem(options.email);
    if (problem) throw new Error(`--email ${JSON.stringify(options.email)}: ${problem}`);
  }
  const inputs = await collectUploadInputs(paths);
  for (const skipped of inputs.skipped.slice(0, NAMES_SHOWN)) say(`skipped ${skipped.path}: ${skipped.reason}`);
  if (inputs.skipped.length > NAMES_SHOWN) say(`… and ${inputs.skipped.length - NAMES_SHOWN} more skipped`);
  if (inputs.files.length === 0) throw new Error("there is nothing to upload in the paths given");
  const local = new Map(inputs.files.map((file) => [file.name, file]));
  const api = new TraplineApi(options.api);
  const resumeHint = (jobId: string) => `trapline upload ${paths.map((path) => JSON.stringify(path)).join(" ")} --api ${options.api} --job ${jobId}`;

  let jobId: string;
  let toSend: LocalFile[];
  let pages: AsyncIterable<PlanPage>;
  if (!options.job) {
    const all = filePages(inputs.files);
    const totals = { files: inputs.files.length, bytes: inputs.files.reduce((sum, file) => sum + file.size, 0) };
    const created = await api.createJob({ email: options.email!.trim(), files: all[0], options: jobOptions(options), totals });
    jobId = created.jobId;
    say(`Job ${jobId}: ${totals.files} files, ${(totals.bytes / MB).toFixed(1)} MB. If this stops, continue it with:\n  ${resumeHint(jobId)}`);
    toSend = inputs.files;
    pages = (async function* () {
      yield* withUnsigned(api, jobId, all[0]!.map((file) => file.name), created, false);
      for (const page of all.slice(1)) yield* withUnsigned(api, jobId, page.map((file) => file.name), await api.addFiles(jobId, { files: page }), false);
    })();
  } else {
    jobId = options.job;
    const job = await api.getJob(jobId);
    if (job.status !== "uploading") {
      say(`Job ${jobId} is ${job.status}: nothing to upload.`);
      return finish(api, jobId, job, options, say, { files: 0, requests: 0, partsSent: new Map(), failed: [] });
    }
    const planned = new Map((await listAll(api, jobId, false)).map((file) => [file.name, file.size]));
    const differ = inputs.files.filter((file) => planned.has(file.name) && planned.get(file.name) !== file.size).map((file) => `${file.name} (${file.size} bytes here, ${planned.get(file.name)} in the job)`);
    const gone = [...planned.keys()].filter((name) => !local.has(name));
    if (differ.length > 0 || gone.length > 0) {
      const lines = [
        ...(differ.length > 0 ? [`${differ.length} file(s) differ in size from the job's:`, shown(differ)] : []),
        ...(gone.length > 0 ? [`${gone.length} file(s) of the job are not in the paths given:`, shown(gone)] : []),
      ];
      throw new Error(`job ${jobId} does not match these files.\n${lines.join("\n")}\nGive the same folders as when the job was created, unchanged, or start a new job (without --job).`);
    }
    const missing = new Set((await listAll(api, jobId, true)).map((file) => file.name));
    const added = inputs.files.filter((file) => !planned.has(file.name));
    toSend = [...inputs.files.filter((file) => missing.has(file.name)), ...added];
    say(`Job ${jobId}: ${planned.size - missing.size} of ${planned.size} files are in storage already; sending ${missing.size}${added.length > 0 ? ` and ${added.length} new` : ""}.`);
    pages = (async function* () {
      const names = [...missing];
      for (let from = 0; from < names.length; from += MAX_PAGE_FILES) {
        const chunk = names.slice(from, from + MAX_PAGE_FILES);
        yield* withUnsigned(api, jobId, chunk, await api.sign(jobId, chunk), true);
      }
      for (const page of filePages(added)) yield* withUnsigned(api, jobId, page.map((file) => file.name), await api.addFiles(jobId, { files: page }), false);
    })();
  }

  const stats = await send(api, jobId, local, toSend, prefetched(pages), options, say, signal);
  if (signal?.aborted) throw new Error(`stopped. Continue with:\n  ${resumeHint(jobId)}`);
  if (stats.failed.length > 0) {
    throw new Error(`${stats.failed.length} file(s) could not be uploaded:\n${shown(stats.failed.map((failure) => `${failure.name}: ${failure.reason}`))}\nContinue with:\n  ${resumeHint(jobId)}`);
  }

  let view: JobView;
  try {
    view = await api.submit(jobId);
  } catch (error) {
    if (!(error instanceof ApiCallError && error.code === "uploads_incomplete")) throw error;
    // Storage lacks something after all (a transfer that reported success but did not land):
    // send what it lacks once more, then submit again.
    const missing = (await listAll(api, jobId, true)).flatMap((file) => local.get(file.name) ?? []);
    say(`Storage lacks ${missing.length} file(s) after the upload; sending them again.`);
    const again = (async function* () {
      for (let from = 0; from < missing.length; from += MAX_PAGE_FILES) {
        const chunk = missing.slice(from, from + MAX_PAGE_FILES).map((file) => file.name);
        yield* withUnsigned(api, jobId, chunk, await api.sign(jobId, chunk), true);
      }
    })();
    const retried = await send(api, jobId, local, missing, again, options, say, signal);
    if (retried.failed.length > 0) throw new Error(`${error.message}\nContinue with:\n  ${resumeHint(jobId)}`);
    view = await api.submit(jobId);
  }
  say(`Job ${jobId} submitted: ${view.status}${view.queuePosition ? `, ${view.queuePosition} job(s) ahead` : ""}.`);
  return finish(api, jobId, view, options, say, stats);
}

async function send(
  api: TraplineApi,
  jobId: string,
  local: ReadonlyMap<string, LocalFile>,
  toSend: readonly LocalFile[],
  pages: AsyncIterable<PlanPage>,
  options: UploadOptions,
  say: Say,
  signal?: AbortSignal,
): Promise<UploadStats> {
  const totalBytes = toSend.reduce((sum, file) => sum + file.size, 0);
  const progress = createUploadProgress(totalBytes, toSend.length, { enabled: options.progress });
  const transfers = createTransfers(options.parallel);
  const started = performance.now();
  try {
    const stats = await uploadPlanPages({ api, jobId, transfers, files: local, parallel: options.parallel, progress, ...(signal ? { signal } : {}) }, pages);
    progress.stop();
    const seconds = (performance.now() - started) / 1000;
    if (stats.files > 0) say(`Uploaded ${stats.files} file(s), ${(totalBytes / MB).toFixed(1)} MB in ${seconds.toFixed(1)} s (${progress.averageMBps().toFixed(1)} MB/s).`);
    return stats;
  } catch (error) {
    progress.stop();
    throw error;
  } finally {
    transfers.close();
  }
}

async function finish(api: TraplineApi, jobId: string, view: JobView, options: UploadOptions, say: Say, stats: UploadStats): Promise<UploadResult> {
  if (!options.wait) {
    if (view.status !== "done") say(`Follow it with --wait, or at ${options.api.replace(/\/+$/, "")}/#/jobs/${jobId}`);
    return { jobId, stats, view };
  }
  let last = "";
  while (view.status === "uploading" || view.status === "queued" || view.status === "processing") {
    const line =
      view.status === "queued"
        ? `queued${view.queuePosition ? `, ${view.queuePosition} job(s) ahead` : ""}`
        : view.status === "processing"
          ? `processing: ${view.progress.processed}/${view.progress.total || "?"} photos${view.etaSeconds ? `, about ${view.etaSeconds} s left` : ""}`
          : "uploading: waiting for it to be submitted";
    if (line !== last) say(`Job ${jobId} ${line}`);
    last = line;
    await sleep(POLL_MS);
    view = await api.getJob(jobId);
  }
  if (view.status !== "done" || !view.downloadUrl) throw new Error(`job ${jobId} ${view.status}${view.error ? `: ${view.error}` : ""}`);
  const out = resolve(options.out ?? `trapline-${jobId}.zip`);
  const partial = `${out}.partial`;
  const response = await fetch(view.downloadUrl);
  if (!response.ok || !response.body) throw new Error(`the results could not be downloaded (HTTP ${response.status}); try ${options.api.replace(/\/+$/, "")}/api/jobs/${jobId}/download`);
  try {
    await pipeline(Readable.fromWeb(response.body), createWriteStream(partial));
    await rename(partial, out);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  say(`Job ${jobId} done: ${view.result?.images ?? 0} images, ${view.result?.failed ?? 0} could not be read. Results: ${out}`);
  return { jobId, stats, view, out };
}
