// An Uppy uploader that follows the API's upload plan: a presigned form POST (or PUT) per small file, and for
// large ones the multipart upload the API opened, one part at a time, each part recorded with
// the API (so a resume on another page load sends only the rest), completed and aborted through
// its JSON helpers (functions/routes/uploads.ts). @uppy/core's fetcher sends each request with
// progress and retries (5xx, 429 and dropped connections, with growing pauses; none while the
// browser is offline, the upload queue pauses instead). Uppy holds only the files being sent
// (uploadQueue.ts feeds it), so it sends every file it is given at once. cancel() stops for
// good: every request is aborted and nothing started reports back afterwards. @uppy/aws-s3 6
// signs raw S3 requests and starts multipart uploads itself, which this API's plan does not allow.
import { BasePlugin, type PluginOpts, type Uppy } from "@uppy/core";
import { fetcher, type Body, type Meta, type UppyFile } from "@uppy/core/utils";
import type { ListedParts, MultipartUploadPlan, PostUploadPlan, PutUploadPlan, SignedParts, UploadPlan } from "../../functions/wire.ts";
import type { Api } from "./api.ts";
import { learnClock, linkStillGood } from "./linkExpiry.ts";

/** Attempts per request after the first (fetcher waits 0.3 s, 0.6 s, 1.2 s, 2.4 s, 4.8 s). */
const RETRIES = 5;
/** A request that sends nothing for this long is given up as a dead connection. */
const STALL_MS = 60_000;
/** Part URLs asked for at once when a plan runs out of them. */
const PARTS_SIGNED_AT_ONCE = 20;

export interface PlanUploaderOpts extends PluginOpts {
  api: Api;
  jobId: () => string;
  /** The plan of a file Uppy holds; set before uppy.upload(). */
  planOf: (fileId: string) => UploadPlan | undefined;
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
  /** Bumped by cancel(): a send started before it stays silent. */
  #run = 0;

  constructor(uppy: Uppy<M, B>, opts: PlanUploaderOpts) {
    super(uppy, opts);
    this.id = opts.id ?? "PlanUploader";
    this.type = "uploader";
  }

  override install(): void {
    this.uppy.addUploader(this.#upload);
    this.uppy.on("cancel-all", this.#onCancelAll);
  }

  override uninstall(): void {
    this.uppy.removeUploader(this.#upload);
    this.uppy.off("cancel-all", this.#onCancelAll);
  }

  #onCancelAll = () => this.cancel();

  /**
   * Stops every transfer: in-flight PUTs and parts are aborted, API calls too, and S3 is told to
   * drop the multipart uploads begun. Files already complete stay in storage.
   */
  cancel(): void {
    this.#run += 1;
    for (const [fileId, controller] of this.#controllers) {
      controller.abort();
      const plan = this.opts.planOf(fileId);
      // Nobody waits for the answer: the job is being left behind.
      if (plan?.method === "multipart") this.opts.api.uploadsHelper("DELETE", this.opts.jobId(), encodeURIComponent(plan.multipart.uploadId)).catch(() => undefined);
    }
    this.#controllers.clear();
  }

  #upload = async (fileIds: string[]): Promise<void> => {
    const run = this.#run;
    const files = fileIds.map((id) => this.uppy.getFile(id)).filter((file) => file && !file.progress.uploadComplete);
    this.uppy.emit("upload-start", files);
    await Promise.all(files.map((file) => this.#uploadOne(file, run)));
  };

  async #uploadOne(file: UppyFile<M, B>, run: number): Promise<void> {
    const controller = new AbortController();
    this.#controllers.set(file.id, controller);
    const started = Date.now();
    const total = file.size ?? 0;
    const live = () => !controller.signal.aborted && run === this.#run && this.uppy.getFile(file.id) !== undefined;
    const progress = (bytesUploaded: number) => {
      if (live()) this.uppy.emit("upload-progress", this.uppy.getFile(file.id), { uploadStarted: started, bytesUploaded, bytesTotal: total });
    };
    try {
      const plan = this.opts.planOf(file.id);
      if (!plan) throw new Error("This file is not part of the job's plan; start the upload again.");
      progress(0);
      if (plan.method === "multipart") await this.#sendMultipart(plan, file.data as Blob, progress, controller.signal);
      else if (plan.method === "POST") await this.#sendPost(plan, file.data as Blob, progress, controller.signal);
      else await this.#sendPut(plan, file.data as Blob, progress, controller.signal);
      if (live()) this.uppy.emit("upload-success", this.uppy.getFile(file.id), { status: 200, uploadURL: plan.name });
    } catch (error) {
      if (live()) this.uppy.emit("upload-error", this.uppy.getFile(file.id), error as Error);
    } finally {
      if (this.#controllers.get(file.id) === controller) this.#controllers.delete(file.id);
    }
  }

  async #sendPut(plan: PutUploadPlan, data: Blob, progress: (sent: number) => void, signal: AbortSignal): Promise<void> {
    await send(plan.url, { method: "PUT", body: data, headers: plan.headers, signal, onUploadProgress: (event) => progress(event.loaded) });
    progress(data.size);
  }

  async #sendPost(plan: PostUploadPlan, data: Blob, progress: (sent: number) => void, signal: AbortSignal): Promise<void> {
    // S3 reads the fields in order and the file last; what follows the file is ignored.
    const form = new FormData();
    for (const [name, value] of Object.entries(plan.fields)) form.append(name, value);
    form.append("file", data);
    // The form's own fields count in `loaded`: the file's progress never passes its size.
    await send(plan.url, { method: "POST", body: form, signal, onUploadProgress: (event) => progress(Math.min(event.loaded, data.size)) });
    progress(data.size);
  }

  async #sendMultipart(plan: MultipartUploadPlan, data: Blob, progress: (sent: number) => void, signal: AbortSignal): Promise<void> {
    const jobId = this.opts.jobId();
    const { uploadId, partSize, partCount } = plan.multipart;
    const helper = encodeURIComponent(uploadId);
    // A retry, or a resume after the page was reloaded: parts storage holds already are not sent again.
    const listed = await this.opts.api.uploadsHelper<ListedParts>("GET", jobId, `${helper}/parts`, undefined, signal);
    const etags = new Map(listed.parts.map((part) => [part.PartNumber, part.ETag]));
    const urls = new Map(plan.multipart.parts.map((part) => [part.partNumber, part.url]));
    const sentBefore = (partNumber: number) => Math.min((partNumber - 1) * partSize, data.size);
    let doneBytes = [...etags.keys()].reduce((sum, n) => sum + Math.max(0, Math.min(partSize, data.size - sentBefore(n))), 0);
    progress(doneBytes);

    for (let partNumber = 1; partNumber <= partCount; partNumber += 1) {
      if (etags.has(partNumber)) continue;
      signal.throwIfAborted();
      let url = urls.get(partNumber);
      if (!url || !linkStillGood(url)) {
        const signed = await this.opts.api.uploadsHelper<SignedParts>("POST", jobId, `${helper}/sign`, { partNumbers: range(partNumber, Math.min(partCount, partNumber + PARTS_SIGNED_AT_ONCE - 1)) }, signal);
        for (const part of signed.parts) urls.set(part.partNumber, part.url);
        if (signed.parts[0]) learnClock(signed.parts[0].url);
        url = urls.get(partNumber);
        if (!url) throw new Error(`The server did not sign part ${partNumber}.`);
      }
      const start = sentBefore(partNumber);
      const chunk = data.slice(start, Math.min(start + partSize, data.size));
      const xhr = await send(url, { method: "PUT", body: chunk, signal, onUploadProgress: (event) => progress(doneBytes + event.loaded) });
      const etag = xhr.getResponseHeader("etag");
      if (!etag) throw new Error("Storage did not return the part's ETag (its CORS rule must expose the ETag header).");
      etags.set(partNumber, etag);
      // Where storage cannot list parts (the local emulator), the API keeps what this page sent.
      await this.opts.api.uploadsHelper("POST", jobId, `${helper}/parts`, { parts: [{ partNumber, etag }] }, signal);
      doneBytes += chunk.size;
      progress(doneBytes);
    }
    signal.throwIfAborted();
    await this.opts.api.uploadsHelper(
      "POST",
      jobId,
      `${helper}/complete`,
      { parts: [...etags].sort(([a], [b]) => a - b).map(([partNumber, etag]) => ({ partNumber, etag })) },
      signal,
    );
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

/**
 * One request to storage; a refusal becomes a StorageError with S3's status and code, a request
 * that sends nothing for STALL_MS a StorageError with status 0 (a dropped connection). fetcher's
 * own timeout only calls onTimeout, so the stall aborts the request through a signal of its own.
 */
async function send(url: string, options: { method: string; body: Blob | FormData; headers?: Record<string, string>; signal: AbortSignal; onUploadProgress: (event: ProgressEvent) => void }): Promise<XMLHttpRequest> {
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
      // Client errors (an expired or refused link) do not get better by repeating them, and
      // while the browser is offline the upload queue pauses rather than burn the retries.
      shouldRetry: (xhr) => navigator.onLine && (xhr.status === 0 || xhr.status === 429 || xhr.status >= 500),
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
