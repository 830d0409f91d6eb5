// Fresh upload links for files already in a job, and the multipart helpers a resumable uploader
// (Uppy's @uppy/aws-s3, the command line) needs beyond the plans. Only files of that job, only
// while it is still uploading.
//
//   POST   /api/jobs/<id>/uploads/sign   {names:[≤1,000]}      → {uploads, expiresAt, unsigned?}
//          fresh plans: a new PUT link, or new part links for the same multipart upload (a new
//          upload when the file has none open: completed, or aborted with DELETE below)
//   under /api/jobs/<id>/uploads/<uploadId>:
//   POST   .../sign      {partNumbers:[..]}                     → {parts:[{partNumber,url}], expiresAt, unsigned?}
//   GET    .../parts                                            → {parts:[{PartNumber,Size,ETag}], partsKnown}
//   POST   .../parts     {parts:[{partNumber,etag}]}            → 204 (kept for a resume where S3 cannot list parts)
//   POST   .../complete  {parts:[{PartNumber,ETag}]}             → {name, key, location}
//   DELETE .../                                                 → 204 (also when S3 had ended it already)
import { Hono } from "hono";
import type { Context } from "hono";
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, ListPartsCommand } from "@aws-sdk/client-s3";
import type { Part } from "@aws-sdk/client-s3";
import type { PlannedFile } from "../../core/jobs.ts";
import { safeRelativePath } from "../../core/safePath.ts";
import { ApiError } from "../errors.ts";
import { idleUploads } from "../idleUploads.ts";
import { jobLimits } from "../jobLimits.ts";
import { checkJobId } from "../jobView.ts";
import { expiry } from "../presign.ts";
import type { AppDeps } from "../types.ts";
import { partCountFor, partSizeFor } from "../uploadPlan.ts";
import { jsonBytes, planner } from "../uploadPlans.ts";
import { CompleteUploadBody, parseBody, RecordPartsBody, SignPartsBody, SignUploadsBody } from "../validation.ts";
import { MAX_BODY_BYTES, NAMES_LISTED } from "../wire.ts";
import type { ListedParts, SignedPart, SignedParts, UploadPlans } from "../wire.ts";

/** S3 answers that mean the client sent something wrong, not that S3 is down. */
const CLIENT_SIDE_S3_ERRORS: Record<string, { status: 400 | 404; code: string; advice: string }> = {
  NoSuchUpload: { status: 404, code: "unknown_upload", advice: "This upload was completed or abandoned already." },
  InvalidPart: { status: 400, code: "invalid_part", advice: "A part is missing or its ETag does not match; upload it again." },
  InvalidPartOrder: { status: 400, code: "invalid_part", advice: "List the parts in ascending part-number order." },
  EntityTooSmall: { status: 400, code: "part_too_small", advice: "Every part except the last must be at least 5 MiB." },
};

/** Room a part-links answer keeps beside its list. */
const ENVELOPE_BYTES = 1_024;

export function uploadRoutes(deps: AppDeps): Hono {
  const { config, aws } = deps;
  const limits = jobLimits(deps);
  const idle = idleUploads(deps);
  const plans = planner(deps);

  /** The job's planned multipart file with this upload open, while the job is uploading. */
  async function plannedUpload(c: Context): Promise<PlannedFile & { uploadId: string }> {
    const id = c.req.param("id") ?? "";
    const uploadId = c.req.param("uploadId") ?? "";
    await idle.uploadingJob(id);
    const file = await plans.plan.byUploadId(id, uploadId);
    if (!file?.uploadId) throw new ApiError(404, "unknown_upload", `Job ${id} has no open multipart upload ${JSON.stringify(uploadId)}. Ask POST /api/jobs/${id}/uploads/sign with the file's name for a fresh plan.`);
    return { ...file, uploadId: file.uploadId };
  }

  async function s3Call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      const known = error instanceof Error ? CLIENT_SIDE_S3_ERRORS[error.name] : undefined;
      if (known) throw new ApiError(known.status, known.code, `${known.advice} (S3: ${(error as Error).message})`);
      throw error;
    }
  }

  const base = "/api/jobs/:id/uploads/:uploadId";
  return new Hono()
    .post("/api/jobs/:id/uploads/sign", async (c) => {
      const id = c.req.param("id");
      checkJobId(id);
      const { names, singleUpload } = await parseBody(c, SignUploadsBody);
      await idle.uploadingJob(id);
      // Names as the plans gave them are safe already; one sent as the user typed it is made safe the same way.
      const safe = names.map((name) => safeRelativePath(name) ?? name);
      const files = await plans.plan.get(id, safe);
      const unknown = safe.filter((_, index) => files[index] === null);
      if (unknown.length > 0) {
        const shown = unknown.slice(0, NAMES_LISTED);
        throw new ApiError(404, "unknown_name", `This job has no file named ${shown.map((name) => JSON.stringify(name)).join(", ")}${unknown.length > shown.length ? ` (and ${unknown.length - shown.length} more)` : ""}. Add new files with POST /api/jobs/${id}/files.`, {
          details: { names: shown },
        });
      }
      const answer: UploadPlans = { expiresAt: expiry(config.PRESIGN_SECONDS), ...(await plans.plansFor(id, files as PlannedFile[], { singleUpload })) };
      const parts = answer.uploads.reduce((sum, plan) => sum + (plan.method === "multipart" ? plan.multipart.parts.length : 0), 0);
      if (parts > 0) await limits.signParts(id, parts);
      return c.json(answer, 200);
    })
    .post(`${base}/sign`, async (c) => {
      const file = await plannedUpload(c);
      const { partNumbers } = await parseBody(c, SignPartsBody);
      const partSize = partSizeFor(file.size, config.PART_BYTES);
      const partCount = partCountFor(file.size, partSize);
      const outside = partNumbers.find((partNumber) => partNumber > partCount);
      if (outside !== undefined) {
        throw new ApiError(400, "invalid_part", `"${file.name}" has ${partCount} parts; there is no part ${outside}.`);
      }
      const wanted = [...new Set(partNumbers)];
      await limits.signParts(c.req.param("id"), wanted.length);
      const target = { key: file.key, uploadId: file.uploadId, size: file.size, partSize };
      const signed = await Promise.all(wanted.map(async (partNumber): Promise<SignedPart> => ({ partNumber, url: await plans.signer.part(target, partNumber) })));
      // In the order asked, while they fit in one answer; the client asks again for the rest.
      const parts: SignedPart[] = [];
      let used = 2;
      for (const part of signed) {
        const bytes = jsonBytes(part) + 1;
        if (used + bytes > MAX_BODY_BYTES - ENVELOPE_BYTES) break;
        parts.push(part);
        used += bytes;
      }
      const answer: SignedParts = { parts, expiresAt: expiry(config.PRESIGN_SECONDS), ...(parts.length < wanted.length ? { unsigned: wanted.length - parts.length } : {}) };
      return c.json(answer);
    })
    .get(`${base}/parts`, async (c) => {
      const file = await plannedUpload(c);
      const parts: Part[] = [];
      let marker: string | undefined;
      try {
        do {
          const page = await s3Call(() =>
            aws.s3.send(new ListPartsCommand({ Bucket: config.BUCKET, Key: file.key, UploadId: file.uploadId, PartNumberMarker: marker })),
          );
          parts.push(...(page.Parts ?? []));
          marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
        } while (marker);
      } catch (error) {
        // S3 answers a ListParts of an unknown upload with NoSuchUpload. NoSuchKey comes only from
        // emulators without ListParts (fauxqs treats it as a GET): answer with the parts the client
        // recorded, if any; else say none is known, and the uploader sends them all again (a part
        // number uploaded again replaces the old one).
        if (!(error instanceof Error && error.name === "NoSuchKey")) throw error;
        const recorded = await plans.plan.recordedParts(c.req.param("id"), file.uploadId);
        const answer: ListedParts = { parts: recorded.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag })), partsKnown: recorded.length > 0 };
        return c.json(answer);
      }
      const answer: ListedParts = {
        parts: parts.map((part) => ({ PartNumber: part.PartNumber ?? 0, ETag: part.ETag ?? "", ...(part.Size === undefined ? {} : { Size: part.Size }) })),
        partsKnown: true,
      };
      return c.json(answer);
    })
    .post(`${base}/parts`, async (c) => {
      const file = await plannedUpload(c);
      const { parts } = await parseBody(c, RecordPartsBody);
      const partCount = partCountFor(file.size, partSizeFor(file.size, config.PART_BYTES));
      const outside = parts.find((part) => part.partNumber > partCount);
      if (outside) throw new ApiError(400, "invalid_part", `"${file.name}" has ${partCount} parts; there is no part ${outside.partNumber}.`);
      await plans.plan.recordParts(c.req.param("id"), file.uploadId, parts);
      return c.body(null, 204);
    })
    .post(`${base}/complete`, async (c) => {
      const file = await plannedUpload(c);
      const { parts } = await parseBody(c, CompleteUploadBody);
      const ordered = [...parts].sort((a, b) => a.PartNumber - b.PartNumber);
      const done = await s3Call(() =>
        aws.s3.send(
          new CompleteMultipartUploadCommand({ Bucket: config.BUCKET, Key: file.key, UploadId: file.uploadId, MultipartUpload: { Parts: ordered } }),
        ),
      );
      await plans.plan.closeUpload(c.req.param("id"), file.uploadId, done.ETag ?? "");
      return c.json({ name: file.name, key: file.key, location: done.Location ?? null });
    })
    .delete(base, async (c) => {
      const file = await plannedUpload(c);
      await aws.s3.send(new AbortMultipartUploadCommand({ Bucket: config.BUCKET, Key: file.key, UploadId: file.uploadId })).catch((error: unknown) => {
        // Ended already (S3's lifecycle, or an earlier abort that lost its answer): the goal is met.
        if (!(error instanceof Error && error.name === "NoSuchUpload")) throw error;
      });
      await plans.plan.closeUpload(c.req.param("id"), file.uploadId);
      return c.body(null, 204);
    });
}
