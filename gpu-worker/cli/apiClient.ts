// The command line's door to the Trapline API (functions/wire.ts has the shapes). Every failure
// becomes an ApiCallError whose message a person can act on: the server's own message when it
// sent one, plain words when it cannot be reached. Busy answers (429, 503) and dropped
// connections are tried again, after Retry-After when the server gives one.
import { setTimeout as sleep } from "node:timers/promises";
import type {
  AddFilesRequest,
  ApiErrorBody,
  CompletedUpload,
  CompleteUploadRequest,
  CreatedJob,
  CreateJobRequest,
  FileListPage,
  JobView,
  ListedParts,
  RecordPartsRequest,
  SignedParts,
  UploadPlans,
} from "../../functions/wire.ts";

export class ApiCallError extends Error {
  override name = "ApiCallError";
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  readonly code: string;
  /** The error object the server sent, with its details (names, counts). */
  readonly body: ApiErrorBody["error"] | undefined;
  constructor(status: number, code: string, message: string, body?: ApiErrorBody["error"]) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** Tries of one request that met a busy server or a dropped connection. */
const ATTEMPTS = 5;
/** Longest Retry-After waited out before trying again; beyond it the server's message is the answer. */
const MAX_RETRY_AFTER_SECONDS = 30;
/** Longest wait between tries when the server says nothing. */
const MAX_BACKOFF_MS = 10_000;

export class TraplineApi {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
  }

  createJob(body: CreateJobRequest): Promise<CreatedJob> {
    // Not repeated after a dropped connection: a second try could make a second job.
    return this.#json("POST", "/api/jobs", body, { retryDropped: false });
  }

  addFiles(jobId: string, body: AddFilesRequest): Promise<UploadPlans> {
    return this.#json("POST", `${this.#job(jobId)}/files`, body);
  }

  sign(jobId: string, names: string[]): Promise<UploadPlans> {
    return this.#json("POST", `${this.#job(jobId)}/uploads/sign`, { names });
  }

  listFiles(jobId: string, options: { missing?: boolean; cursor?: string } = {}): Promise<FileListPage> {
    const query = new URLSearchParams();
    if (options.missing) query.set("missing", "1");
    if (options.cursor) query.set("cursor", options.cursor);
    return this.#json("GET", `${this.#job(jobId)}/files?${query.toString()}`);
  }

  signParts(jobId: string, uploadId: string, partNumbers: number[]): Promise<SignedParts> {
    return this.#json("POST", `${this.#upload(jobId, uploadId)}/sign`, { partNumbers });
  }

  listParts(jobId: string, uploadId: string): Promise<ListedParts> {
    return this.#json("GET", `${this.#upload(jobId, uploadId)}/parts`);
  }

  async recordParts(jobId: string, uploadId: string, body: RecordPartsRequest): Promise<void> {
    await this.#json("POST", `${this.#upload(jobId, uploadId)}/parts`, body);
  }

  complete(jobId: string, uploadId: string, body: CompleteUploadRequest): Promise<CompletedUpload> {
    return this.#json("POST", `${this.#upload(jobId, uploadId)}/complete`, body);
  }

  async abort(jobId: string, uploadId: string): Promise<void> {
    await this.#json("DELETE", this.#upload(jobId, uploadId));
  }

  submit(jobId: string): Promise<JobView> {
    return this.#json("POST", `${this.#job(jobId)}/submit`, {});
  }

  getJob(jobId: string): Promise<JobView> {
    return this.#json("GET", this.#job(jobId));
  }

  #job(jobId: string): string {
    return `/api/jobs/${encodeURIComponent(jobId)}`;
  }

  #upload(jobId: string, uploadId: string): string {
    return `${this.#job(jobId)}/uploads/${encodeURIComponent(uploadId)}`;
  }

  async #json<T>(method: string, path: string, body?: unknown, options: { retryDropped?: boolean } = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers: body === undefined ? { accept: "application/json" } : { "content-type": "application/json", accept: "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        if (attempt < ATTEMPTS && options.retryDropped !== false && cause?.code !== "ECONNREFUSED" && cause?.code !== "ENOTFOUND") {
          await sleep(backoff(attempt));
          continue;
        }
        throw new ApiCallError(0, "unreachable", `Cannot reach the Trapline API at ${this.baseUrl} (${cause?.code ?? cause?.message ?? String(error)}). Check --api: is the server running (npm start) and the address right?`);
      }
      const text = await response.text();
      if (response.ok) {
        if (text === "") return undefined as T;
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new ApiCallError(response.status, "bad_response", `The server at ${this.baseUrl} answered ${method} ${path} with something that is not JSON. Is --api the Trapline API's address?`);
        }
      }
      if ((response.status === 429 || response.status === 503) && attempt < ATTEMPTS) {
        // A short wait is worth it; a long one (a full hourly limit) is for the person to decide.
        const retryAfter = Number(response.headers.get("retry-after") || "0");
        if (retryAfter <= MAX_RETRY_AFTER_SECONDS) {
          await sleep(retryAfter > 0 ? retryAfter * 1000 : backoff(attempt));
          continue;
        }
      }
      throw errorFrom(response.status, text, `${method} ${path}`);
    }
  }
}

function backoff(attempt: number): number {
  return Math.min(500 * 2 ** (attempt - 1), MAX_BACKOFF_MS);
}

function errorFrom(status: number, text: string, what: string): ApiCallError {
  let body: ApiErrorBody | undefined;
  try {
    body = JSON.parse(text) as ApiErrorBody;
  } catch {
    body = undefined;
  }
  const error = body?.error;
  if (error && typeof error.message === "string") return new ApiCallError(status, error.code ?? `http_${status}`, error.message, error);
  return new ApiCallError(status, `http_${status}`, `The server refused ${what} (HTTP ${status}). Is --api the Trapline API's address?`);
}
