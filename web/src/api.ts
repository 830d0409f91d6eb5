// The page's only door to the Trapline API. Every failure becomes an ApiError whose message a
// person can act on: the server's own message when it sent one, plain words when it is down.
import type {
  AddFilesRequest,
  ApiErrorBody,
  BrowseSummary,
  CreatedJob,
  CreateJobRequest,
  DroppedFiles,
  DropFilesRequest,
  FileListPage,
  ImagesPage,
  JobView,
  SignUploadsRequest,
  UploadPlans,
} from "../../functions/wire.ts";

export class ApiError extends Error {
  override name = "ApiError";
  readonly code: string;
  /** HTTP status, or 0 when the server could not be reached. */
  readonly status: number;
  /** What the error body adds beside code and message (the names concerned, submit's counts). */
  readonly details: Partial<ApiErrorBody["error"]>;
  constructor(code: string, message: string, status: number, details: Partial<ApiErrorBody["error"]> = {}) {
    super(message);
    this.code = code;
    this.status = status;
    this.details = details;
  }
}

export const UNREACHABLE_MESSAGE =
  "Cannot reach the Trapline server. Check your internet connection; if it works, the service may be down for a moment.";

export interface SignedRequest {
  url: string;
  headers?: Record<string, string>;
}

export class Api {
  readonly baseUrl: string;
  constructor(baseUrl: string) {
    this.baseUrl = baseUrl;
  }

  /** Creates the job with its first page of files (functions/wire.ts: at most MAX_PAGE_FILES). */
  createJob(request: CreateJobRequest): Promise<CreatedJob> {
    return this.#json<CreatedJob>("POST", "/api/jobs", request);
  }

  /** Adds a page of files to a job still uploading; answers with their plans. */
  addFiles(jobId: string, request: AddFilesRequest, signal?: AbortSignal): Promise<UploadPlans> {
    return this.#json<UploadPlans>("POST", `/api/jobs/${encodeURIComponent(jobId)}/files`, request, signal);
  }

  /** Leaves files out of a job still uploading (at most MAX_PAGE_FILES names). */
  dropFiles(jobId: string, request: DropFilesRequest): Promise<DroppedFiles> {
    return this.#json<DroppedFiles>("POST", `/api/jobs/${encodeURIComponent(jobId)}/files/drop`, request);
  }

  /** Fresh plans for files already in the job (names as the plans gave them). */
  signUploads(jobId: string, request: SignUploadsRequest, signal?: AbortSignal): Promise<UploadPlans> {
    return this.#json<UploadPlans>("POST", `/api/jobs/${encodeURIComponent(jobId)}/uploads/sign`, request, signal);
  }

  /** A page of the job's planned files, or with `missing` of those storage does not hold yet. */
  listFiles(jobId: string, options: { missing: boolean; cursor?: string }, signal?: AbortSignal): Promise<FileListPage> {
    const query = new URLSearchParams(options.missing ? { missing: "1" } : {});
    if (options.cursor) query.set("cursor", options.cursor);
    const text = query.toString();
    return this.#json<FileListPage>("GET", `/api/jobs/${encodeURIComponent(jobId)}/files${text ? `?${text}` : ""}`, undefined, signal);
  }

  submitJob(jobId: string): Promise<JobView> {
    return this.#json<JobView>("POST", `/api/jobs/${encodeURIComponent(jobId)}/submit`, {});
  }

  getJob(jobId: string, signal?: AbortSignal): Promise<JobView> {
    return this.#json<JobView>("GET", `/api/jobs/${encodeURIComponent(jobId)}`, undefined, signal);
  }

  /** A finished job's counts per category, folder and hour, and its cameras with GPS. */
  getSummary(jobId: string, signal?: AbortSignal): Promise<BrowseSummary> {
    return this.#json<BrowseSummary>("GET", `/api/jobs/${encodeURIComponent(jobId)}/summary`, undefined, signal);
  }

  /** A page of the gallery: `query` holds the filters (and the cursor of the page before). */
  getImages(jobId: string, query: Record<string, string>, signal?: AbortSignal): Promise<ImagesPage> {
    const text = new URLSearchParams(query).toString();
    return this.#json<ImagesPage>("GET", `/api/jobs/${encodeURIComponent(jobId)}/images${text ? `?${text}` : ""}`, undefined, signal);
  }

  /** A link that always redirects to a freshly signed download. */
  downloadRedirectUrl(jobId: string): string {
    return `${this.baseUrl}/api/jobs/${encodeURIComponent(jobId)}/download`;
  }

  /** POST/GET/DELETE on one of the job's multipart helper routes (`uploads/...`); `signal` cancels it. */
  uploadsHelper<T>(method: "GET" | "POST" | "DELETE", jobId: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    return this.#json<T>(method, `/api/jobs/${encodeURIComponent(jobId)}/uploads/${path}`, body, signal);
  }

  async #json<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: body === undefined ? { accept: "application/json" } : { "content-type": "application/json", accept: "application/json" },
        body: body === undefined ? null : JSON.stringify(body),
        signal: signal ?? null,
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw new ApiError("unreachable", UNREACHABLE_MESSAGE, 0);
    }
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      parsed = null;
    }
    if (!response.ok) throw errorFrom(response.status, parsed);
    // 204: done, nothing to say (recording a multipart upload's parts, aborting one).
    if (response.status === 204) return undefined as T;
    if (parsed === null) throw new ApiError("bad_response", "The server sent an answer the page cannot read. Try again in a minute.", response.status);
    return parsed as T;
  }
}

function errorFrom(status: number, body: unknown): ApiError {
  const error = (body as { error?: Partial<Record<keyof ApiErrorBody["error"], unknown>> } | null)?.error;
  if (error && typeof error.message === "string") {
    return new ApiError(typeof error.code === "string" ? error.code : `http_${status}`, error.message, status, error as Partial<ApiErrorBody["error"]>);
  }
  if (status === 404) return new ApiError("not_found", "The server does not know this job. Check the link, or start a new upload.", status);
  if (status === 429) return new ApiError("rate_limited", "Too many jobs from here in the last hour. Wait a while and try again.", status);
  if (status >= 500) return new ApiError(`http_${status}`, "The Trapline server had a problem. Try again in a minute.", status);
  return new ApiError(`http_${status}`, `The server refused the request (HTTP ${status}).`, status);
}
