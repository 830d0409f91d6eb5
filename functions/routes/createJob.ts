// POST /api/jobs: validate, rate-limit, create the job in Redis with its first page of files (or
// none) and hand back an upload plan per file (functions/uploadPlans.ts). Keys are chosen here.
// The rest of the files follow a page at a time (routes/files.ts).
import { randomBytes } from "node:crypto";
import { Hono } from "hono";
import type { Context } from "hono";
import type { JobRecord } from "../../core/jobs.ts";
import type { CountedBy } from "../../core/uploadIdle.ts";
import { ApiError } from "../errors.ts";
import { addPage } from "../filePages.ts";
import { idleUploads } from "../idleUploads.ts";
import { expiry } from "../presign.ts";
import type { AppDeps } from "../types.ts";
import { planner } from "../uploadPlans.ts";
import { CreateJobBody, checkPage, parseBody, tooLarge, tooManyFiles } from "../validation.ts";
import { MAX_PAGE_FILES } from "../wire.ts";
import type { CreatedJob, JobLimitsView } from "../wire.ts";

export function newJobId(): string {
  return randomBytes(16).toString("base64url");
}

export function defaultClientIp(c: Context): string | undefined {
  return c.req.header("x-forwarded-for")?.split(",")[0]?.trim() || undefined;
}

export function createJobRoutes(deps: AppDeps): Hono {
  const { config, store } = deps;
  const idle = idleUploads(deps);
  const plans = planner(deps);
  const clientIp = deps.clientIp ?? defaultClientIp;
  const limits: JobLimitsView = {
    maxFiles: config.MAX_FILES,
    maxTotalBytes: config.MAX_TOTAL_BYTES,
    maxFileBytes: config.MAX_FILE_BYTES,
    pageFiles: MAX_PAGE_FILES,
    uploadIdleSeconds: config.UPLOAD_IDLE_SECONDS,
  };

  return new Hono().post("/api/jobs", async (c) => {
    const body = await parseBody(c, CreateJobBody);
    const files = checkPage(body.files ?? [], config);
    // What the job will hold, as far as this request tells: refused before anything is created.
    const count = Math.max(files.length, body.totals?.files ?? 0);
    const bytes = Math.max(files.reduce((sum, file) => sum + file.size, 0), body.totals?.bytes ?? 0);
    if (count > config.MAX_FILES) throw tooManyFiles(count, config.MAX_FILES);
    if (bytes > config.MAX_TOTAL_BYTES) throw tooLarge(bytes, config.MAX_TOTAL_BYTES);

    // Jobs left idle expire first, so one never submitted no longer counts against its owner.
    await idle.sweep();

    // Both counted, so a refusal by one still uses up the other: one client cannot dodge by rotating emails.
    const countedBy: CountedBy[] = [
      { kind: "ip", subject: clientIp(c) ?? "unknown" },
      { kind: "email", subject: body.email },
    ];
    const verdicts = await Promise.all(countedBy.map((counted) => idle.limiter.hit(counted.kind, counted.subject)));
    const refused = verdicts.find((verdict) => !verdict.allowed);
    if (refused) {
      const minutes = Math.ceil(refused.retryAfterSeconds / 60);
      throw new ApiError(429, "rate_limited", `Too many new jobs in the last hour (at most ${config.RATE_LIMIT_PER_HOUR}). Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`, {
        headers: { "Retry-After": String(refused.retryAfterSeconds) },
      });
    }

    const jobId = newJobId();
    const now = new Date().toISOString();
    const job: JobRecord = {
      id: jobId,
      email: body.email,
      status: "uploading",
      createdAt: now,
      updatedAt: now,
      fileCount: 0,
      totalBytes: 0,
      options: body.options ?? {},
      progress: { processed: 0, total: 0 },
      attempts: 0,
    };
    await store.create(job);
    await idle.idle.started(jobId, countedBy);
    const planned = await addPage(deps, plans, jobId, files);
    const answer: CreatedJob = { jobId, expiresAt: expiry(config.PRESIGN_SECONDS), limits, ...(await plans.plansFor(jobId, planned, { singleUpload: body.singleUpload })) };
    return c.json(answer, 201);
  });
}
