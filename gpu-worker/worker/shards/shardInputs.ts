// A shard's inputs, streamed from S3 just ahead of the pipeline: a few objects are fetched at
// once (FETCHES_IN_FLIGHT) and held in memory until the pipeline has read them, so a worker holds
// a window of photos, never the shard. The same input rules as the CLI decide what each file is
// (inputs/collectInputs.ts classifyHead, expandZip): types by content, safe zip expansion,
// bombs; a file gone from S3 or changed since submit is a row with its reason.
import { GetObjectCommand, NoSuchKey, type S3Client } from "@aws-sdk/client-s3";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { join } from "node:path";
import { toSafeRelativePath } from "../../../core/safePath.ts";
import { classifyHead, expandZip, readHead, zipFolderPath } from "../../pipeline/inputs/collectInputs.ts";
import { SNIFF_BYTES } from "../../pipeline/inputs/sniffType.ts";
import { UnpackBudget, type InputLimits } from "../../pipeline/inputs/limits.ts";
import { prefetch } from "../../pipeline/run/prefetch.ts";
import type { InputItem } from "../../pipeline/index.ts";
import type { ShardFile, ShardFiles } from "./shardObjects.ts";

/** Objects fetched at once: enough to hide S3's latency behind the GPU, few enough for memory (about this many photos). */
export const FETCHES_IN_FLIGHT = 8;

export const MISSING_REASON = "was not found in storage (it never finished uploading, or it expired)";
export const CHANGED_REASON = "changed after the upload was checked; it was not processed";

export interface ShardInputOptions {
  bucket: string;
  limits: InputLimits;
  /** Where a zip found inside an object goes while its entries are read (removed by dispose). */
  scratchDir: string;
  /** Reads a range of an uploaded zip's entries in place, with ranged GETs (ShardFile.entries). */
  zipRange?: (file: ShardFile, folder: string, budget: UnpackBudget) => AsyncIterable<InputItem>;
  signal?: AbortSignal;
}

export interface ShardInputs {
  items: AsyncIterable<InputItem>;
  /** Removes the scratch folder (zips found inside objects). */
  dispose(): Promise<void>;
}

export async function openShardInputs(s3: S3Client, shard: ShardFiles, options: ShardInputOptions): Promise<ShardInputs> {
  const scratch = await mkdtemp(join(options.scratchDir, "trapline-shard-"));
  // One budget per shard: a job's zips together unpack to at most maxJobUnpackedBytes per shard.
  const budget = new UnpackBudget(options.limits.maxJobUnpackedBytes);
  let zips = 0;
  const folderOf = (file: ShardFile) => (shard.root.kind === "zip" ? "" : zipFolderPath(file.path));

  const fetchFile = async (file: ShardFile): Promise<Iterable<InputItem> | AsyncIterable<InputItem>> => {
    const safe = toSafeRelativePath(file.path);
    if (!safe.ok) return [{ kind: "rejected", path: file.name, reason: `was not processed: its name ${safe.problem}` }];
    if (file.entries && options.zipRange) return options.zipRange(file, folderOf(file), budget);
    // Photos (at most maxImageBytes) are held in memory; anything bigger can only be a zip and
    // goes to disk, so a big object never sits in memory whole.
    const onDisk = file.size > options.limits.maxImageBytes;
    const zipFile = join(scratch, `${zips++}.zip`);
    let bytes: Buffer;
    try {
      const reply = await s3.send(
        new GetObjectCommand({ Bucket: options.bucket, Key: file.key, ...(file.etag ? { IfMatch: file.etag } : {}) }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      if (onDisk) {
        await pipeline(reply.Body as Readable, createWriteStream(zipFile), options.signal ? { signal: options.signal } : {});
        bytes = await readHead(zipFile);
      } else {
        bytes = Buffer.from(await reply.Body!.transformToByteArray());
      }
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === "NoSuchKey") return [{ kind: "rejected", path: file.path, reason: MISSING_REASON }];
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) return [{ kind: "rejected", path: file.path, reason: CHANGED_REASON }];
      throw error;
    }
    const kind = classifyHead(bytes.subarray(0, SNIFF_BYTES), file.path, onDisk ? file.size : bytes.length, options.limits);
    if (kind.kind === "rejected") {
      if (onDisk) await rm(zipFile, { force: true });
      return [{ kind: "rejected", path: file.path, reason: kind.reason }];
    }
    if (kind.kind === "image") return [{ kind: "image", source: { path: file.path, size: bytes.length, read: () => Promise.resolve(bytes) } }];
    // A zip read whole (one not named .zip, or one whose central directory could not be counted):
    // on disk while its entries are read, so only one entry at a time is in memory.
    if (!onDisk) await writeFile(zipFile, bytes);
    return expandZip(zipFile, file.path, folderOf(file), options.limits, budget);
  };

  async function* items(): AsyncGenerator<InputItem> {
    for await (const fileItems of prefetch(shard.files, FETCHES_IN_FLIGHT, fetchFile)) yield* fileItems;
  }
  return { items: items(), dispose: () => rm(scratch, { recursive: true, force: true }) };
}
