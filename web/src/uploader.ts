// Uppy set up for Trapline: @uppy/core holds the files, their progress and errors; the
// PlanUploader plugin sends them where the API's plan says.
import Uppy from "@uppy/core";
import type { Api } from "./api.ts";
import { singleFolder, uploadPath } from "./pickedNames.ts";
import { PlanUploader } from "./planUploader.ts";
import type { CreatedJob, FileToSend, UploadPlan } from "./types.ts";

/** `relativePath`: the file's path in the list, its folder's name first (pickedNames.ts); a loose file's own name. */
export type FileMeta = { name: string; type: string; relativePath?: string | null };
export type FileBody = Record<string, never>;
export type TrapUppy = Uppy<FileMeta, FileBody>;

export interface Uploader {
  uppy: TrapUppy;
  /** Ties the API's plan to the files (in the order they were sent) and uploads them. */
  start(job: CreatedJob, fileIds: string[]): Promise<void>;
  /** Sends the files that failed again, to the same job. */
  retry(): Promise<void>;
  /**
   * Stops every transfer and waits until nothing of the run can report any more; the files stay
   * listed with their progress and errors cleared, ready to go again as a new job.
   */
  cancel(): Promise<void>;
}

/** A file's path in the list: its folder's name first, or its own name. */
export function listedPath(file: { name?: string; meta: { relativePath?: string | null } }): string {
  const relative = file.meta.relativePath?.replace(/^\/+/, "");
  return relative && relative.length > 0 ? relative : (file.name ?? "unnamed");
}

/** The name each file is shown with and uploaded under (pickedNames.ts: one folder → paths inside it). */
export function uploadNames(uppy: TrapUppy): Map<string, string> {
  const files = uppy.getFiles();
  const folder = singleFolder(files.map(listedPath));
  return new Map(files.map((file) => [file.id, uploadPath(listedPath(file), folder)]));
}

export function filesToSend(uppy: TrapUppy, fileIds: string[]): FileToSend[] {
  const names = uploadNames(uppy);
  return fileIds.map((id) => {
    const file = uppy.getFile(id);
    return { name: names.get(id) ?? listedPath(file), size: file.size ?? 0, ...(file.type ? { type: file.type } : {}) };
  });
}

export function createUploader(api: Api): Uploader {
  const plan = { jobId: "", byFileId: new Map<string, UploadPlan>() };
  const uppy: TrapUppy = new Uppy<FileMeta, FileBody>({ autoProceed: false, allowMultipleUploadBatches: true });
  uppy.use(PlanUploader<FileMeta, FileBody>, { api, plan: () => plan });
  const plugin = uppy.getPlugin<PlanUploader<FileMeta, FileBody>>("PlanUploader")!;
  /** The upload or retry in progress, settled or not; cancel() waits for it. */
  let running: Promise<unknown> = Promise.resolve();
  const track = <T>(work: Promise<T>): Promise<T> => {
    running = work.catch(() => undefined);
    return work;
  };
  return {
    uppy,
    async start(job, fileIds) {
      plan.jobId = job.jobId;
      plan.byFileId.clear();
      const names = uploadNames(uppy);
      const byName = new Map(job.uploads.map((entry) => [entry.name, entry]));
      fileIds.forEach((id, index) => {
        // The API answers in the order it was asked; names may come back made safe.
        const name = names.get(id) ?? listedPath(uppy.getFile(id));
        const entry = job.uploads.length === fileIds.length ? job.uploads[index] : byName.get(name);
        if (!entry) throw new Error(`The server did not plan an upload for “${name}”.`);
        plan.byFileId.set(id, entry);
      });
      await track(uppy.upload());
    },
    async retry() {
      await track(uppy.retryAll());
    },
    async cancel() {
      plugin.cancel();
      await running;
      uppy.resetProgress();
      for (const file of uppy.getFiles()) if (file.error) uppy.setFileState(file.id, { error: null });
      plan.jobId = "";
      plan.byFileId.clear();
    },
  };
}

/** What went wrong with one file, in words a person can act on. */
export function uploadErrorMessage(error: unknown): string {
  const err = error as { status?: number; name?: string; message?: string; isNetworkError?: boolean; request?: XMLHttpRequest } | null;
  if (err?.name === "ApiError" && err.message) return err.message;
  const status = err?.status ?? err?.request?.status;
  if (err?.name === "StorageError" && err.message === "stalled")
    return "Nothing could be sent for a minute: the connection seems dead. Check your internet connection, then retry.";
  if (err?.isNetworkError || status === 0)
    return "The connection dropped while sending this file, even after several tries. Check your internet connection, then retry.";
  if (status === 403) return "Storage refused this file; its upload link may have expired. Retry; if it fails again, start a new upload.";
  if (status === 413 || err?.message === "EntityTooLarge") return "Storage refused this file as too large.";
  if (status !== undefined && status >= 500) return `Storage had a problem (HTTP ${status}) after several tries. Retry in a minute.`;
  if (status !== undefined) return `Storage refused this file (HTTP ${status}${err?.message ? `, ${err.message}` : ""}). Retry, or remove it and start again.`;
  return err?.message ? `Upload failed: ${err.message}` : "Upload failed for an unknown reason. Retry.";
}
