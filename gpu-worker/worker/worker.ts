// The long-running consumer: takes one message at a time and does that step of a job
// (DESIGN.md "Jobs of any size"): plan it into shards (shards/planShards.ts), run one shard
// (shards/runShard.ts), or merge every shard into the package (shards/mergeJob.ts), then email
// its owner. It only coordinates: the queue, the job store, the shard ledger, S3 and the pipeline
// each do their own work.
//
// At-least-once delivery is assumed throughout. A message is deleted only once its step's output
// is in S3 (and, for the merge, the job is `done`); a worker that dies leaves the message to
// reappear, and the next delivery redoes that step only: a killed worker costs at most one shard.
// A shard that keeps failing becomes rows with the reason after MAX_RECEIVES attempts and the job
// goes on; a plan or merge that keeps failing ends the job `failed`. Either way the message goes
// on to the dead-letter queue (the queue's redrive policy) for the operator.
import { HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../../core/config.ts";
import { FilePlan } from "../../core/filePlan.ts";
import { DEFAULT_IMAGES, type JobMessage, type JobRecord, type JobResult, type PlannedFile } from "../../core/jobs.ts";
import { StoreUnavailableError, type JobStore } from "../../core/jobStore.ts";
import { resultKey } from "../../core/keys.ts";
import { sendJobEmail, type JobEmailDeps } from "../../core/notify/index.ts";
import { ShardLedger } from "../../core/shardLedger.ts";
import { DEFAULT_RENDER_THRESHOLD, resolveInputLimits, type ImageResult, type InputItem, type OpenModel, type PipelineProgress } from "../pipeline/index.ts";
import type { UnpackBudget } from "../pipeline/inputs/limits.ts";
import { categoriesOf } from "../pipeline/run/processImages.ts";
import { expandZip } from "../pipeline/inputs/collectInputs.ts";
import { countZipEntries, ZipReadError, ZipSourceError } from "../pipeline/inputs/zipEntries.ts";
import { s3ZipSource } from "./s3ZipSource.ts";
import { ProgressThrottle } from "./progressThrottle.ts";
import { describeMessage, LONG_POLL_SECONDS, MAX_VISIBILITY_SECONDS, type Heartbeat, type JobQueue, type ReceivedMessage } from "./queue.ts";
import { mergeJob } from "./shards/mergeJob.ts";
import { blankSampleRate } from "../pipeline/outputs/preview.ts";
import { planShards } from "./shards/planShards.ts";
import { runShard, type ShardSummary } from "./shards/runShard.ts";
import { openShardInputs } from "./shards/shardInputs.ts";
import { ShardObjects, type ShardFile, type ShardFiles } from "./shards/shardObjects.ts";
import type { TaskProtection } from "./taskProtection.ts";
import type { HealthBeacon } from "./health.ts";
import { claimWorkerScratch, defaultScratchParent, type WorkerScratch } from "./scratch.ts";

/** What the worker runs jobs with: the model already open, and its names for the reports. */
export interface WorkerOptions {
  config: Config;
  store: JobStore;
  queue: JobQueue;
  /** The dead-letter queue: jobs whose messages land there (their worker died on the last attempt) are failed. */
  deadLetters?: JobQueue;
  s3: S3Client;
  model: OpenModel;
  log?: (line: string) => void;
  /**
   * Where this worker makes its own scratch folder, which holds every job's downloads and spools
   * (default $TMPDIR/trapline-worker). At start it removes the folders of workers that are gone.
   */
  scratchDir?: string;
  /** Seconds before a failed attempt is retried, by the receive count that failed. */
  retryDelaySeconds?: (receiveCount: number) => number;
  /** How often the dead-letter queue is checked. */
  deadLetterCheckMs?: number;
  /** Long-poll length (SQS allows up to 20 s; tests use less). */
  pollSeconds?: number;
  /** Pause after the queue or Redis could not be reached, before trying again. */
  unavailableBackoffMs?: number;
  /** ECS task scale-in protection while a job is held (a no-op outside ECS). */
  protection?: TaskProtection;
  /** The heartbeat file the container's health check reads: told when a job starts, moves and ends. */
  health?: HealthBeacon;
  /** How job emails go out (core/notify jobEmailDeps); absent: no email (tests that do not look). */
  email?: JobEmailDeps;
}

/**
 * Scale-in protection is asked for this long and renewed at half of it while the job runs: a
 * worker that dies without releasing it leaves its task protected for minutes, not hours.
 */
const PROTECTION_MINUTES = 10;

/** Back off 10 s, 20 s, 40 s... (at most 5 minutes): a blip passes, a poison job still ends soon. */
export function defaultRetryDelaySeconds(receiveCount: number): number {
  return Math.min(10 * 2 ** (receiveCount - 1), 300);
}

const DEAD_LETTER_CHECK_MS = 10_000;
const UNAVAILABLE_BACKOFF_MS = 2_000;
/** Leave this much of the grace period for giving the message back and closing down. */
const SHUTDOWN_MARGIN_MS = 2_000;

/** What becomes of a message once the worker is through with it. */
type Outcome = { settle: "delete" } | { settle: "retry"; delaySeconds: number };

/** Thrown out of a Redis wait when the worker is stopping: the message goes back to the queue. */
class ShuttingDown extends Error {}

/** One job's attempt, while it runs. */
interface Running {
  message: ReceivedMessage;
  jobId: string;
  /** The message's own key (messageKey): its last error is remembered under it. */
  key: string;
  /** "job X shard 2 of 5", for log lines. */
  label: string;
  startedAt: number;
  progress?: PipelineProgress;
  done: Promise<void>;
  heartbeat?: Heartbeat;
  /** Set when shutdown gave the message back: the attempt must not touch the message again. */
  abandoned: boolean;
}

export class QueueWorker {
  readonly #options: WorkerOptions;
  readonly #log: (line: string) => void;
  readonly #poll = new AbortController();
  /** Last error of each job whose attempt failed, for the reason shown if it lands in the DLQ. */
  readonly #lastErrors = new Map<string, string>();
  #stopping = false;
  #running: Running | undefined;
  /** When the poll now waiting on the queue ends at the latest. */
  #pollEndsAt = 0;
  #loop: Promise<void> | undefined;
  #deadLetterTimer: NodeJS.Timeout | undefined;
  #lastUnavailableLog = 0;
  /** This worker's scratch folder, while the loop runs (a job handed back at stop leaves it to the next start). */
  #scratch: WorkerScratch | undefined;

  readonly #files: FilePlan;
  readonly #objects: ShardObjects;
  readonly #ledger: ShardLedger;
  /** Names this worker in the shard ledger ("workers on the job" counts distinct ones). */
  readonly #workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;

  constructor(options: WorkerOptions) {
    this.#options = options;
    this.#log = options.log ?? ((line) => console.log(line));
    this.#files = new FilePlan(options.store.redis, { retentionDays: options.config.RETENTION_DAYS });
    this.#objects = new ShardObjects(options.s3, options.config.BUCKET);
    this.#ledger = new ShardLedger(options.store.redis, { retentionDays: options.config.RETENTION_DAYS });
  }

  /** Starts taking jobs; resolves when the loop has ended after stop(). */
  start(): Promise<void> {
    this.#loop ??= this.#run();
    if (this.#options.deadLetters) {
      const check = () => {
        void this.#checkDeadLetters().finally(() => {
          if (!this.#stopping) this.#deadLetterTimer = setTimeout(check, this.#options.deadLetterCheckMs ?? DEAD_LETTER_CHECK_MS);
        });
      };
      check();
    }
    return this.#loop;
  }

  /** The job being worked on, if any (for logs and tests). */
  get currentJobId(): string | undefined {
    return this.#running?.jobId;
  }

  /**
   * Stops receiving. A job in progress finishes if it can within `graceMs`; otherwise its message
   * is given back (visible again at once) so another worker starts it promptly.
   */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#deadLetterTimer);
    const running = this.#running;
    if (!running) {
      // Let a poll that ends within the grace period run out: cutting it off can leave a
      // message handed to a connection nobody reads, hidden until its visibility ends.
      if (this.#pollEndsAt - Date.now() > graceMs - SHUTDOWN_MARGIN_MS) this.#poll.abort();
      return this.#waitForLoop();
    }
    const budget = graceMs - SHUTDOWN_MARGIN_MS;
    const estimate = estimateRemainingMs(running);
    if (estimate !== undefined && estimate > budget) {
      this.#log(`Stopping: job ${running.jobId} needs about ${Math.round(estimate / 1000)} s more, longer than the ${Math.round(graceMs / 1000)} s grace period; handing it back to the queue.`);
    } else {
      this.#log(`Stopping: letting job ${running.jobId} finish (up to ${Math.round(Math.max(0, budget) / 1000)} s).`);
      const finished = await Promise.race([running.done.then(() => true), sleep(Math.max(0, budget), false)]);
      if (finished) return this.#waitForLoop();
      this.#log(`Stopping: job ${running.jobId} did not finish in the grace period; handing it back to the queue.`);
    }
    // The attempt runs on (this process is about to exit) but never touches the message again.
    running.abandoned = true;
    await running.heartbeat?.stop();
    await this.#options.queue.giveBack(running.message.receiptHandle).catch((error: unknown) => {
      this.#log(`Could not hand job ${running.jobId} back (${messageOf(error)}); it reappears when its visibility timeout ends.`);
    });
  }

  async #waitForLoop(): Promise<void> {
    await this.#loop;
  }

  async #run(): Promise<void> {
    const scratch = await claimWorkerScratch(this.#options.scratchDir ?? defaultScratchParent());
    this.#scratch = scratch;
    if (scratch.cleared.length > 0) this.#log(`Removed the scratch folders of ${scratch.cleared.length} worker${scratch.cleared.length === 1 ? "" : "s"} that stopped without clearing up.`);
    try {
      await this.#takeJobs();
    } finally {
      await scratch.release();
    }
  }

  async #takeJobs(): Promise<void> {
    const { queue, config } = this.#options;
    while (!this.#stopping) {
      let message: ReceivedMessage | undefined;
      try {
        const waitSeconds = this.#options.pollSeconds ?? LONG_POLL_SECONDS;
        this.#pollEndsAt = Date.now() + waitSeconds * 1000;
        message = await queue.receive({ visibilitySeconds: config.VISIBILITY_SECONDS, waitSeconds, signal: this.#poll.signal });
      } catch (error) {
        if (this.#stopping) break;
        this.#unavailable(`The job queue is unreachable (${messageOf(error)}); retrying.`);
        await sleep(this.#options.unavailableBackoffMs ?? UNAVAILABLE_BACKOFF_MS);
        continue;
      }
      if (!message) continue;
      if (this.#stopping) {
        // Received while shutting down: let another worker have it now.
        await queue.giveBack(message.receiptHandle).catch(() => {});
        break;
      }
      const jobId = message.job?.jobId ?? "(unreadable message)";
      const running: Running = {
        message,
        jobId,
        key: message.job ? messageKey(message.job) : message.messageId,
        label: message.job ? capitalised(describeMessage(message.job)) : `Message ${message.messageId}`,
        startedAt: Date.now(),
        done: Promise.resolve(),
        abandoned: false,
      };
      this.#running = running;
      running.done = this.#handle(running).catch((error: unknown) => {
        this.#log(`Job ${running.jobId}: unexpected error (${messageOf(error)})`);
      });
      await running.done;
      this.#running = undefined;
    }
  }

  async #handle(running: Running): Promise<void> {
    const { queue, config } = this.#options;
    const { message } = running;
    if (!message.job) {
      // Not a job message: nothing to fail. The redrive moves it to the DLQ for the operator.
      this.#log(`Ignoring a message that is not a job (id ${message.messageId}, receive ${message.receiveCount}): ${message.body.slice(0, 200)}`);
      if (message.receiveCount > config.MAX_RECEIVES) await queue.delete(message.receiptHandle);
      else await queue.giveBack(message.receiptHandle, this.#retryDelay(message.receiveCount));
      return;
    }
    // The message stays ours from here on, also while waiting out a Redis outage: giving it back
    // then would spend its receives and send a healthy job to the DLQ.
    const heartbeat = queue.heartbeat(message.receiptHandle, config.VISIBILITY_SECONDS, (error) =>
      this.#log(`Job ${running.jobId}: could not extend the message's visibility (${messageOf(error)})`),
    );
    running.heartbeat = heartbeat;
    const stopProtecting = this.#protectWhileRunning(running.jobId);
    this.#options.health?.jobStarted(running.jobId);
    let outcome: Outcome;
    try {
      outcome = await this.#handleJob(running, message.job);
    } catch (error) {
      outcome = error instanceof ShuttingDown ? { settle: "retry", delaySeconds: 0 } : await this.#attemptFailed(running, error);
    } finally {
      this.#options.health?.jobEnded();
      await heartbeat.stop();
    }
    try {
      if (running.abandoned) return;
      if (outcome.settle === "delete") await queue.delete(message.receiptHandle);
      else await queue.giveBack(message.receiptHandle, outcome.delaySeconds);
    } finally {
      await stopProtecting();
    }
  }

  /**
   * Keeps the task protected from scale-in until the returned function is called. A refusal is
   * logged, not fatal: the job still runs, only without the shield.
   */
  #protectWhileRunning(jobId: string): () => Promise<void> {
    const { protection } = this.#options;
    if (!protection?.agentUri) return async () => {};
    const protect = () =>
      protection.protect(PROTECTION_MINUTES).catch((error: unknown) => this.#log(`Job ${jobId}: scale-in protection not set (${messageOf(error)})`));
    void protect();
    const renew = setInterval(() => void protect(), (PROTECTION_MINUTES / 2) * 60_000);
    return async () => {
      clearInterval(renew);
      await protection.release().catch((error: unknown) => this.#log(`Job ${jobId}: scale-in protection not cleared (${messageOf(error)})`));
    };
  }

  async #handleJob(running: Running, message: JobMessage): Promise<Outcome> {
    const { store, config } = this.#options;
    const { jobId } = message;
    const job = await this.#withStore(() => store.get(jobId));
    if (!job) {
      // The record expired or was lost; a complete result means there is nothing left to do.
      if (await this.#resultExists(jobId)) return { settle: "delete" };
      throw new Error("no such job (its record expired, or it was never created)");
    }
    // A redelivery for a job already settled: only its email may still be owed (one per job).
    if (job.status === "done" || job.status === "failed") return this.#emailOwner(job);
    if (job.status === "expired") return { settle: "delete" };
    // The API sends the message just before marking the job queued; look again shortly.
    if (job.status === "uploading") return { settle: "retry", delaySeconds: 1 };
    if (running.message.receiveCount > config.MAX_RECEIVES) {
      await this.#giveUp(message, this.#failureReason(running.key, running.message.receiveCount - 1));
      return { settle: "delete" };
    }
    if (message.step === "plan") return this.#plan(job);
    if (job.status !== "processing") return { settle: "retry", delaySeconds: 1 };
    if (message.step === "shard") return this.#shard(running, job, message.shard);
    return this.#merge(running, job);
  }

  /** The job's first step: shards planned (steps/planShards.ts), one message each. */
  async #plan(job: JobRecord): Promise<Outcome> {
    const { store, config } = this.#options;
    const started = await this.#withStore(() => store.transition(job.id, ["queued", "processing"], "processing", { progress: { processed: 0, total: job.progress.total } }));
    if (!started.ok) return { settle: "delete" };
    await this.#withStore(() => store.recordAttempt(job.id));
    const plan = await planShards(job.id, () => this.#files.batches(job.id), this.#objects, {
      shardImages: config.SHARD_IMAGES,
      countZipEntries: (file) => this.#countZipEntries(file),
    });
    await this.#withStore(() => this.#ledger.planned(job.id, plan.count));
    await this.#withStore(() => store.setProgress(job.id, 0, plan.items));
    const waiting: JobMessage[] = [];
    for (let index = 0; index < plan.count; index++) {
      if (!(await this.#withStore(() => this.#ledger.isDone(job.id, index)))) waiting.push({ jobId: job.id, step: "shard", shard: { index, count: plan.count } });
    }
    // Every shard already in (a plan step delivered again after the last shard): on to the merge.
    await this.#options.queue.sendAll(waiting.length > 0 ? waiting : [{ jobId: job.id, step: "merge", shards: plan.count }]);
    this.#log(`Job ${job.id}: ${plan.items} items in ${plan.count} shard${plan.count === 1 ? "" : "s"} (${waiting.length} to run).`);
    return { settle: "delete" };
  }

  /** One shard: its inputs from S3 through the pipeline, its records and photos to S3, then the fan-in count. */
  async #shard(running: Running, job: JobRecord, shard: { index: number; count: number }): Promise<Outcome> {
    const { store, s3, config, model } = this.#options;
    if (!(await this.#withStore(() => this.#ledger.isDone(job.id, shard.index)))) {
      await this.#withStore(() => this.#ledger.started(job.id, shard.index, this.#workerId));
      const files = await this.#objects.files(job.id, shard.index);
      const inputs = await openShardInputs(s3, files, {
        bucket: config.BUCKET,
        // The job's zips together unpack to no more than one job may upload.
        limits: resolveInputLimits({ maxJobUnpackedBytes: config.MAX_TOTAL_BYTES }),
        scratchDir: this.#scratch!.dir,
        zipRange: (file, folder, budget) => this.#zipRange(file, folder, budget),
      });
      const progress = new ProgressThrottle<PipelineProgress>(
        async (p) => {
          const processed = await this.#ledger.progress(job.id, shard.index, p.processed);
          await store.setProgress(job.id, processed, job.progress.total);
        },
        { onError: (error) => this.#unavailable(`Job ${job.id}: progress not saved (${messageOf(error)})`) },
      );
      let summary: ShardSummary;
      try {
        summary = await runShard(inputs.items, {
          s3,
          bucket: config.BUCKET,
          jobId: job.id,
          index: shard.index,
          detector: model.detector,
          ...this.#thresholds(job),
          images: job.options.images ?? DEFAULT_IMAGES,
          previews: { blankRate: blankSampleRate(job.progress.total) },
          partBytes: config.PART_BYTES,
          scratchDir: this.#scratch!.dir,
          onProgress: (p) => {
            running.progress = p;
            progress.update(p);
            this.#options.health?.progressed();
          },
        });
      } finally {
        await progress.flush();
        await inputs.dispose();
      }
      if (running.abandoned) return { settle: "retry", delaySeconds: 0 };
      this.#log(`Job ${job.id}: shard ${shard.index + 1} of ${shard.count} done: ${summary.processed} items, ${summary.failed} could not be read.`);
      return this.#shardIn(job.id, shard.index, summary.processed);
    }
    return this.#shardIn(job.id, shard.index, undefined);
  }

  /** Counts a shard in (once, however often delivered); the one that completes the set sends the merge. */
  async #shardIn(jobId: string, index: number, processed: number | undefined): Promise<Outcome> {
    const { store } = this.#options;
    const counted = await this.#withStore(() => this.#ledger.markDone(jobId, index, processed ?? 0));
    const standing = await this.#withStore(() => this.#ledger.standing(jobId));
    const job = await this.#withStore(() => store.get(jobId));
    if (standing && job) await this.#withStore(() => store.setProgress(jobId, standing.processed, job.progress.total));
    if (counted.allDone) await this.#options.queue.sendAll([{ jobId, step: "merge", shards: counted.count }]);
    return { settle: "delete" };
  }

  /** Every shard is in: one package from their records and photos, the job done, its owner told. */
  async #merge(running: Running, job: JobRecord): Promise<Outcome> {
    const { store, s3, config, model } = this.#options;
    const plan = await this.#objects.plan(job.id);
    if (!plan) throw new Error("the job's plan is missing from storage");
    const started = Date.now();
    const images = job.options.images ?? DEFAULT_IMAGES;
    const merged = await mergeJob({
      s3,
      bucket: config.BUCKET,
      jobId: job.id,
      plan,
      run: {
        detector: model.fileName,
        ...(model.id ? { modelId: model.id } : {}),
        categories: categoriesOf(model.detector),
        ...this.#thresholds(job),
        provider: model.detector.provider,
        startedAt: new Date(job.startedAt ?? job.createdAt),
      },
      images,
      ...(job.options.sortedView ? { sortedView: true } : {}),
      ...(job.options.eventGapSeconds !== undefined ? { eventGapSeconds: job.options.eventGapSeconds } : {}),
      partBytes: config.PART_BYTES,
      scratchDir: this.#scratch!.dir,
      onShard: () => this.#options.health?.progressed(),
    });
    if (running.abandoned) return { settle: "retry", delaySeconds: 0 };
    const { totals, run } = merged;
    const seconds = (run.completedAt.getTime() - run.startedAt.getTime()) / 1000;
    const imagesPerSecond = totals.images / Math.max(seconds, 1e-3);
    const imagesWith = Object.fromEntries(Object.entries(totals.imagesWith).map(([id, count]) => [run.categories[id] ?? id, count]));
    const result: JobResult = { key: merged.key, bytes: merged.bytes, images: totals.images, failed: totals.failed, imagesWith, imagesPerSecond };
    const done = await this.#withStore(() => store.transition(job.id, ["processing"], "done", { result, progress: { processed: totals.images, total: totals.images } }));
    if (!done.ok) this.#log(`Job ${job.id}: merged, but it is now ${done.status ?? "gone"}; leaving it as it is.`);
    this.#log(
      `Job ${job.id}: ${totals.images} images in ${plan.count} shard${plan.count === 1 ? "" : "s"}, merged in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(${imagesPerSecond.toFixed(1)} images/s over the job), ${totals.failed} failed; results at s3://${config.BUCKET}/${merged.key}`,
    );
    await store.recordRate(imagesPerSecond).catch(() => {});
    // The package holds everything now: the shards' copies would only double the job's storage.
    await this.#objects.removeAll(job.id).catch((error: unknown) => this.#log(`Job ${job.id}: shard objects not removed (${messageOf(error)}); the retention rule removes them.`));
    this.#lastErrors.delete(running.key);
    const settled = await this.#withStore(() => store.get(job.id));
    return settled ? this.#emailOwner(settled) : { settle: "delete" };
  }

  /** Sends the owner's email for a settled job; a refusal or a lease held elsewhere brings the message back later. */
  async #emailOwner(job: JobRecord): Promise<Outcome> {
    const email = this.#options.email;
    if (!email || (job.status !== "done" && job.status !== "failed")) return { settle: "delete" };
    try {
      const outcome = await sendJobEmail(job, email);
      return outcome.status === "in-progress" ? { settle: "retry", delaySeconds: outcome.retryAfterSeconds } : { settle: "delete" };
    } catch (error) {
      this.#log(messageOf(error));
      return { settle: "retry", delaySeconds: this.#retryDelay(1) };
    }
  }

  /** Entries of an uploaded zip from its central directory (ranged GETs); undefined when it cannot be read as one. */
  async #countZipEntries(file: PlannedFile): Promise<number | undefined> {
    try {
      return await countZipEntries(this.#zipSource(file));
    } catch (error) {
      // Not a zip after all, or a damaged one: a shard looks at it whole and says why in its row.
      if (error instanceof ZipReadError || (error instanceof ZipSourceError && error.permanent)) return undefined;
      throw error;
    }
  }

  /** A range of an uploaded zip's entries, read in place with ranged GETs (never the whole zip). */
  #zipRange(file: ShardFile, folder: string, budget: UnpackBudget): AsyncIterable<InputItem> {
    const limits = resolveInputLimits({ maxJobUnpackedBytes: this.#options.config.MAX_TOTAL_BYTES });
    return expandZip(this.#zipSource(file), file.path, folder, limits, budget, file.entries);
  }

  #zipSource(file: { key: string; size: number; etag?: string; name: string }) {
    return s3ZipSource(this.#options.s3, { bucket: this.#options.config.BUCKET, key: file.key, size: file.size, ...(file.etag ? { etag: file.etag } : {}), describe: file.name });
  }

  #thresholds(job: JobRecord): { outputThreshold: number; renderThreshold: number } {
    const { config, model } = this.#options;
    return {
      outputThreshold: job.options.outputThreshold ?? config.OUTPUT_THRESHOLD,
      renderThreshold: job.options.renderThreshold ?? config.RENDER_THRESHOLD ?? model.typicalThreshold ?? DEFAULT_RENDER_THRESHOLD,
    };
  }

  /**
   * A message that will not be tried again (its last attempt failed, or it reached the DLQ): a
   * shard's photos become rows with the reason and the job goes on; a plan or merge fails the job.
   */
  async #giveUp(message: JobMessage, reason: string): Promise<void> {
    if (message.step === "shard") {
      const { index, count } = message.shard;
      const files = await this.#objects.files(message.jobId, index);
      const why = `was not processed: shard ${index + 1} of ${count}, which held it, failed every time. ${reason}`;
      await this.#objects.putRecords(message.jobId, index, failedRows(files, why));
      this.#log(`Job ${message.jobId}: shard ${index + 1} of ${count} given up; its ${files.files.length} files are rows with the reason.`);
      await this.#shardIn(message.jobId, index, files.files.length);
      return;
    }
    await this.#withStore(() => this.#failJob(message.jobId, reason));
    const job = await this.#withStore(() => this.#options.store.get(message.jobId));
    if (job) await this.#emailOwner(job);
  }

  /** Runs a store call, waiting out Redis outages (the message is kept meanwhile); throws ShuttingDown on stop. */
  async #withStore<T>(work: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof StoreUnavailableError)) throw error;
        if (this.#stopping) throw new ShuttingDown();
        // Waiting out an outage is on purpose, not a stuck job.
        this.#options.health?.progressed();
        this.#unavailable(`${error.message}; the job waits until Redis is back.`);
        await sleep(this.#options.unavailableBackoffMs ?? UNAVAILABLE_BACKOFF_MS);
      }
    }
  }

  async #attemptFailed(running: Running, error: unknown): Promise<Outcome> {
    const { config } = this.#options;
    const { message, key } = running;
    const text = messageOf(error);
    this.#log(`${running.label}: attempt ${message.receiveCount} of ${config.MAX_RECEIVES} failed: ${text}`);
    this.#lastErrors.set(key, text);
    if (message.receiveCount >= config.MAX_RECEIVES && message.job) {
      // The last allowed attempt: the user learns now; the message goes on to the DLQ.
      const reason = this.#failureReason(key, message.receiveCount);
      await this.#giveUp(message.job, reason).catch((giveUpError: unknown) => this.#log(`${running.label}: could not give up cleanly (${messageOf(giveUpError)})`));
    }
    return { settle: "retry", delaySeconds: this.#retryDelay(message.receiveCount) };
  }

  async #failJob(jobId: string, reason: string): Promise<void> {
    const failed = await this.#options.store.transition(jobId, ["queued", "processing"], "failed", { error: reason });
    if (failed.ok) this.#log(`Job ${jobId}: failed: ${reason}`);
  }

  /** `key`: the message's own (a job's plan, one shard, its merge), so one shard's errors do not name another's. */
  #failureReason(key: string, attempts: number): string {
    const last = this.#lastErrors.get(key);
    this.#lastErrors.delete(key);
    const tried = `Trapline tried to process this job ${attempts} time${attempts === 1 ? "" : "s"}`;
    return last
      ? `${tried} and it failed each time. Last error: ${last}. Please submit the photos again; if it happens again, tell the site's operator the job id.`
      : `${tried}, and each time the worker stopped before it finished (it may have run out of memory, or been restarted). Please submit the photos again in smaller batches; if it happens again, tell the site's operator the job id.`;
  }

  /** Jobs whose message reached the DLQ (their worker died on the last attempt) become failed. */
  async #checkDeadLetters(): Promise<void> {
    const { deadLetters, store, config } = this.#options;
    if (!deadLetters || this.#stopping) return;
    try {
      for (;;) {
        // Stays invisible for long: the message is kept for the operator, and re-read rarely.
        const message = await deadLetters.receive({ visibilitySeconds: MAX_VISIBILITY_SECONDS, waitSeconds: 0 });
        if (!message) return;
        if (!message.job) continue;
        const job = await store.get(message.job.jobId);
        if (job && (job.status === "queued" || job.status === "processing")) {
          await this.#giveUp(message.job, this.#failureReason(messageKey(message.job), Math.max(job.attempts, config.MAX_RECEIVES)));
        }
      }
    } catch (error) {
      this.#unavailable(`Could not check the dead-letter queue (${messageOf(error)})`);
    }
  }

  async #resultExists(jobId: string): Promise<boolean> {
    try {
      await this.#options.s3.send(new HeadObjectCommand({ Bucket: this.#options.config.BUCKET, Key: resultKey(jobId) }));
      return true;
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return false;
      throw error;
    }
  }

  #retryDelay(receiveCount: number): number {
    return (this.#options.retryDelaySeconds ?? defaultRetryDelaySeconds)(receiveCount);
  }

  /** Outage messages once every 30 s, not on every retry. */
  #unavailable(line: string): void {
    const now = Date.now();
    if (now - this.#lastUnavailableLog < 30_000) return;
    this.#lastUnavailableLog = now;
    this.#log(line);
  }
}

/** Time the running job still needs, from its pace so far; undefined before there is a pace. */
function estimateRemainingMs(running: Running): number | undefined {
  const progress = running.progress;
  if (!progress || progress.processed === 0 || progress.total === undefined) return undefined;
  const elapsed = Date.now() - running.startedAt;
  // A fifth more for the reports and the last upload.
  return ((progress.total - progress.processed) * elapsed * 1.2) / progress.processed;
}

/** The key a message's errors are remembered under: the job's plan, one shard, or its merge. */
function messageKey(message: JobMessage): string {
  return message.step === "shard" ? `${message.jobId}:shard:${message.shard.index}` : `${message.jobId}:${message.step}`;
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A shard given up: one failed row per file (or per range of a zip's entries), with the reason. */
function failedRows(shard: ShardFiles, reason: string): ImageResult[] {
  return shard.files.map((file) => ({
    path: file.entries ? `${file.path} (entries ${file.entries.from + 1}-${file.entries.to})` : file.path,
    status: "failed",
    rejected: true,
    error: reason,
    warnings: [],
    detections: [],
    metadata: {},
    fileSize: file.entries ? 0 : file.size,
  }));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
