// Uppy set up for Trapline, holding only the files being sent right now: the upload queue
// (uploadQueue.ts) hands it one file at a time with its plan and hears back once the file is in
// storage or has failed. While a file is sent Uppy keeps its progress; the PlanUploader plugin
// sends it where the plan says. Uppy copies its whole file table on every progress event and
// adding n files at once costs it n² steps (in Chromium 20,000 files took over three minutes to
// add, and each progress event 17 ms), so it never holds more than the files in flight.
import Uppy from "@uppy/core";
import type { UploadPlan } from "../../functions/wire.ts";
import type { Api } from "./api.ts";
import { PlanUploader } from "./planUploader.ts";

export type FileMeta = { name: string; type: string; relativePath?: string | null };
export type FileBody = Record<string, never>;
type TrapUppy = Uppy<FileMeta, FileBody>;

export class CancelledError extends Error {
  override name = "CancelledError";
  constructor() {
    super("The upload was cancelled.");
  }
}

export interface Transport {
  /** Sends one file per its plan; resolves once storage holds it, rejects with what went wrong. */
  send(file: File, name: string, plan: UploadPlan, onProgress: (sent: number) => void): Promise<void>;
  /** Aborts every transfer; each send() in progress rejects with a CancelledError. */
  cancel(): void;
}

export function createTransport(api: Api, jobId: () => string): Transport {
  const uppy: TrapUppy = new Uppy<FileMeta, FileBody>({ autoProceed: false, allowMultipleUploadBatches: true });
  const plans = new Map<string, UploadPlan>();
  const waiting = new Map<string, { settle: (error: Error | null) => void; onProgress: (sent: number) => void }>();
  uppy.use(PlanUploader<FileMeta, FileBody>, { api, jobId, planOf: (id) => plans.get(id) });

  uppy.on("upload-progress", (file, progress) => {
    if (file) waiting.get(file.id)?.onProgress(progress.bytesUploaded || 0);
  });
  uppy.on("upload-success", (file) => {
    if (file) waiting.get(file.id)?.settle(null);
  });
  uppy.on("upload-error", (file, error) => {
    if (file) waiting.get(file.id)?.settle(error ?? new Error("Upload failed for an unknown reason."));
  });

  return {
    send(file, name, plan, onProgress) {
      const id = uppy.addFile({ name: file.name, type: file.type, data: file, meta: { name: file.name, type: file.type, relativePath: name }, source: "local", isRemote: false });
      plans.set(id, plan);
      const settled = new Promise<void>((resolve, reject) => {
        waiting.set(id, { settle: (error) => (error === null ? resolve() : reject(error)), onProgress });
      }).finally(() => {
        waiting.delete(id);
        plans.delete(id);
        if (uppy.getFile(id)) uppy.removeFile(id);
      });
      // Starts this file (upload() takes the files added and not yet started: just this one).
      uppy.upload().catch((error: unknown) => waiting.get(id)?.settle(error instanceof Error ? error : new Error(String(error))));
      return settled;
    },
    cancel() {
      uppy.cancelAll();
      for (const { settle } of [...waiting.values()]) settle(new CancelledError());
    },
  };
}

/** The request failed for want of a connection (not refused): the queue pauses and tries again. */
export function isConnectionError(error: unknown): boolean {
  const err = error as { name?: string; status?: number } | null;
  return (err?.name === "StorageError" || err?.name === "ApiError") && err.status === 0;
}

/** What went wrong with one file, in words a person can act on. */
export function uploadErrorMessage(error: unknown): string {
  const err = error as { status?: number; name?: string; message?: string } | null;
  if (err?.name === "ApiError" && err.message) return err.message;
  const status = err?.status;
  if (status === 403) return "Storage refused this file's upload link, also after a fresh one was signed. Retry; if it fails again, start a new upload.";
  if (status === 413 || err?.message === "EntityTooLarge") return "Storage refused this file as too large.";
  if (status !== undefined && status >= 500) return `Storage had a problem (HTTP ${status}) after several tries. Retry in a minute.`;
  if (status !== undefined && status > 0) return `Storage refused this file (HTTP ${status}${err?.message ? `, ${err.message}` : ""}). Retry, or remove it and start again.`;
  return err?.message ? `Upload failed: ${err.message}` : "Upload failed for an unknown reason. Retry.";
}
