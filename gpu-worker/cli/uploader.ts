// Sends files to storage as the API's plans say, `parallel` transfers at a time: a small file is
// one PUT, a large one a multipart upload whose parts go side by side with everything else.
// Plans arrive a page at a time (an async iterable); the next page is asked for while this one
// uploads, so there is no API round trip per file. A link that expired or was refused is signed
// again by name; a dropped connection or a storage hiccup is tried again; a multipart upload
// records its parts with the API as it goes, so a run that stops sends only the missing parts
// next time (cli/upload.ts resumes).
import { setTimeout as sleep } from "node:timers/promises";
import type { MultipartUploadPlan, UploadPlan } from "../../functions/wire.ts";
import type { TraplineApi } from "./apiClient.ts";
import { LinkRefusedError, TransferError } from "./transfers.ts";
import type { Transfers } from "./transfers.ts";
import type { LocalFile } from "./uploadInputs.ts";
import type { UploadProgress } from "./uploadProgress.ts";

/** A page of plans, and whether its files may have parts in storage already (a resumed run). */
export interface PlanPage {
  plans: UploadPlan[];
  /** When the page's links stop working (ms since the epoch). */
  expiresAt: number;
  resumed: boolean;
}

export interface UploadStats {
  files: number;
  /** Transfers made (PUTs of whole files and of parts). */
  requests: number;
  /** Parts sent, by file name (multipart files only). */
  partsSent: Map<string, number[]>;
  failed: { name: string; reason: string }[];
}

export interface UploaderContext {
  api: TraplineApi;
  jobId: string;
  transfers: Transfers;
  files: ReadonlyMap<string, LocalFile>;
  parallel: number;
  progress: UploadProgress;
  /** Stops taking new transfers (those in flight finish or fail). */
  signal?: AbortSignal;
}

/** Tries of one transfer that met a dropped connection or a storage hiccup. */
const ATTEMPTS = 4;
/** Times one file's link is signed again after storage refused it. */
const RESIGNS = 2;
/** A link this close to expiring is signed again before use. */
const EXPIRY_MARGIN_MS = 30_000;
/** Part links asked for at once. */
const PARTS_PER_SIGN = 100;
/** Parts recorded with the API in one request (and at the latest every RECORD_EVERY_MS). */
const PARTS_PER_RECORD = 8;
const RECORD_EVERY_MS = 2_000;
/** Transfers queued ahead of the workers, per worker: enough to keep them busy while the next page of plans is fetched. */
const QUEUED_PER_WORKER = 4;

type Task = { kind: "put"; file: LocalFile; plan: { url: string; headers: Record<string, string>; expiresAt: number } } | { kind: "part"; upload: MultipartFile; partNumber: number };

/** One multipart upload in progress: its part links, the parts done, and their record with the API. */
class MultipartFile {
  readonly file: LocalFile;
  uploadId: string;
  readonly partSize: number;
  readonly partCount: number;
  readonly done = new Map<number, string>();
  readonly #links = new Map<number, { url: string; expiresAt: number }>();
  /** The signing now under way (settled: never rejects), which may bring the link a part waits for. */
  #signing: Promise<void> = Promise.resolve();
  #unrecorded: { partNumber: number; etag: string }[] = [];
  #recordTimer: NodeJS.Timeout | undefined;
  #recording: Promise<void> = Promise.resolve();
  readonly #ctx: UploaderContext;

  constructor(ctx: UploaderContext, file: LocalFile, plan: MultipartUploadPlan, expiresAt: number) {
    this.#ctx = ctx;
    this.file = file;
    this.uploadId = plan.multipart.uploadId;
    this.partSize = plan.multipart.partSize;
    this.partCount = plan.multipart.partCount;
    for (const part of plan.multipart.parts) this.#links.set(part.partNumber, { url: part.url, expiresAt });
  }

  partBytes(partNumber: number): { start: number; length: number } {
    const start = (partNumber - 1) * this.partSize;
    return { start, length: Math.max(0, Math.min(this.partSize, this.file.size - start)) };
  }

  missingParts(): number[] {
    return Array.from({ length: this.partCount }, (_, index) => index + 1).filter((partNumber) => !this.done.has(partNumber));
  }

  /** A fresh link for the part, signing it (and the next ones not done) when there is none. */
  async link(partNumber: number, forceNew = false): Promise<string> {
    if (forceNew) this.#links.delete(partNumber);
    if (this.#fresh(partNumber)) return this.#links.get(partNumber)!.url;
    // Another part's signing may bring this one's link; else sign from here on.
    await this.#signing;
    if (this.#fresh(partNumber)) return this.#links.get(partNumber)!.url;
    const wanted = [partNumber, ...this.missingParts().filter((n) => n > partNumber && !this.#fresh(n))].slice(0, PARTS_PER_SIGN);
    const signing = this.#ctx.api.signParts(this.#ctx.jobId, this.uploadId, wanted).then((signed) => {
      const expiresAt = Date.parse(signed.expiresAt);
      for (const part of signed.parts) this.#links.set(part.partNumber, { url: part.url, expiresAt });
    });
    this.#signing = signing.catch(() => {});
    await signing;
    // Just signed: used as it is, however short-lived the service's links are.
    const signed = this.#links.get(partNumber);
    if (!signed) throw new Error(`the API signed no link for part ${partNumber} of "${this.file.name}"`);
    return signed.url;
  }

  #fresh(partNumber: number): boolean {
    const known = this.#links.get(partNumber);
    return known !== undefined && known.expiresAt - Date.now() > EXPIRY_MARGIN_MS;
  }

  /** A part went up: remember it, and tell the API soon (for a resume elsewhere). */
  partDone(partNumber: number, etag: string): void {
    this.done.set(partNumber, etag);
    this.#unrecorded.push({ partNumber, etag });
    if (this.#unrecorded.length >= PARTS_PER_RECORD) this.#record();
    else this.#recordTimer ??= setTimeout(() => this.#record(), RECORD_EVERY_MS);
  }

  #record(): void {
    clearTimeout(this.#recordTimer);
    this.#recordTimer = undefined;
    const parts = this.#unrecorded.splice(0);
    if (parts.length === 0) return;
    // A lost record only means those parts are sent again after a stop; never worth failing for.
    this.#recording = this.#recording.then(() => this.#ctx.api.recordParts(this.#ctx.jobId, this.uploadId, { parts }).catch(() => {}));
  }

  /** Records the parts not yet recorded (the run is stopping), so a resume sends only the others. */
  async flush(): Promise<void> {
    this.#record();
    await this.#recording;
  }

  async complete(): Promise<void> {
    clearTimeout(this.#recordTimer);
    this.#unrecorded = [];
    await this.#recording;
    const parts = [...this.done.entries()].sort(([a], [b]) => a - b).map(([partNumber, etag]) => ({ partNumber, etag }));
    await this.#ctx.api.complete(this.#ctx.jobId, this.uploadId, { parts });
  }

  dispose(): void {
    clearTimeout(this.#recordTimer);
  }
}

/** Uploads every plan of every page; resolves with what happened (failures listed, never thrown). */
export async function uploadPlanPages(ctx: UploaderContext, pages: AsyncIterable<PlanPage>): Promise<UploadStats> {
  const stats: UploadStats = { files: 0, requests: 0, partsSent: new Map(), failed: [] };
  const queue: Task[] = [];
  let producing = true;
  let producerError: Error | undefined;
  /** Wakes workers waiting for tasks, and the producer waiting for room. */
  let wake: () => void = () => {};
  let changed = new Promise<void>((resolve) => (wake = resolve));
  const signal = () => {
    const resolve = wake;
    changed = new Promise<void>((next) => (wake = next));
    resolve();
  };

  const fail = (name: string, reason: string) => stats.failed.push({ name, reason });

  async function produce(): Promise<void> {
    try {
      for await (const page of pages) {
        for (const plan of page.plans) {
          if (ctx.signal?.aborted) return;
          const file = ctx.files.get(plan.name);
          if (!file) {
            fail(plan.name, "the API planned a file this run does not have");
            continue;
          }
          if (plan.method === "PUT") queue.push({ kind: "put", file, plan: { url: plan.url, headers: plan.headers, expiresAt: page.expiresAt } });
          // This client never asks for form uploads (singleUpload "POST" spares browsers a preflight, not Node).
          else if (plan.method === "POST") fail(plan.name, "the API answered with a form upload, which this client did not ask for");
          else {
            const upload = new MultipartFile(ctx, file, plan, page.expiresAt);
            if (page.resumed) {
              // Parts storage (or the API's record) has already: not sent again.
              const listed = await ctx.api.listParts(ctx.jobId, upload.uploadId);
              for (const part of listed.parts) {
                if (part.PartNumber <= upload.partCount) {
                  upload.done.set(part.PartNumber, part.ETag);
                  ctx.progress.alreadyThere(upload.partBytes(part.PartNumber).length);
                }
              }
            }
            const missing = upload.missingParts();
            if (missing.length === 0) queue.push({ kind: "part", upload, partNumber: 0 });
            for (const partNumber of missing) queue.push({ kind: "part", upload, partNumber });
          }
          signal();
          while (queue.length > ctx.parallel * QUEUED_PER_WORKER && !ctx.signal?.aborted) await changed;
        }
      }
    } catch (error) {
      producerError = error instanceof Error ? error : new Error(String(error));
    } finally {
      producing = false;
      signal();
    }
  }

  /** Parts still to finish per multipart file, to know when to complete it. */
  const partsLeft = new Map<MultipartFile, number>();
  const failedUploads = new Set<MultipartFile>();

  async function transfer(task: Task): Promise<void> {
    if (task.kind === "put") {
      let plan = task.plan;
      for (let resigns = 0; ; resigns++) {
        if (plan.expiresAt - Date.now() < EXPIRY_MARGIN_MS) plan = await resign(task.file.name);
        try {
          await withRetries(() => send(plan.url, plan.headers, task.file, 0, task.file.size));
          return;
        } catch (error) {
          if (!(error instanceof LinkRefusedError) || resigns >= RESIGNS) throw error;
          plan = await resign(task.file.name);
        }
      }
    }
    const { upload, partNumber } = task;
    if (partNumber === 0) return; // every part was there already: only the completion is left
    const { start, length } = upload.partBytes(partNumber);
    for (let resigns = 0; ; resigns++) {
      const url = await upload.link(partNumber, resigns > 0);
      try {
        const etag = await withRetries(() => send(url, {}, upload.file, start, length));
        upload.partDone(partNumber, etag);
        const sent = stats.partsSent.get(upload.file.name) ?? [];
        sent.push(partNumber);
        stats.partsSent.set(upload.file.name, sent);
        return;
      } catch (error) {
        if (!(error instanceof LinkRefusedError) || resigns >= RESIGNS) throw error;
      }
    }
  }

  async function resign(name: string): Promise<{ url: string; headers: Record<string, string>; expiresAt: number }> {
    const signed = await ctx.api.sign(ctx.jobId, [name]);
    const plan = signed.uploads[0];
    if (plan?.method !== "PUT") throw new Error(`the API no longer plans "${name}" as one PUT`);
    return { url: plan.url, headers: plan.headers, expiresAt: Date.parse(signed.expiresAt) };
  }

  async function send(url: string, headers: Record<string, string>, file: LocalFile, start: number, length: number): Promise<string> {
    let counted = 0;
    stats.requests++;
    try {
      return await ctx.transfers.put(url, headers, file.path, start, length, (bytes) => {
        counted += bytes;
        ctx.progress.sent(bytes);
      });
    } catch (error) {
      ctx.progress.sent(-counted);
      throw error;
    }
  }

  async function work(): Promise<void> {
    for (;;) {
      const task = queue.shift();
      if (!task) {
        if (!producing || ctx.signal?.aborted) return;
        await changed;
        continue;
      }
      signal();
      if (ctx.signal?.aborted) return;
      if (task.kind === "part" && failedUploads.has(task.upload)) continue;
      if (task.kind === "part" && !partsLeft.has(task.upload)) partsLeft.set(task.upload, Math.max(1, task.upload.missingParts().length));
      try {
        await transfer(task);
        if (task.kind === "put") {
          stats.files++;
          ctx.progress.fileDone();
          continue;
        }
        const left = partsLeft.get(task.upload)! - 1;
        partsLeft.set(task.upload, left);
        if (left === 0) {
          await task.upload.complete();
          task.upload.dispose();
          stats.files++;
          ctx.progress.fileDone();
        }
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (task.kind === "put") fail(task.file.name, reason);
        else if (!failedUploads.has(task.upload)) {
          failedUploads.add(task.upload);
          task.upload.dispose();
          fail(task.upload.file.name, reason);
        }
      }
    }
  }

  const producer = produce();
  await Promise.all(Array.from({ length: ctx.parallel }, work));
  await producer;
  // Uploads left unfinished (stopped, or a part failed): their parts so far are recorded for the resume.
  await Promise.all([...partsLeft].filter(([, left]) => left > 0).map(([upload]) => upload.flush()));
  if (producerError) throw producerError;
  return stats;
}

async function withRetries<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof TransferError && error.retry) || tries >= ATTEMPTS) throw error;
      await sleep(Math.min(500 * 2 ** (tries - 1), 8_000));
    }
  }
}
