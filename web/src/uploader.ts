// Uppy set up for Trapline: @uppy/core holds the files, their progress and errors; the
// PlanUploader plugin sends them where the API's plan says.
import Uppy from "@uppy/core";
import type { Api } from "./api.ts";
import { PlanUploader } from "./planUploader.ts";
import type { CreatedJob, FileToSend, UploadPlan } from "./types.ts";

export type FileMeta = { name: string; type: string; relativePath?: string | null };
export type FileBody = Record<string, never>;
export type TrapUppy = Uppy<FileMeta, FileBody>;

export interface Uploader {
  uppy: TrapUppy;
  /** Ties the API's plan to the files (in the order they were sent) and uploads them. */
  start(job: CreatedJob, fileIds: string[]): Promise<void>;
}

/** The name the API gets for a file: its path inside the folder the user chose, else its name. */
export function uploadName(file: { name?: string; meta: { relativePath?: string | null } }): string {
  const relative = file.meta.relativePath?.replace(/^\/+/, "");
  return relative && relative.length > 0 ? relative : (file.name ?? "unnamed");
}

export function filesToSend(uppy: TrapUppy, fileIds: string[]): FileToSend[] {
  return fileIds.map((id) => {
    const file = uppy.getFile(id);
    return { name: uploadName(file), size: file.size ?? 0, ...(file.type ? { type: file.type } : {}) };
  });
}

export function createUploader(api: Api): Uploader {
  const plan = { jobId: "", byFileId: new Map<string, UploadPlan>() };
  const uppy: TrapUppy = new Uppy<FileMeta, FileBody>({ autoProceed: false, allowMultipleUploadBatches: true });
  uppy.use(PlanUploader<FileMeta, FileBody>, { api, plan: () => plan });
  return {
    uppy,
    async start(job, fileIds) {
      plan.jobId = job.jobId;
      plan.byFileId.clear();
      const byName = new Map(job.uploads.map((entry) => [entry.name, entry]));
      fileIds.forEach((id, index) => {
        // The API answers in the order it was asked; names may come back made safe.
        const entry = job.uploads.length === fileIds.length ? job.uploads[index] : byName.get(uploadName(uppy.getFile(id)));
        if (!entry) throw new Error(`The server did not plan an upload for “${uploadName(uppy.getFile(id))}”.`);
        plan.byFileId.set(id, entry);
      });
      await uppy.upload();
    },
  };
}

/** What went wrong with one file, in words a person can act on. */
export function uploadErrorMessage(error: unknown): string {
  const err = error as { status?: number; name?: string; message?: string; isNetworkError?: boolean; request?: XMLHttpRequest } | null;
  if (err?.name === "ApiError" && err.message) return err.message;
  const status = err?.status ?? err?.request?.status;
  if (err?.isNetworkError || status === 0)
    return "The connection dropped while sending this file, even after several tries. Check your internet connection, then retry.";
  if (status === 403) return "Storage refused this file; its upload link may have expired. Retry; if it fails again, start a new upload.";
  if (status === 413 || err?.message === "EntityTooLarge") return "Storage refused this file as too large.";
  if (status !== undefined && status >= 500) return `Storage had a problem (HTTP ${status}) after several tries. Retry in a minute.`;
  if (status !== undefined) return `Storage refused this file (HTTP ${status}${err?.message ? `, ${err.message}` : ""}). Retry, or remove it and start again.`;
  return err?.message ? `Upload failed: ${err.message}` : "Upload failed for an unknown reason. Retry.";
}
