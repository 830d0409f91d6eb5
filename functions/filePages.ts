// A job's file list a page at a time: adding a page of files to the plan, and listing the plan
// (all of it, or what storage does not hold yet) in pages under MAX_BODY_BYTES with a cursor.
//
// Listing what is missing takes two passes, each bounded per request: first the job's inputs in
// storage are listed (ListObjectsV2, LIST_PAGES_PER_REQUEST pages a request, answering with no
// files and a cursor meanwhile) and each object found at its planned size is marked in the plan
// (core/filePlan.ts markStored); then the plan is scanned (HSCAN) for files not marked. Memory
// stays one listing page or one scan batch, whatever the job's size.
import { AbortMultipartUploadCommand, DeleteObjectsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { ListObjectsV2CommandOutput } from "@aws-sdk/client-s3";
import { z } from "zod";
import { NotUploadingError } from "../core/filePlan.ts";
import type { PlannedFile } from "../core/jobs.ts";
import { inputPrefix } from "../core/keys.ts";
import { ApiError } from "./errors.ts";
import { notFound } from "./jobView.ts";
import type { AppDeps } from "./types.ts";
import type { Planner } from "./uploadPlans.ts";
import { jsonBytes } from "./uploadPlans.ts";
import { usesMultipart } from "./uploadPlan.ts";
import type { CheckedFile } from "./validation.ts";
import { tooLarge, tooManyFiles } from "./validation.ts";
import { MAX_BODY_BYTES, MAX_PAGE_FILES, NAMES_LISTED } from "./wire.ts";
import type { DroppedFiles, FileListPage } from "./wire.ts";

/** Storage listing pages (1,000 objects each) one request may walk while marking what arrived. */
const LIST_PAGES_PER_REQUEST = 10;
/** Scan batches one request may read looking for missing files before it answers with what it has. */
const SCANS_PER_REQUEST = 50;
/** Room an answer keeps beside its files: the cursor holds at most one 900-byte name, base64. */
const ENVELOPE_BYTES = 4_096;

/** S3 calls in flight at once while aborting the multipart uploads of dropped files. */
const ABORT_CONCURRENCY = 8;

/**
 * Leaves `names` out of a job still uploading: out of its plan and counts first (so submit no
 * longer waits for them), then out of storage (their open multipart uploads aborted, what
 * storage holds of them deleted in one request), so submit finds nothing extra either.
 */
export async function dropFiles(deps: Pick<AppDeps, "config" | "aws">, plans: Planner, jobId: string, names: readonly string[]): Promise<DroppedFiles> {
  const { config, aws } = deps;
  const result = await plans.plan.drop(jobId, names);
  if (!result.ok) {
    if (result.problem === "not_uploading") throw new ApiError(409, "not_uploading", `This job is ${result.status}; files can be left out only while it is uploading.`);
    throw notFound(jobId);
  }
  const open = result.dropped.filter((file) => file.uploadId);
  for (let at = 0; at < open.length; at += ABORT_CONCURRENCY) {
    await Promise.all(
      open.slice(at, at + ABORT_CONCURRENCY).map((file) => aws.s3.send(new AbortMultipartUploadCommand({ Bucket: config.BUCKET, Key: file.key, UploadId: file.uploadId })).catch(() => undefined)),
    );
  }
  // At most MAX_PAGE_FILES keys: DeleteObjects takes 1,000 in one request.
  if (result.dropped.length > 0) {
    await aws.s3.send(new DeleteObjectsCommand({ Bucket: config.BUCKET, Delete: { Objects: result.dropped.map((file) => ({ Key: file.key })), Quiet: true } }));
  }
  return { dropped: result.dropped.length, fileCount: result.fileCount, totalBytes: result.totalBytes, notInJob: result.notPlanned.slice(0, NAMES_LISTED) };
}

/** Adds checked files to the job's plan (one atomic step with the limits) and returns them as planned. */
export async function addPage(deps: Pick<AppDeps, "config">, plans: Planner, jobId: string, files: readonly CheckedFile[]): Promise<PlannedFile[]> {
  const { config } = deps;
  if (files.length === 0) return [];
  const entries = files.map((file) => ({ ...file, method: usesMultipart(file.size, config.MULTIPART_THRESHOLD_BYTES) ? ("multipart" as const) : ("PUT" as const) }));
  const added = await plans.plan.add(jobId, entries, { maxFiles: config.MAX_FILES, maxTotalBytes: config.MAX_TOTAL_BYTES });
  if (!added.ok) {
    if (added.problem === "duplicate") {
      const shown = added.names.slice(0, NAMES_LISTED);
      const more = added.names.length > shown.length ? ` and ${added.names.length - shown.length} more` : "";
      throw new ApiError(400, "duplicate_name", `The job has these files already: ${shown.map((name) => JSON.stringify(name)).join(", ")}${more}. Send each name once; to send a file again, ask POST /api/jobs/<id>/uploads/sign for a fresh link.`, {
        details: { names: shown },
      });
    }
    if (added.problem === "too_many_files") throw tooManyFiles(added.count, config.MAX_FILES);
    if (added.problem === "too_large") throw tooLarge(added.bytes, config.MAX_TOTAL_BYTES);
    if (added.problem === "not_uploading") throw new ApiError(409, "not_uploading", `This job is ${added.status}; files can be added only while it is uploading.`);
    throw new ApiError(404, "not_found", `There is no job ${JSON.stringify(jobId)}.`);
  }
  return entries.map((file) => ({ name: file.name, key: `${inputPrefix(jobId)}${file.name}`, size: file.size, type: file.type, method: file.method }));
}

const Cursor = z.union([
  z.object({ job: z.string(), missing: z.boolean(), phase: z.literal("list"), after: z.string() }),
  z.object({ job: z.string(), missing: z.boolean(), phase: z.literal("scan"), scan: z.string().regex(/^\d+$/), skip: z.number().int().min(0) }),
]);
type Cursor = z.infer<typeof Cursor>;

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString("base64url");
}

/** The cursor a client sent back; 400 when it is garbled, or belongs to another job or another kind of listing. */
function decodeCursor(text: string, jobId: string, missing: boolean): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  const cursor = Cursor.safeParse(parsed);
  if (!cursor.success) throw new ApiError(400, "invalid_cursor", "This cursor cannot be read. Pass back the cursor of the previous page exactly as it came, or start again without one.");
  if (cursor.data.job !== jobId) throw new ApiError(400, "invalid_cursor", "This cursor belongs to another job's listing. Start this job's listing again without a cursor.");
  if (cursor.data.missing !== missing) throw new ApiError(400, "invalid_cursor", `This cursor belongs to a listing ${cursor.data.missing ? "with" : "without"} missing=1; keep the same query for every page.`);
  return cursor.data;
}

/** One page of the job's planned files (or of those storage does not hold yet, when `missing`). */
export async function listPage(deps: Pick<AppDeps, "config" | "aws">, plans: Planner, jobId: string, options: { missing: boolean; uploading: boolean; cursor?: string }): Promise<FileListPage> {
  const { config, aws } = deps;
  const { missing } = options;
  // Storage is listed (and marked in the plan) only while the job uploads; after submit the plan
  // holds what submit found, and that is what `missing` reports.
  let at: Cursor = options.cursor
    ? decodeCursor(options.cursor, jobId, missing)
    : missing && options.uploading
      ? { job: jobId, missing, phase: "list", after: "" }
      : { job: jobId, missing, phase: "scan", scan: "0", skip: 0 };

  if (at.phase === "list") {
    const prefix = inputPrefix(jobId);
    for (let page = 0; page < LIST_PAGES_PER_REQUEST && at.phase === "list"; page++) {
      const listed: ListObjectsV2CommandOutput = await aws.s3.send(new ListObjectsV2Command({ Bucket: config.BUCKET, Prefix: prefix, MaxKeys: 1000, ...(at.after ? { StartAfter: `${prefix}${at.after}` } : {}) }));
      const objects = (listed.Contents ?? []).flatMap((object) => (object.Key ? [{ name: object.Key.slice(prefix.length), size: object.Size ?? 0, etag: object.ETag ?? "" }] : []));
      try {
        await plans.plan.markStored(jobId, objects);
      } catch (error) {
        if (!(error instanceof NotUploadingError)) throw error;
        throw new ApiError(409, "not_uploading", "This job was submitted (or expired) while its files were being listed. List them again.");
      }
      const last = objects.at(-1)?.name;
      at = listed.IsTruncated && last !== undefined ? { ...at, after: last } : { job: jobId, missing, phase: "scan", scan: "0", skip: 0 };
    }
    if (at.phase === "list") return { files: [], cursor: encodeCursor(at) };
  }

  const files: FileListPage["files"] = [];
  let used = 2;
  const budget = MAX_BODY_BYTES - ENVELOPE_BYTES;
  for (let scans = 0; scans < SCANS_PER_REQUEST; scans++) {
    const batch = await plans.plan.scan(jobId, { scan: at.scan, skip: at.skip });
    for (const [index, file] of batch.files.entries()) {
      if (missing && file.etag) continue;
      const entry = { name: file.name, size: file.size };
      const bytes = jsonBytes(entry) + 1;
      if (files.length >= MAX_PAGE_FILES || used + bytes > budget) {
        return { files, cursor: encodeCursor({ ...at, skip: at.skip + index }) };
      }
      files.push(entry);
      used += bytes;
    }
    if (batch.next === "0") return { files };
    at = { job: jobId, missing, phase: "scan", scan: batch.next, skip: 0 };
  }
  return { files, cursor: encodeCursor(at) };
}
