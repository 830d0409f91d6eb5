// HTTP errors as {"error":{"code","message"}}: the shape every client relies on. Codes are
// stable and machine-readable; messages say what to do next; stack traces stay in the log.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { StoreUnavailableError } from "../core/jobStore.ts";

export class ApiError extends Error {
  override name = "ApiError";
  readonly status: ContentfulStatusCode;
  readonly code: string;
  /** Extra fields for the error object (e.g. which uploads are missing). */
  readonly details: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(status: ContentfulStatusCode, code: string, message: string, options: { details?: Record<string, unknown>; headers?: Record<string, string> } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }
}

export function errorBody(code: string, message: string, details: Record<string, unknown> = {}) {
  return { error: { code, message, ...details } };
}

/**
 * An AWS SDK error that means S3 or SQS could not be reached (refused, timed out, throttled or a
 * 5xx), as opposed to S3 answering "no such key".
 */
export function isAwsUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429 || status === 503;
  const code = (error as { code?: string }).code ?? "";
  return ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EPIPE"].includes(code) || error.name === "TimeoutError";
}

/** The app's onError: known errors to their status, infrastructure outages to 503, the rest to 500. */
export function handleError(error: Error, c: Context, log: (message: string) => void): Response {
  if (error instanceof ApiError) {
    return c.json(errorBody(error.code, error.message, error.details), error.status, error.headers);
  }
  if (error instanceof StoreUnavailableError) {
    log(error.message);
    return c.json(errorBody("unavailable", "The job database is unavailable right now. Please try again in a minute."), 503, { "Retry-After": "30" });
  }
  if (isAwsUnavailable(error)) {
    log(`S3/SQS unavailable: ${error.name}: ${error.message}`);
    return c.json(errorBody("unavailable", "File storage or the job queue is unavailable right now. Please try again in a minute."), 503, {
      "Retry-After": "30",
    });
  }
  if (error instanceof HTTPException) {
    const status = error.status;
    const code = status === 413 ? "body_too_large" : "bad_request";
    return c.json(errorBody(code, error.message || "The request could not be read."), status);
  }
  log(`Unexpected error on ${c.req.method} ${c.req.path}: ${error.stack ?? String(error)}`);
  return c.json(errorBody("internal", "Something went wrong on our side. Please try again; if it keeps happening, tell us the time."), 500);
}
