// POST /api/jobs/<id>/submit: check what really arrived in S3 against the plan, then move the
// job to queued (recording each object's ETag, so the worker reads exactly what was checked)
// and send its one SQS message. Idempotent: the atomic uploading→queued step has one winner, and
// only the winner sends; later calls answer with the job as it stands, without listing S3.
import { Hono } from "hono";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { JobMessage, PlannedFile } from "../../core/jobs.ts";
import { inputPrefix } from "../../core/keys.ts";
import { ApiError } from "../errors.ts";
import { jobLimits } from "../jobLimits.ts";
import { checkJobId, notFound, viewOf } from "../jobView.ts";
import type { AppDeps } from "../types.ts";

/** At most this many names are listed per problem in a 409, so the body stays small. */
const MAX_LISTED = 50;

export interface UploadCheck {
  missing: string[];
  extra: string[];
  wrongSize: { name: string; expected: number; actual: number }[];
}

/** An object under the job's input prefix, as ListObjectsV2 describes it. */
export interface FoundObject {
  size: number;
  etag?: string;
}

/** Compares the planned files with the objects found under the job's input prefix. */
export function compareUploads(planned: readonly PlannedFile[], found: ReadonlyMap<string, FoundObject>, prefix: string): UploadCheck {
  const check: UploadCheck = { missing: [], extra: [], wrongSize: [] };
  const plannedKeys = new Set<string>();
  for (const file of planned) {
    plannedKeys.add(file.key);
    const object = found.get(file.key);
    if (object === undefined) check.missing.push(file.name);
    else if (object.size !== file.size) check.wrongSize.push({ name: file.name, expected: file.size, actual: object.size });
  }
  for (const key of found.keys()) if (!plannedKeys.has(key)) check.extra.push(key.slice(prefix.length));
  return check;
}

export function submitRoutes(deps: AppDeps): Hono {
  const { config, store, aws } = deps;
  const limits = jobLimits(deps);

  async function listInputs(jobId: string): Promise<Map<string, FoundObject>> {
    const found = new Map<string, FoundObject>();
    let token: string | undefined;
    do {
      const page = await aws.s3.send(new ListObjectsV2Command({ Bucket: config.BUCKET, Prefix: inputPrefix(jobId), ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        if (object.Key) found.set(object.Key, { size: object.Size ?? 0, ...(object.ETag ? { etag: object.ETag } : {}) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  /** Sends the job's message; the record says whether it went, so a failed send can be retried. */
  async function sendMessage(jobId: string): Promise<void> {
    const message: JobMessage = { jobId };
    try {
      await aws.sqs.send(new SendMessageCommand({ QueueUrl: await aws.queueUrl(), MessageBody: JSON.stringify(message) }));
    } catch (error) {
      await store.compareAndSetMessageState(jobId, ["sending"], "unsent");
      throw error;
    }
    await store.compareAndSetMessageState(jobId, ["sending"], "sent");
  }

  return new Hono().post("/api/jobs/:id/submit", async (c) => {
    const id = c.req.param("id");
    checkJobId(id);
    const job = await store.get(id);
    if (!job) throw notFound(id);
    await limits.submit(id);

    if (job.status === "uploading") {
      const planned = await store.getFiles(id);
      if (!planned) throw notFound(id); // the plan expired with the record's retention
      const found = await listInputs(id);
      const check = compareUploads(planned, found, inputPrefix(id));
      const problems = check.missing.length + check.extra.length + check.wrongSize.length;
      if (problems > 0) {
        throw new ApiError(409, "uploads_incomplete", describe(check), {
          details: { missing: check.missing.slice(0, MAX_LISTED), extra: check.extra.slice(0, MAX_LISTED), wrongSize: check.wrongSize.slice(0, MAX_LISTED) },
        });
      }
      const checked = planned.map((file) => {
        const etag = found.get(file.key)?.etag;
        return etag ? { ...file, etag } : file;
      });
      const moved = await store.transition(id, ["uploading"], "queued", { messageState: "sending", files: checked });
      if (moved.ok) {
        await sendMessage(id);
        return c.json(await viewOf(deps, moved.job), 200);
      }
      // Another submit won the race; fall through and answer with the job as it now is.
    } else if (job.status === "queued" && (await store.compareAndSetMessageState(id, ["unsent"], "sending"))) {
      // An earlier submit queued the job but could not reach SQS: this call sends it.
      await sendMessage(id);
    }

    const now = await store.get(id);
    if (!now) throw notFound(id);
    if (now.status === "failed" || now.status === "expired") {
      throw new ApiError(409, `job_${now.status}`, `This job is ${now.status}${now.error ? `: ${now.error}` : ""}. Start a new job to try again.`);
    }
    return c.json(await viewOf(deps, now), 200);
  });
}

function describe(check: UploadCheck): string {
  const parts: string[] = [];
  const list = (names: string[]) => names.slice(0, 5).map((name) => `"${name}"`).join(", ") + (names.length > 5 ? ` and ${names.length - 5} more` : "");
  if (check.missing.length) parts.push(`${check.missing.length} file(s) did not arrive: ${list(check.missing)}`);
  if (check.wrongSize.length) parts.push(`${check.wrongSize.length} file(s) arrived with a different size than announced: ${list(check.wrongSize.map((file) => file.name))}`);
  if (check.extra.length) parts.push(`${check.extra.length} file(s) arrived that were not in the plan: ${list(check.extra)}`);
  return `The upload is not complete. ${parts.join("; ")}. Upload the missing files again (or start a new job), then submit.`;
}
