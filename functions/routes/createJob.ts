// POST /api/jobs: validate, rate-limit, create the job in Redis and hand back an upload plan per
// file (a presigned PUT, or a multipart upload with its first part URLs). Keys are chosen here.
import { randomBytes } from "node:crypto";
import { Hono } from "hono";
import type { Context } from "hono";
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand } from "@aws-sdk/client-s3";
import type { JobRecord, PlannedFile } from "../../core/jobs.ts";
import { inputKey } from "../../core/keys.ts";
import { RateLimiter } from "../../core/rateLimit.ts";
import { ApiError } from "../errors.ts";
import { expiry, presignParts, presignPut } from "../presign.ts";
import type { AppDeps } from "../types.ts";
import { INITIAL_SIGNED_PARTS, partCountFor, partNumbers, partSizeFor, usesMultipart } from "../uploadPlan.ts";
import { CreateJobBody, checkFiles, parseBody } from "../validation.ts";
import type { CheckedFile } from "../validation.ts";

/** S3 calls in flight at once while creating multipart uploads for one job. */
const CREATE_CONCURRENCY = 16;

export type UploadPlan =
  | { name: string; method: "PUT"; url: string; headers: Record<string, string> }
  | {
      name: string;
      method: "multipart";
      multipart: {
        uploadId: string;
        key: string;
        partSize: number;
        partCount: number;
        /** The first parts' URLs; sign the rest with POST /api/jobs/<id>/uploads/<uploadId>/sign. */
        parts: { partNumber: number; url: string }[];
      };
    };

export function newJobId(): string {
  return randomBytes(16).toString("base64url");
}

export function defaultClientIp(c: Context): string | undefined {
  return c.req.header("x-forwarded-for")?.split(",")[0]?.trim() || undefined;
}

export function createJobRoutes(deps: AppDeps): Hono {
  const { config, store, aws } = deps;
  const limiter = deps.rateLimiter ?? new RateLimiter(store.redis, { limit: config.RATE_LIMIT_PER_HOUR });
  const clientIp = deps.clientIp ?? defaultClientIp;

  return new Hono().post("/api/jobs", async (c) => {
    const body = await parseBody(c, CreateJobBody);
    const files = checkFiles(body.files, config);

    // Both counted, so a refusal by one still uses up the other: one client cannot dodge by rotating emails.
    const [byIp, byEmail] = await Promise.all([limiter.hit("ip", clientIp(c) ?? "unknown"), limiter.hit("email", body.email)]);
    const refused = [byIp, byEmail].find((verdict) => !verdict.allowed);
    if (refused) {
      const minutes = Math.ceil(refused.retryAfterSeconds / 60);
      throw new ApiError(429, "rate_limited", `Too many new jobs in the last hour (at most ${config.RATE_LIMIT_PER_HOUR}). Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`, {
        headers: { "Retry-After": String(refused.retryAfterSeconds) },
      });
    }

    const jobId = newJobId();
    const planned = await planUploads(deps, jobId, files);
    const now = new Date().toISOString();
    const job: JobRecord = {
      id: jobId,
      email: body.email,
      status: "uploading",
      createdAt: now,
      updatedAt: now,
      fileCount: files.length,
      totalBytes: files.reduce((sum, file) => sum + file.size, 0),
      options: body.options ?? {},
      progress: { processed: 0, total: 0 },
      attempts: 0,
    };
    try {
      await store.create(job, planned.map((entry) => entry.file));
    } catch (error) {
      await abortAll(deps, planned.map((entry) => entry.file));
      throw error;
    }
    return c.json({ jobId, expiresAt: expiry(config.PRESIGN_SECONDS), uploads: planned.map((entry) => entry.plan) }, 201);
  });

  async function planUploads(deps: AppDeps, jobId: string, files: readonly CheckedFile[]) {
    const plans: { file: PlannedFile; plan: UploadPlan }[] = [];
    try {
      await forEachLimited(files, CREATE_CONCURRENCY, async (file, index) => {
        plans[index] = await planOne(jobId, file);
      });
    } catch (error) {
      await abortAll(deps, plans.filter(Boolean).map((entry) => entry.file));
      throw error;
    }
    return plans;
  }

  async function planOne(jobId: string, file: CheckedFile): Promise<{ file: PlannedFile; plan: UploadPlan }> {
    const key = inputKey(jobId, file.name);
    const seconds = config.PRESIGN_SECONDS;
    if (!usesMultipart(file.size, config.MULTIPART_THRESHOLD_BYTES)) {
      const url = await presignPut(aws.presigner, { bucket: config.BUCKET, key, contentType: file.type, size: file.size }, seconds);
      return {
        file: { name: file.name, key, size: file.size, type: file.type, method: "PUT" },
        plan: { name: file.name, method: "PUT", url, headers: { "content-type": file.type } },
      };
    }
    const { UploadId } = await aws.s3.send(new CreateMultipartUploadCommand({ Bucket: config.BUCKET, Key: key, ContentType: file.type }));
    if (!UploadId) throw new Error(`S3 returned no upload id for ${key}`);
    const partSize = partSizeFor(file.size, config.PART_BYTES);
    const partCount = partCountFor(file.size, partSize);
    const parts = await presignParts(aws.presigner, { bucket: config.BUCKET, key, uploadId: UploadId, size: file.size, partSize }, partNumbers(Math.min(partCount, INITIAL_SIGNED_PARTS)), seconds);
    return {
      file: { name: file.name, key, size: file.size, type: file.type, method: "multipart", uploadId: UploadId },
      plan: { name: file.name, method: "multipart", multipart: { uploadId: UploadId, key, partSize, partCount, parts } },
    };
  }
}

/** Abandons multipart uploads of a job that could not be created, so S3 does not keep their parts. */
async function abortAll(deps: AppDeps, files: readonly PlannedFile[]): Promise<void> {
  await Promise.allSettled(
    files
      .filter((file) => file.uploadId)
      .map((file) => deps.aws.s3.send(new AbortMultipartUploadCommand({ Bucket: deps.config.BUCKET, Key: file.key, UploadId: file.uploadId }))),
  );
}

async function forEachLimited<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  });
  await Promise.all(runners);
}
