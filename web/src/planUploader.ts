// An Uppy uploader that follows the API's upload plan: a presigned PUT per small file, and for
// large ones the multipart upload the API already started, one part at a time, completed and
// aborted through the API's JSON helpers (routes/uploads.ts). Uppy keeps the files, progress
// and retry; @uppy/core's fetcher sends each request with progress and retries (5xx, 429 and
// dropped connections, with growing pauses). cancel() stops a run for good: every request of
// it is aborted, its queue is dropped, and nothing it started reports back afterwards. @uppy/aws-s3 6 signs raw S3 requests and
// starts multipart uploads itself, which this API's plan does not allow.
import { BasePlugin, type PluginOpts, type Uppy } from "@uppy/core";
import { fetcher, type Body, type Meta, type UppyFile } from "@uppy/core/utils";
import type { Api } from "./api.ts";
import { linkExpiresAt } from "./linkExpiry.ts";
import type { MultipartUpload, PutUpload, UploadPlan } from "./types.ts";

/** Files sending at once; browsers open about six connections per host. */
const PARALLEL_FILES = 4;
/** Re-sign a planned part URL with less than this left, rather than let S3 refuse it mid-file. */
const URL_SAFETY_MARGIN_MS = 5 * 60_000;
/** Attempts per request after the first (fetcher waits 0.3 s, 0.6 s, 1.2 s, 2.4 s, 4.8 s). */
const RETRIES = 5;
/** A request that sends nothing for this long is given up; the file fails as a dropped connection. */
const STALL_MS = 60_000;

export interface PlanUploaderOpts extends PluginOpts {
  api: Api;
  /** The job and each Uppy file's plan; set before uppy.upload(). */
  plan: () => { jobId: string; byFileId: Map<string, UploadPlan> };
}

export class StorageError extends Error {
  override name = "StorageError";
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export class PlanUploader<M extends Meta, B extends Body> extends BasePlugin<PlanUploaderOpts, M, B> {
  readonly #controllers = new Map<string, AbortController>();
  /** Bumped by cancel(): a run whose number is behind stops taking files and stays silent. */
  #run = 0;

  constructor(uppy: Uppy<M, B>, opts: PlanUploaderOpts) {
    super(uppy, opts);
    this.id = opts.id ?? "PlanUploader";
    this.type = "uploader";
  }

  override install(): void {
    this.uppy.addUploader(this.#upload);
    this.uppy.on("file-removed", this.#onRemoved);
    this.uppy.on("cancel-all", this.#onCancelAll);
  }

  override uninstall(): void {
    this.uppy.removeUploader(this.#upload);
    this.uppy.off("file-removed", this.#onRemoved);
    this.uppy.off("cancel-all", this.#onCancelAll);
  }

  #onRemoved = (file: UppyFile<M, B>) => this.#controllers.get(file.id)?.abort();
  #onCancelAll = () => this.cancel();

  /**
   * Stops every transfer of the runs so far: in-flight PUTs and parts are aborted, API calls
   * too, files not started are never sent, and S3 is told to drop the multipart uploads begun.
   * Files already complete stay in storage under the job cancelled.
   */
  cancel(): void {
    this.#run += 1;
    const { jobId, byFileId } = this.opts.plan();
    for (const [fileId, controller] of this.#controllers) {
      controller.abort();
      const plan = byFileId.get(fileId);
      // Nobody waits for the answer: the job is being left behind.
      if (plan && "multipart" in plan) this.opts.api.uploadsHelper("DELETE", jobId, encodeURIComponent(plan.multipart.uploadId)).catch(() => undefined);
    }
    this.#controllers.clear();
  }

  #upload = async (fileIds: string[]): Promise<void> => {
    const run = this.#run;
    const files = fileIds.map((id) => this.uppy.getFile(id)).filter((file) => file && !file.progress.uploadComplete);
    this.uppy.emit("upload-start", files);
    const queue = [...files];
    const worker = async () => {
      for (let file = queue.shift(); file && run === this.#run; file = queue.shift()) {
        if (this.uppy.getFile(file.id)) await this.#uploadOne(file, run);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_FILES, queue.length) }, worker));
  };

  async #uploadOne(file: UppyFile<M, B>, run: number): Promise<void> {
    const controller = new AbortController();
    this.#controllers.set(file.id, controller);
    const started = Date.now();
    const total = file.size ?? 0;
    const progress = (bytesUploaded: number) => {
      if (controller.signal.aborted || run !== this.#run) return;
      this.uppy.emit("upload-progress", this.uppy.getFile(file.id), { uploadStarted: started, bytesUploaded, bytesTotal: total });
    };
    try {
      const { jobId, byFileId } = this.opts.plan();
      const plan = byFileId.get(file.id);
      if (!plan) throw new Error("This file is not part of the job's plan; start the upload again.");
      progress(0);
      if ("multipart" in plan) await this.#sendMultipart(jobId, plan, file.data as Blob, progress, controller.signal);
      else await this.#sendPut(plan, file.data as Blob, progress, controller.signal);
      if (controller.signal.aborted || run !== this.#run) return;
      this.uppy.emit("upload-success", this.uppy.getFile(file.id), { status: 200, uploadURL: plan.name });
    } catch (error) {
      if (controller.signal.aborted || run !== this.#run) return;
      this.uppy.emit("upload-error", this.uppy.getFile(file.id), error as Error);
    } finally {
      if (this.#controllers.get(file.id) === controller) this.#controllers.delete(file.id);
    }
  }

  async #sendPut(plan: PutUpload, data: Blob, progress: (sent: number) => void, signal: AbortSignal): Promise<void> {
    await send(plan.url, { method: "PUT", body: data, headers: plan.headers ?? {}, signal, onUploadProgress: (event) => progress(event.loaded) });
    progress(data.size);
  }

  async #sendMultipart(jobId: string, plan: MultipartUpload, data: Blob, progress: (sent: number) => void, signal: AbortSignal): Promise<void> {
    const { uploadId, partSize } = plan.multipart;
    const helper = encodeURIComponent(uploadId);
    const count = Math.max(1, Math.ceil(data.size / partSize));
    // A retry resumes: parts S3 already holds are not sent again.
    const listed = await this.opts.api.uploadsHelper<{ parts: { PartNumber: number; Size?: number; ETag: string }[] }>("GET", jobId, `${helper}/parts`, undefined, signal);
    const etags = new Map(listed.parts.map((part) => [part.PartNumber, part.ETag]));
    const urls = new Map(plan.multipart.parts.map((part) => [part.partNumber, part.url]));
    const sentBefore = (partNumber: number) => Math.min((partNumber - 1) * partSize, data.size);
    let doneBytes = [...etags.keys()].reduce((sum, n) => sum + Math.min(partSize, data.size - sentBefore(n)), 0);
    progress(doneBytes);

    for (let partNumber = 1; partNumber <= count; partNumber += 1) {
      if (etags.has(partNumber)) continue;
      signal.throwIfAborted();
      let url = urls.get(partNumber);
      if (!url || !fresh(url)) {
        const signed = await this.opts.api.uploadsHelper<{ parts: { partNumber: number; url: string }[] }>(
          "POST",
          jobId,
          `${helper}/sign`,
          { partNumbers: range(partNumber, Math.min(count, partNumber + 19)) },
          signal,
        );
        for (const part of signed.parts) urls.set(part.partNumber, part.url);
        url = urls.get(partNumber);
        if (!url) throw new Error(`The server did not sign part ${partNumber}.`);
      }
      const start = sentBefore(partNumber);
      const chunk = data.slice(start, Math.min(start + partSize, data.size));
      const xhr = await send(url, { method: "PUT", body: chunk, signal, onUploadProgress: (event) => progress(doneBytes + event.loaded) });
      const etag = xhr.getResponseHeader("etag");
      if (!etag) throw new Error("Storage did not return the part's ETag (its CORS rule must expose the ETag header).");
      etags.set(partNumber, etag);
      doneBytes += chunk.size;
      progress(doneBytes);
    }
    signal.throwIfAborted();
    await this.opts.api.uploadsHelper(
      "POST",
      jobId,
      `${helper}/complete`,
      { parts: [...etags].sort(([a], [b]) => a - b).map(([PartNumber, ETag]) => ({ PartNumber, ETag })) },
      signal,
    );
  }
}

function fresh(url: string): boolean {
  const expires = linkExpiresAt(url);
  return expires === null || expires.getTime() - Date.now() > URL_SAFETY_MARGIN_MS;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

/**
 * One request to storage; a refusal becomes a StorageError with S3's status and code, a request
 * that sends nothing for STALL_MS a StorageError with status 0 (a dropped connection). fetcher's
 * own timeout only calls onTimeout, so the stall aborts the request through a signal of its own.
 */
async function send(url: string, options: { method: string; body: Blob; headers?: Record<string, string>; signal: AbortSignal; onUploadProgress: (event: ProgressEvent) => void }): Promise<XMLHttpRequest> {
  const request = new AbortController();
  const relay = () => request.abort();
  options.signal.addEventListener("abort", relay, { once: true });
  let stalled = false;
  try {
    return await fetcher(url, {
      ...options,
      signal: request.signal,
      retries: RETRIES,
      timeout: STALL_MS,
      onTimeout: () => {
        stalled = true;
        request.abort();
      },
      // Client errors (an expired or refused link) do not get better by repeating them.
      shouldRetry: (xhr) => xhr.status === 0 || xhr.status === 429 || xhr.status >= 500,
    });
  } catch (error) {
    if (options.signal.aborted) throw error;
    if (stalled) throw new StorageError(0, "stalled");
    const xhr = (error as { request?: XMLHttpRequest }).request;
    if (!xhr) throw error;
    const code = /<Code>([^<]+)<\/Code>/.exec(typeof xhr.responseText === "string" ? xhr.responseText : "")?.[1];
    throw new StorageError(xhr.status, code ?? "");
  } finally {
    options.signal.removeEventListener("abort", relay);
  }
}
