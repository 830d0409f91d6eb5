// A job's steps as the queue worker runs them (DESIGN.md "Jobs of any size"): plan it into
// shards, run one shard, count it in, merge every shard into the package, email the owner, and
// give up on a message for good (a shard's files become rows; a plan or merge fails the job).
// Each returns what should become of its message; the worker (worker.ts) receives, dispatches
// and settles, and knows nothing of what a step does.
import type { S3Client } from "@aws-sdk/client-s3";
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type { Config } from "../../core/config.ts";
import { FilePlan } from "../../core/filePlan.ts";
import { DEFAULT_IMAGES, privacyOf, type JobMessage, type JobRecord, type JobResult, type PlannedFile } from "../../core/jobs.ts";
import type { JobStore } from "../../core/jobStore.ts";
import { sendJobEmail, type JobEmailDeps } from "../../core/notify/index.ts";
import { ShardLedger } from "../../core/shardLedger.ts";
import { DEFAULT_RENDER_THRESHOLD, resolveInputLimits, type ImageResult, type InputItem, type InputLimits, type OpenModel, type PipelineProgress } from "../pipeline/index.ts";
import { expandZip } from "../pipeline/inputs/collectInputs.ts";
import type { OpenedClassifier, RunInfo, SpeciesClassifier } from "../pipeline/index.ts";
import type { UnpackBudget } from "../pipeline/inputs/limits.ts";
import { countZipEntries, ZipReadError, ZipSourceError } from "../pipeline/inputs/zipEntries.ts";
import { blankSampleRate } from "../pipeline/outputs/preview.ts";
import { categoriesOf } from "../pipeline/run/processImages.ts";
import { ProgressThrottle } from "./progressThrottle.ts";
import type { JobQueue } from "./queue.ts";
import { s3ZipSource } from "./s3ZipSource.ts";
import { mergeJob } from "./shards/mergeJob.ts";
import { planShards } from "./shards/planShards.ts";
import { runShard, type ShardSummary } from "./shards/runShard.ts";
import { openShardInputs } from "./shards/shardInputs.ts";
import { ShardObjects, type ShardFile, type ShardFiles } from "./shards/shardObjects.ts";
import type { HealthBeacon } from "./health.ts";

/** What becomes of a message once its step is through with it. */
export type Outcome = { settle: "delete" } | { settle: "retry"; delaySeconds: number };

/** The attempt a step runs in, as the worker tracks it. */
export interface Attempt {
  /** The shard's progress, for the worker's own estimate at shutdown. */
  progress?: PipelineProgress;
  /** Set when shutdown gave the message back: the step's outcome no longer counts. */
  abandoned: boolean;
}

export interface StepDeps {
  config: Config;
  store: JobStore;
  queue: JobQueue;
  s3: S3Client;
  model: OpenModel;
  /** The species classifier opened once at start (CLASSIFIER), or why there is none; absent: none. */
  species?: OpenedClassifier;
  email?: JobEmailDeps;
  health?: HealthBeacon;
  /** The worker's scratch folder, while it runs. */
  scratchDir: () => string;
  /** Runs a store call, waiting out Redis outages (the worker's rule: it keeps the message meanwhile). */
  withStore: <T>(work: () => Promise<T>) => Promise<T>;
  /** Seconds before a failed attempt is retried. */
  retryDelay: (receiveCount: number) => number;
  log: (line: string) => void;
  /** Log lines about outages, throttled. */
  unavailable: (line: string) => void;
}

export class JobSteps {
  readonly #options: StepDeps;
  readonly #files: FilePlan;
  readonly #objects: ShardObjects;
  readonly #ledger: ShardLedger;
  /** The input rules' limits: a job's zips together unpack to no more than one job may upload. */
  readonly #limits: InputLimits;
  /** Names this worker in the shard ledger ("workers on the job" counts distinct ones). */
  readonly #workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;

  constructor(deps: StepDeps) {
    this.#options = deps;
    this.#files = new FilePlan(deps.store.redis, { retentionDays: deps.config.RETENTION_DAYS });
    this.#objects = new ShardObjects(deps.s3, deps.config.BUCKET);
    this.#ledger = new ShardLedger(deps.store.redis, { retentionDays: deps.config.RETENTION_DAYS });
    this.#limits = resolveInputLimits({ maxJobUnpackedBytes: deps.config.MAX_TOTAL_BYTES });
  }

  /** The job's first step: shards planned (steps/planShards.ts), one message each. */
  async plan(job: JobRecord): Promise<Outcome> {
    const { store, config } = this.#options;
    const started = await this.#options.withStore(() => store.transition(job.id, ["queued", "processing"], "processing", { progress: { processed: 0, total: job.progress.total } }));
    if (!started.ok) return { settle: "delete" };
    await this.#options.withStore(() => store.recordAttempt(job.id));
    const plan = await planShards(job.id, () => this.#files.batches(job.id), this.#objects, {
      shardImages: config.SHARD_IMAGES,
      countZipEntries: (file) => this.#countZipEntries(file),
    });
    await this.#options.withStore(() => this.#ledger.planned(job.id, plan.count));
    // A plan delivered again keeps the photos its shards already did.
    const standing = await this.#options.withStore(() => this.#ledger.standing(job.id));
    await this.#options.withStore(() => store.setProgress(job.id, standing?.processed ?? 0, plan.items));
    const waiting: JobMessage[] = [];
    for (let index = 0; index < plan.count; index++) {
      if (!(await this.#options.withStore(() => this.#ledger.isDone(job.id, index)))) waiting.push({ jobId: job.id, step: "shard", shard: { index, count: plan.count } });
    }
    // Every shard already in (a plan step delivered again after the last shard): on to the merge.
    await this.#options.queue.sendAll(waiting.length > 0 ? waiting : [{ jobId: job.id, step: "merge" }]);
    this.#options.log(`Job ${job.id}: ${plan.items} items in ${plan.count} shard${plan.count === 1 ? "" : "s"} (${waiting.length} to run).`);
    return { settle: "delete" };
  }

  /** One shard: its inputs from S3 through the pipeline, its records and photos to S3, then the fan-in count. */
  async shard(running: Attempt, job: JobRecord, shard: { index: number; count: number }): Promise<Outcome> {
    const { store, s3, config, model } = this.#options;
    if (!(await this.#options.withStore(() => this.#ledger.isDone(job.id, shard.index)))) {
      const before = await this.#options.withStore(() => this.#ledger.started(job.id, shard.index, this.#workerId));
      // A redone shard's earlier photos no longer count: the job's progress says what is done.
      await this.#options.withStore(() => store.setProgress(job.id, before, job.progress.total));
      const files = await this.#objects.files(job.id, shard.index);
      this.#options.log(`Job ${job.id}: shard ${shard.index + 1} of ${shard.count} started (${files.files.length} file${files.files.length === 1 ? "" : "s"}).`);
      const inputs = await openShardInputs(s3, files, {
        bucket: config.BUCKET,
        limits: this.#limits,
        scratchDir: this.#options.scratchDir(),
        zipRange: (file, folder, budget) => this.#zipRange(file, folder, budget),
      });
      const progress = new ProgressThrottle<PipelineProgress>(
        async (p) => {
          const processed = await this.#ledger.progress(job.id, shard.index, p.processed);
          await store.setProgress(job.id, processed, job.progress.total);
        },
        { onError: (error) => this.#options.unavailable(`Job ${job.id}: progress not saved (${messageOf(error)})`) },
      );
      let summary: ShardSummary;
      try {
        summary = await runShard(inputs.items, {
          s3,
          bucket: config.BUCKET,
          jobId: job.id,
          index: shard.index,
          detector: model.detector,
          ...this.#species(job).shard,
          ...this.#thresholds(job),
          images: job.options.images ?? DEFAULT_IMAGES,
          previews: { blankRate: blankSampleRate(job.progress.total) },
          privacy: privacyOf(job.options),
          partBytes: config.PART_BYTES,
          scratchDir: this.#options.scratchDir(),
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
      this.#options.log(`Job ${job.id}: shard ${shard.index + 1} of ${shard.count} done: ${summary.processed} items, ${summary.failed} could not be read.`);
      return this.#shardIn(job.id, shard.index, summary.processed);
    }
    return this.#shardIn(job.id, shard.index, undefined);
  }

  /** Counts a shard in (once, however often delivered); the one that completes the set sends the merge. */
  async #shardIn(jobId: string, index: number, processed: number | undefined): Promise<Outcome> {
    const { store } = this.#options;
    const counted = await this.#options.withStore(() => this.#ledger.markDone(jobId, index, processed ?? 0));
    const standing = await this.#options.withStore(() => this.#ledger.standing(jobId));
    const job = await this.#options.withStore(() => store.get(jobId));
    if (standing && job) await this.#options.withStore(() => store.setProgress(jobId, standing.processed, job.progress.total));
    if (counted.allDone) await this.#options.queue.sendAll([{ jobId, step: "merge" }]);
    return { settle: "delete" };
  }

  /** Every shard is in: one package from their records and photos, the job done, its owner told. */
  async merge(running: Attempt, job: JobRecord): Promise<Outcome> {
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
        ...this.#species(job).run,
        privacy: privacyOf(job.options),
      },
      images,
      ...(job.options.sortedView ? { sortedView: true } : {}),
      ...(job.options.eventGapSeconds !== undefined ? { eventGapSeconds: job.options.eventGapSeconds } : {}),
      partBytes: config.PART_BYTES,
      scratchDir: this.#options.scratchDir(),
      onShard: () => this.#options.health?.progressed(),
    });
    if (running.abandoned) return { settle: "retry", delaySeconds: 0 };
    const { totals, run } = merged;
    const seconds = (run.completedAt.getTime() - run.startedAt.getTime()) / 1000;
    const imagesPerSecond = totals.images / Math.max(seconds, 1e-3);
    const imagesWith = Object.fromEntries(Object.entries(totals.imagesWith).map(([id, count]) => [run.categories[id] ?? id, count]));
    const result: JobResult = { key: merged.key, bytes: merged.bytes, images: totals.images, failed: totals.failed, imagesWith, imagesPerSecond };
    const done = await this.#options.withStore(() => store.transition(job.id, ["processing"], "done", { result, progress: { processed: totals.images, total: totals.images } }));
    if (!done.ok) this.#options.log(`Job ${job.id}: merged, but it is now ${done.status ?? "gone"}; leaving it as it is.`);
    this.#options.log(
      `Job ${job.id}: ${totals.images} images in ${plan.count} shard${plan.count === 1 ? "" : "s"}, merged in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
        `(${imagesPerSecond.toFixed(1)} images/s over the job), ${totals.failed} failed; results at s3://${config.BUCKET}/${merged.key}`,
    );
    await store.recordRate(imagesPerSecond).catch(() => {});
    // The package holds everything now: the shards' copies would only double the job's storage.
    await this.#objects.removeAll(job.id).catch((error: unknown) => this.#options.log(`Job ${job.id}: shard objects not removed (${messageOf(error)}); the retention rule removes them.`));
    const settled = await this.#options.withStore(() => store.get(job.id));
    return settled ? this.emailOwner(settled) : { settle: "delete" };
  }

  /** Sends the owner's email for a settled job; a refusal or a lease held elsewhere brings the message back later. */
  async emailOwner(job: JobRecord): Promise<Outcome> {
    const email = this.#options.email;
    if (!email || (job.status !== "done" && job.status !== "failed")) return { settle: "delete" };
    try {
      const outcome = await sendJobEmail(job, email);
      return outcome.status === "in-progress" ? { settle: "retry", delaySeconds: outcome.retryAfterSeconds } : { settle: "delete" };
    } catch (error) {
      this.#options.log(messageOf(error));
      return { settle: "retry", delaySeconds: this.#options.retryDelay(1) };
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
    return expandZip(this.#zipSource(file), file.path, folder, this.#limits, budget, file.entries);
  }

  #zipSource(file: { key: string; size: number; etag?: string; name: string }) {
    return s3ZipSource(this.#options.s3, { bucket: this.#options.config.BUCKET, key: file.key, size: file.size, ...(file.etag ? { etag: file.etag } : {}), describe: file.name });
  }

  /** The job's species classifier (its country and threshold set on the one opened at start), and what RunInfo says about it. */
  #species(job: JobRecord): { shard: { classifier?: SpeciesClassifier }; run: Pick<RunInfo, "classifier" | "classifierAbsent"> } {
    const { species } = this.#options;
    if (!species?.classifier) return { shard: {}, run: species?.absent ? { classifierAbsent: species.absent } : {} };
    const { country, classificationThreshold } = job.options;
    const classifier = species.classifier.forJob({
      ...(country ? { location: { country } } : {}),
      ...(classificationThreshold !== undefined ? { threshold: classificationThreshold } : {}),
    });
    return { shard: { classifier }, run: { classifier: classifier.runInfo } };
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
  async giveUp(message: JobMessage, reason: string): Promise<void> {
    if (message.step === "shard") {
      const { index, count } = message.shard;
      const files = await this.#objects.files(message.jobId, index);
      const why = `was not processed: shard ${index + 1} of ${count}, which held it, failed every time. ${reason}`;
      await this.#objects.putRecords(message.jobId, index, failedRows(files, why));
      await this.#options.withStore(() => this.#ledger.markFailed(message.jobId, index));
      this.#options.log(`Job ${message.jobId}: shard ${index + 1} of ${count} given up; its ${files.files.length} files are rows with the reason.`);
      await this.#shardIn(message.jobId, index, files.files.length);
      return;
    }
    await this.#options.withStore(() => this.#failJob(message.jobId, reason));
    const job = await this.#options.withStore(() => this.#options.store.get(message.jobId));
    if (job) await this.emailOwner(job);
  }

  async #failJob(jobId: string, reason: string): Promise<void> {
    const failed = await this.#options.store.transition(jobId, ["queued", "processing"], "failed", { error: reason });
    if (failed.ok) this.#options.log(`Job ${jobId}: failed: ${reason}`);
  }

}

/** A shard given up: one failed row per file (or per range of a zip's entries), with the reason. */
function failedRows(shard: ShardFiles, reason: string): ImageResult[] {
  return shard.files.map((file) => ({
    path: file.entries ? `${file.path} (entries ${file.entries.from + 1}-${file.entries.to})` : file.path,
    status: "failed",
    // A range of a zip's entries is not one photo: a row in the workbook, not an image in detections.json.
    ...(file.entries ? { rejected: true } : {}),
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
