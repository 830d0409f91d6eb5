// POST /api/jobs/<id>/submit: check what really arrived in S3 against the plan, page by page
// (each ListObjectsV2 page against the plan's records for those names, bounded memory), recording
// each object's ETag in the plan so the worker reads exactly what was checked; then move the job
// to queued and send its one SQS message. Answers a failed check with counts and the first few
// problems. Idempotent: the atomic uploading→queued step has one winner, and only the winner
// sends; later calls answer with the job as it stands, without listing S3.
import { Hono } from "hono";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { NotUploadingError } from "../../core/filePlan.ts";
import { jobMessageBody, type JobMessage, type JobRecord } from "../../core/jobs.ts";
import { inputPrefix } from "../../core/keys.ts";
import { ApiError } from "../errors.ts";
import { idleUploads, jobExpired } from "../idleUploads.ts";
import { jobLimits } from "../jobLimits.ts";
import { checkJobId, notFound, viewOf } from "../jobView.ts";
import type { AppDeps } from "../types.ts";
import { planner } from "../uploadPlans.ts";
import type { SubmitProblems } from "../wire.ts";

/** At most this many names are listed per problem in a 409, so the body stays small. */
const MAX_LISTED = 20;

export function submitRoutes(deps: AppDeps): Hono {
  const { config, store, aws } = deps;
  const limits = jobLimits(deps);
  const idle = idleUploads(deps);
  const { plan } = planner(deps);

  /** Lists the job's inputs a page at a time, marking in the plan what arrived; counts, and the first few of each problem. */
  async function checkUploads(jobId: string, fileCount: number): Promise<SubmitProblems> {
    const prefix = inputPrefix(jobId);
    const problems: SubmitProblems = { missingCount: 0, extraCount: 0, wrongSizeCount: 0, missing: [], extra: [], wrongSize: [] };
    let matched = 0;
    let token: string | undefined;
    do {
      const page = await aws.s3.send(new ListObjectsV2Command({ Bucket: config.BUCKET, Prefix: prefix, ContinuationToken: token }));
      const objects = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ name: object.Key.slice(prefix.length), size: object.Size ?? 0, etag: object.ETag ?? "" }] : []));
      // Once another submit has queued the job, this throws NotUploadingError (checkAndQueue).
      const check = await plan.markStored(jobId, objects);
      matched += check.matched;
      problems.extraCount += check.extra.length;
      problems.wrongSizeCount += check.wrongSize.length;
      problems.extra.push(...check.extra.slice(0, MAX_LISTED - problems.extra.length));
      problems.wrongSize.push(...check.wrongSize.slice(0, MAX_LISTED - problems.wrongSize.length));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    // Planned files storage did not hold at all: count them, and name the first few.
    problems.missingCount = Math.max(0, fileCount - matched - problems.wrongSizeCount);
    if (problems.missingCount > 0) {
      for await (const batch of plan.batches(jobId)) {
        for (const file of batch) if (!file.etag && file.storedSize === undefined && problems.missing.length < MAX_LISTED) problems.missing.push(file.name);
        if (problems.missing.length >= Math.min(MAX_LISTED, problems.missingCount)) break;
      }
    }
    return problems;
  }

  /**
   * Checks storage against the plan and moves the job to queued: the job as queued, or null when
   * another submit queued it meanwhile. Throws a 409 naming what is wrong.
   */
  async function checkAndQueue(id: string, fileCount: number): Promise<JobRecord | null> {
    let problems: SubmitProblems;
    try {
      problems = await checkUploads(id, fileCount);
    } catch (error) {
      if (error instanceof NotUploadingError) return null;
      throw error;
    }
    if (problems.missingCount + problems.extraCount + problems.wrongSizeCount > 0) {
      throw new ApiError(409, "uploads_incomplete", describe(problems), { details: { ...problems } });
    }
    if (fileCount === 0) throw new ApiError(409, "no_files", "This job has no files yet. Add them with POST /api/jobs/<id>/files, upload them, then submit.");
    // Files added while storage was being listed were not checked: the client submits again.
    const now = await store.get(id);
    if (now?.status === "uploading" && now.fileCount !== fileCount) {
      throw new ApiError(409, "files_changed", `Files were added while the upload was being checked (${fileCount} then, ${now.fileCount} now). Upload them, then submit again.`);
    }
    const moved = await store.transition(id, ["uploading"], "queued", { messageState: "sending" });
    return moved.ok ? moved.job : null;
  }

  /** Sends the job's message; the record says whether it went, so a failed send can be retried. */
  async function sendMessage(jobId: string): Promise<void> {
    const message: JobMessage = { jobId, step: "plan" };
    try {
      await aws.sqs.send(new SendMessageCommand({ QueueUrl: await aws.queueUrl(), MessageBody: jobMessageBody(message) }));
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
      const touched = await idle.idle.touch(id);
      if (touched.state === "expired") {
        await idle.expired(touched.expired);
        throw jobExpired(config.UPLOAD_IDLE_SECONDS);
      }
      const queued = await checkAndQueue(id, job.fileCount);
      if (queued) {
        await idle.idle.finished(id);
        await sendMessage(id);
        return c.json(await viewOf(deps, queued), 200);
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

function describe(problems: SubmitProblems): string {
  const parts: string[] = [];
  const list = (names: string[], count: number) => names.slice(0, 5).map((name) => `"${name}"`).join(", ") + (count > 5 ? ` and ${count - 5} more` : "");
  if (problems.missingCount) parts.push(`${problems.missingCount} file(s) did not arrive: ${list(problems.missing, problems.missingCount)}`);
  if (problems.wrongSizeCount) parts.push(`${problems.wrongSizeCount} file(s) arrived with a different size than announced: ${list(problems.wrongSize.map((file) => file.name), problems.wrongSizeCount)}`);
  if (problems.extraCount) parts.push(`${problems.extraCount} file(s) arrived that were not in the plan: ${list(problems.extra, problems.extraCount)}`);
  return `The upload is not complete. ${parts.join("; ")}. Upload the missing files again (GET /api/jobs/<id>/files?missing=1 lists them; POST /api/jobs/<id>/uploads/sign gives fresh links), then submit.`;
}
