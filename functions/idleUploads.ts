// Jobs that stop uploading and are never submitted. Who frees their storage: the API, on its own
// calls. Each POST /api/jobs first sweeps a bounded amount: expires the jobs idle for
// UPLOAD_IDLE_SECONDS (core/uploadIdle.ts), gives back their count against their owners'
// creation limits, then takes a few steps of freeing the storage of expired jobs (abort their
// open multipart uploads, delete their inputs a listing page at a time). Why here: the API runs
// whenever anyone uses the service, in AWS and under `npm start` alike, while the GPU workers
// scale to zero when the queue is empty; an S3 lifecycle rule cannot tell a submitted job's
// inputs from an abandoned one's. The bucket's lifecycle rules stay the backstop when nobody
// comes by: unfinished multipart uploads go after a day, everything after RETENTION_DAYS.
//
// A job is also expired the moment any upload route touches it after its idle time: the
// client learns at once (409 job_expired), whether or not a sweep has come by.
import { AbortMultipartUploadCommand, DeleteObjectsCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { JobRecord } from "../core/jobs.ts";
import { inputPrefix } from "../core/keys.ts";
import { RateLimiter } from "../core/rateLimit.ts";
import { idleReason, UploadIdle } from "../core/uploadIdle.ts";
import type { ExpiredJob } from "../core/uploadIdle.ts";
import { FilePlan } from "../core/filePlan.ts";
import { ApiError } from "./errors.ts";
import { checkJobId, notFound } from "./jobView.ts";
import type { AppDeps } from "./types.ts";

/** Idle jobs expired per sweep. */
const EXPIRED_PER_SWEEP = 5;
/** Storage steps per sweep: each is up to ABORTS_PER_STEP aborts, or one list-and-delete of up to 1,000 inputs. */
const STEPS_PER_SWEEP = 2;
const ABORTS_PER_STEP = 50;

export interface IdleUploads {
  idle: UploadIdle;
  /** The creation limiter whose counts expired jobs give back (the one POST /api/jobs counts with). */
  limiter: RateLimiter;
  /**
   * The job, while it is uploading, with the activity recorded; 404 when there is no such job,
   * 409 not_uploading or job_expired (expired by this call when it had been idle too long).
   */
  uploadingJob(id: string): Promise<JobRecord>;
  /** Gives back an expired job's creation counts and queues its storage to be freed. */
  expired(job: ExpiredJob): Promise<void>;
  /** One bounded sweep (see the top of this file); never throws, problems go to the log. */
  sweep(): Promise<void>;
}

export function idleUploads(deps: AppDeps): IdleUploads {
  const { config, store, aws } = deps;
  const log = deps.log ?? ((message: string) => console.error(message));
  const idle = new UploadIdle(store.redis, { idleSeconds: config.UPLOAD_IDLE_SECONDS });
  const limiter = deps.rateLimiter ?? new RateLimiter(store.redis, { limit: config.RATE_LIMIT_PER_HOUR });
  const plan = new FilePlan(store.redis, { retentionDays: config.RETENTION_DAYS });

  async function expired(job: ExpiredJob): Promise<void> {
    for (const counted of job.countedBy) await limiter.refund(counted.kind, counted.subject, job.createdAtMs);
  }

  async function uploadingJob(id: string): Promise<JobRecord> {
    checkJobId(id);
    const job = await store.get(id);
    if (!job) throw notFound(id);
    const touched = job.status === "uploading" ? await idle.touch(id) : { state: "not_uploading" as const, status: job.status };
    if (touched.state === "active") return job;
    if (touched.state === "expired") {
      await expired(touched.expired);
      throw jobExpired(config.UPLOAD_IDLE_SECONDS);
    }
    if (touched.status === "expired") throw jobExpired(config.UPLOAD_IDLE_SECONDS);
    throw new ApiError(409, "not_uploading", `This job is ${touched.status ?? "gone"}; its uploads can no longer change.`);
  }

  /** One step of freeing an expired job's storage; true when nothing of it is left. */
  async function freeStep(jobId: string): Promise<boolean> {
    const { uploads } = await plan.openUploads(jobId);
    if (uploads.length > 0) {
      await Promise.all(
        uploads.slice(0, ABORTS_PER_STEP).map(async ({ uploadId, name }) => {
          await aws.s3
            .send(new AbortMultipartUploadCommand({ Bucket: config.BUCKET, Key: `${inputPrefix(jobId)}${name}`, UploadId: uploadId }))
            .catch((error: unknown) => {
              if (!(error instanceof Error && error.name === "NoSuchUpload")) throw error;
            });
          await plan.closeUpload(jobId, uploadId);
        }),
      );
      return false;
    }
    const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: config.BUCKET, Prefix: inputPrefix(jobId), MaxKeys: 1000 }));
    const keys = (listed.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
    if (keys.length > 0) {
      await aws.s3.send(new DeleteObjectsCommand({ Bucket: config.BUCKET, Delete: { Objects: keys, Quiet: true } }));
      return false;
    }
    await plan.remove(jobId);
    await idle.cleanupDone(jobId);
    return true;
  }

  async function sweep(): Promise<void> {
    try {
      for (const job of await idle.expireIdle(EXPIRED_PER_SWEEP)) await expired(job);
      let steps = STEPS_PER_SWEEP;
      for (const jobId of await idle.cleanupDue(STEPS_PER_SWEEP)) {
        while (steps > 0) {
          steps--;
          if (await freeStep(jobId)) break;
        }
      }
    } catch (error) {
      log(`Sweep of idle uploads stopped early (it goes on at the next job created): ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  return { idle, limiter, uploadingJob, expired, sweep };
}

export function jobExpired(idleSeconds: number): ApiError {
  return new ApiError(409, "job_expired", idleReason(idleSeconds));
}
