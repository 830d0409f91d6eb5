// Multipart helpers under /api/jobs/<id>/uploads/<uploadId>/...: what a resumable browser
// uploader (Uppy's @uppy/aws-s3) needs beyond the plan from POST /api/jobs. Only uploads of that
// job, only while it is still uploading.
//
//   POST   .../sign      {partNumbers:[..]}              → {parts:[{partNumber,url}], expiresAt}
//   GET    .../parts                                     → {parts:[{PartNumber,Size,ETag}], partsKnown}
//   POST   .../complete  {parts:[{PartNumber,ETag}]}      → {name, key, location}
//   DELETE .../                                          → 204
import { Hono } from "hono";
import type { Context } from "hono";
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, ListPartsCommand } from "@aws-sdk/client-s3";
import type { Part } from "@aws-sdk/client-s3";
import type { PlannedFile } from "../../core/jobs.ts";
import { ApiError } from "../errors.ts";
import { jobLimits } from "../jobLimits.ts";
import { checkJobId, notFound } from "../jobView.ts";
import { expiry, presignParts } from "../presign.ts";
import type { AppDeps } from "../types.ts";
import { partCountFor, partSizeFor } from "../uploadPlan.ts";
import { CompleteUploadBody, SignPartsBody, parseBody } from "../validation.ts";

/** S3 answers that mean the client sent something wrong, not that S3 is down. */
const CLIENT_SIDE_S3_ERRORS: Record<string, { status: 400 | 404; code: string; advice: string }> = {
  NoSuchUpload: { status: 404, code: "unknown_upload", advice: "This upload was completed or abandoned already." },
  InvalidPart: { status: 400, code: "invalid_part", advice: "A part is missing or its ETag does not match; upload it again." },
  InvalidPartOrder: { status: 400, code: "invalid_part", advice: "List the parts in ascending part-number order." },
  EntityTooSmall: { status: 400, code: "part_too_small", advice: "Every part except the last must be at least 5 MiB." },
};

export function uploadRoutes(deps: AppDeps): Hono {
  const { config, store, aws } = deps;
  const limits = jobLimits(deps);

  /** The job's planned multipart file with this upload id, while the job is uploading. */
  async function plannedUpload(c: Context): Promise<PlannedFile & { uploadId: string }> {
    const id = c.req.param("id") ?? "";
    const uploadId = c.req.param("uploadId") ?? "";
    checkJobId(id);
    const job = await store.get(id);
    if (!job) throw notFound(id);
    if (job.status !== "uploading") {
      throw new ApiError(409, "not_uploading", `This job is ${job.status}; its uploads can no longer change.`);
    }
    const file = (await store.getFiles(id))?.find((entry) => entry.uploadId === uploadId);
    if (!file?.uploadId) throw new ApiError(404, "unknown_upload", `Job ${id} has no multipart upload ${JSON.stringify(uploadId)}.`);
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
      const parts = await presignParts(
        aws.presigner,
        { bucket: config.BUCKET, key: file.key, uploadId: file.uploadId, size: file.size, partSize },
        wanted,
        config.PRESIGN_SECONDS,
      );
      return c.json({ parts, expiresAt: expiry(config.PRESIGN_SECONDS) });
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
        // emulators without ListParts (fauxqs treats it as a GET): say no part is known, and the
        // uploader sends them all again, which S3 allows (a part number re-uploaded replaces the old).
        if (!(error instanceof Error && error.name === "NoSuchKey")) throw error;
        return c.json({ parts: [], partsKnown: false });
      }
      return c.json({ parts: parts.map((part) => ({ PartNumber: part.PartNumber, Size: part.Size, ETag: part.ETag })), partsKnown: true });
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
      return c.json({ name: file.name, key: file.key, location: done.Location ?? null });
    })
    .delete(base, async (c) => {
      const file = await plannedUpload(c);
      await s3Call(() => aws.s3.send(new AbortMultipartUploadCommand({ Bucket: config.BUCKET, Key: file.key, UploadId: file.uploadId })));
      return c.body(null, 204);
    });
}
