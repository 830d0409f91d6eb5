// One shard of a job: its inputs streamed from S3 through processImages, the photos the package
// carries written as the shard's own zip (streamed to S3 as it grows), and every image's record
// as NDJSON. Both objects are complete before the shard counts as done, and a redo overwrites
// them, so a shard delivered twice leaves one set. Nothing here knows about SQS.
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import type { ImagesChoice, PrivacyOptions } from "../../../core/jobs.ts";
import { shardKeys } from "../../../core/keys.ts";
import { processImages, type Detector, type InputItem, type PipelineProgress, type SpeciesClassifier } from "../../pipeline/index.ts";
import { ResultsZip } from "../../pipeline/outputs/resultsZip.ts";
import { emptyStageTimes, type StageTimes } from "../../pipeline/run/processImages.ts";
import { startResultUpload } from "../s3Results.ts";
import { PreviewUploads } from "./previewUploads.ts";

export interface ShardOptions {
  s3: S3Client;
  bucket: string;
  jobId: string;
  index: number;
  detector: Detector;
  /** The species classifier, set for this job (SpeciesClassifier.forJob); absent: no species. */
  classifier?: SpeciesClassifier;
  outputThreshold: number;
  renderThreshold: number;
  images: ImagesChoice;
  partBytes: number;
  scratchDir: string;
  /** Browsing previews (processImages' option); stored under the job's output prefix as they are made. */
  previews?: { blankRate: number };
  /** The job's privacy choices (processImages' option). */
  privacy?: PrivacyOptions;
  onProgress?: (progress: PipelineProgress) => void;
}

export interface ShardSummary {
  processed: number;
  failed: number;
  stageMs: StageTimes;
}

export async function runShard(inputs: AsyncIterable<InputItem>, options: ShardOptions): Promise<ShardSummary> {
  const { s3, bucket, jobId, index } = options;
  const scratch = await mkdtemp(join(options.scratchDir, "trapline-records-"));
  const recordsPath = join(scratch, "records.ndjson");
  const records = await open(recordsPath, "w");
  const upload =
    options.images === "none"
      ? undefined
      : startResultUpload(s3, { bucket, key: shardKeys.images(jobId, index), fileName: `shard-${index}.zip`, partBytes: options.partBytes });
  const zip = upload ? new ResultsZip(upload.body) : undefined;
  const previews = new PreviewUploads(s3, bucket, jobId);
  let processed = 0;
  let failed = 0;
  try {
    const work = processImages(
      inputs,
      {
        async add(result, bytes, preview) {
          if (preview && result.preview) await previews.put(result.preview, preview);
          if (bytes && zip) await zip.addBuffer(result.path, bytes, result.format);
          await records.write(`${JSON.stringify(result)}\n`);
          processed++;
          if (result.status === "failed") failed++;
        },
      },
      {
        detector: options.detector,
        ...(options.classifier ? { classifier: options.classifier } : {}),
        outputThreshold: options.outputThreshold,
        renderThreshold: options.renderThreshold,
        images: options.images,
        ...(options.previews ? { previews: options.previews } : {}),
        ...(options.privacy ? { privacy: options.privacy } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      },
    );
    const stageMs = upload ? await Promise.race([work, upload.failed]) : await work;
    if (zip && upload) {
      await zip.finish();
      await upload.done;
    }
    await previews.drain();
    await records.close();
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: shardKeys.records(jobId, index),
        Body: createReadStream(recordsPath),
        ContentLength: (await stat(recordsPath)).size,
        ContentType: "application/x-ndjson",
      }),
    );
    return { processed, failed, stageMs: stageMs ?? emptyStageTimes() };
  } catch (error) {
    await upload?.abort();
    throw error;
  } finally {
    await records.close().catch(() => {});
    await rm(scratch, { recursive: true, force: true });
  }
}
