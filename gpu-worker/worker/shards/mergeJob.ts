// The last step of a job: every shard's records and photos into one result package. Records are
// read a shard at a time into a disk spool (the reports read them sorted by path, so events and
// bursts that span two shards come out as one); each shard's photos are copied from its zip,
// one entry at a time. The photos are never decoded or re-read from the inputs.
//
// Paths are claimed once more over the whole job (ZipPaths): two shards never share a path, in
// the zip or the reports, even when each was unique within its own shard.
import { GetObjectCommand, NoSuchKey, type S3Client } from "@aws-sdk/client-s3";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { pipeline } from "node:stream/promises";
import yauzl, { type Entry } from "yauzl";
import type { ImagesChoice } from "../../../core/jobs.ts";
import { resultKey, shardKeys } from "../../../core/keys.ts";
import type { CamtrapOptions, ImageResult, RunInfo } from "../../pipeline/index.ts";
import { ResultsZip } from "../../pipeline/outputs/resultsZip.ts";
import type { ResultTotals } from "../../pipeline/outputs/resultTotals.ts";
import { sortedPath } from "../../pipeline/outputs/sortedView.ts";
import { ResultSpool, reviveDates } from "../../pipeline/run/resultSpool.ts";
import { writeReports } from "../../pipeline/run/writeReports.ts";
import { ZipPaths } from "../../pipeline/zipLayout.ts";
import { startResultUpload } from "../s3Results.ts";
import { writeBrowseOutputs } from "./browseOutputs.ts";
import type { JobPlan } from "./shardObjects.ts";

export interface MergeOptions {
  s3: S3Client;
  bucket: string;
  jobId: string;
  plan: JobPlan;
  /** The run as the shards ran it; completedAt is set here. */
  run: Omit<RunInfo, "completedAt">;
  images: ImagesChoice;
  sortedView?: boolean;
  eventGapSeconds?: number;
  camtrapDp?: CamtrapOptions;
  partBytes: number;
  scratchDir: string;
  /** Told after each shard is merged. */
  onShard?: (merged: number) => void;
}

export interface MergeSummary {
  key: string;
  bytes: number;
  totals: ResultTotals;
  run: RunInfo;
}

export async function mergeJob(options: MergeOptions): Promise<MergeSummary> {
  const { s3, bucket, jobId, plan } = options;
  const key = resultKey(jobId);
  const scratch = await mkdtemp(join(options.scratchDir, "trapline-merge-"));
  const spool = await ResultSpool.create(scratch);
  const upload = startResultUpload(s3, { bucket, key, fileName: `trapline-${jobId}.zip`, partBytes: options.partBytes });
  const zip = new ResultsZip(upload.body);
  const paths = new ZipPaths();
  const rules = { categories: options.run.categories, renderThreshold: options.run.renderThreshold };
  try {
    const work = async () => {
      for (let index = 0; index < plan.count; index++) {
        // The shard's photos by their path in the shard → where they go, and in which format.
        const placed = new Map<string, { path: string; sorted?: string; format?: string }>();
        for await (const result of shardRecords(s3, bucket, jobId, index)) {
          if (!result.rejected) {
            const claimed = paths.claim(result.path);
            const sorted = options.sortedView ? sortedPath({ ...result, path: claimed }, rules) : undefined;
            placed.set(result.path, { path: claimed, ...(sorted ? { sorted } : {}), ...(result.format ? { format: result.format } : {}) });
            result.path = claimed;
          }
          await spool.add(result);
        }
        if (options.images !== "none") await copyShardPhotos(s3, bucket, shardKeys.images(jobId, index), scratch, zip, placed);
        options.onShard?.(index + 1);
      }
      const run: RunInfo = { ...options.run, completedAt: new Date() };
      const totals = await writeReports(zip, spool, run, {
        images: options.images,
        pathRoot: plan.root,
        scratchDir: scratch,
        ...(options.sortedView ? { sortedView: true } : {}),
        ...(options.eventGapSeconds !== undefined ? { eventGapSeconds: options.eventGapSeconds } : {}),
        ...(options.camtrapDp ? { camtrapDp: options.camtrapDp } : {}),
      });
      await writeBrowseOutputs({ s3, bucket, jobId, zip, images: () => spool.sorted(), run, ...(options.eventGapSeconds !== undefined ? { eventGapSeconds: options.eventGapSeconds } : {}), scratchDir: scratch });
      await zip.finish();
      return { totals, run };
    };
    const { totals, run } = await Promise.race([work(), upload.failed]);
    const bytes = await upload.done;
    return { key, bytes, totals, run };
  } catch (error) {
    await upload.abort();
    throw error;
  } finally {
    await spool.dispose();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** A shard's records, one line at a time. A shard counted done always has them (runShard, or the failure policy). */
async function* shardRecords(s3: S3Client, bucket: string, jobId: string, index: number): AsyncGenerator<ImageResult> {
  const reply = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: shardKeys.records(jobId, index) }));
  for await (const line of createInterface({ input: reply.Body as Readable, crlfDelay: Infinity })) {
    if (line.trim() !== "") yield JSON.parse(line, reviveDates) as ImageResult;
  }
}

/** Copies a shard's photos into the package under their claimed paths (and their sorted copies). */
async function copyShardPhotos(
  s3: S3Client,
  bucket: string,
  key: string,
  scratch: string,
  zip: ResultsZip,
  placed: Map<string, { path: string; sorted?: string; format?: string }>,
): Promise<void> {
  const local = join(scratch, "shard-images.zip");
  try {
    const reply = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await pipeline(reply.Body as Readable, createWriteStream(local));
  } catch (error) {
    // A shard that failed for good has records (its rows) and no photos.
    if (error instanceof NoSuchKey || (error as { name?: string }).name === "NoSuchKey") return;
    throw error;
  }
  const shardZip = await yauzl.openPromise(local, { lazyEntries: true, autoClose: false });
  try {
    const entries = await new Promise<Entry[]>((resolve, reject) => {
      const found: Entry[] = [];
      shardZip.on("entry", (entry: Entry) => (found.push(entry), shardZip.readEntry()));
      shardZip.on("end", () => resolve(found));
      shardZip.on("error", reject);
      shardZip.readEntry();
    });
    for (const entry of entries) {
      const target = placed.get(entry.fileName);
      if (!target) throw new Error(`the shard's zip holds ${entry.fileName}, which its records do not name`);
      const bytes = await buffer(await shardZip.openReadStreamPromise(entry));
      await zip.addBuffer(target.path, bytes, target.format);
      if (target.sorted) await zip.addBuffer(target.sorted, bytes, target.format);
    }
  } finally {
    shardZip.close();
    await rm(local, { force: true });
  }
}
