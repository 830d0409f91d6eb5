// The shard objects of a job in S3 (core/keys.ts shardKeys): the plan, each shard's file list and
// its records. Small JSON documents only; a shard's photos travel as a zip (runShard, mergeJob).
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { shardKeys, shardPrefix } from "../../../core/keys.ts";
import type { ImageResult, PathRoot } from "../../pipeline/index.ts";

/** What the plan step decided, written last: its presence means every shard's file list is in S3. */
export interface JobPlan {
  count: number;
  /** Items (photos, zip entries counted from their central directory, other files) in all shards. */
  items: number;
  /** What the paths in the results start from (DESIGN.md "Paths in the results"). */
  root: PathRoot;
}

/** One uploaded file, or a range of one zip's entries, as a shard reads it. */
export interface ShardFile {
  /** The name it was uploaded under: rows about the file itself use it when it is unsafe. */
  name: string;
  key: string;
  etag?: string;
  size: number;
  /** Its path in the results (the name, less the one folder the user chose); a zip's entries go in a folder of this name less ".zip". */
  path: string;
  /** Central-directory indexes [from, to) of a zip this shard reads; absent: the whole file. */
  entries?: { from: number; to: number };
}

export interface ShardFiles {
  index: number;
  root: PathRoot;
  files: ShardFile[];
}

export class ShardObjects {
  readonly #s3: S3Client;
  readonly #bucket: string;

  constructor(s3: S3Client, bucket: string) {
    this.#s3 = s3;
    this.#bucket = bucket;
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.#s3.send(new PutObjectCommand({ Bucket: this.#bucket, Key: key, Body: JSON.stringify(value), ContentType: "application/json" }));
  }

  async getText(key: string): Promise<string | undefined> {
    try {
      const reply = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      return await reply.Body!.transformToString("utf8");
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === "NoSuchKey") return undefined;
      throw error;
    }
  }

  async plan(jobId: string): Promise<JobPlan | undefined> {
    const text = await this.getText(shardKeys.plan(jobId));
    return text === undefined ? undefined : (JSON.parse(text) as JobPlan);
  }

  async files(jobId: string, index: number): Promise<ShardFiles> {
    const text = await this.getText(shardKeys.files(jobId, index));
    if (text === undefined) throw new Error(`shard ${index + 1}'s file list is missing from storage`);
    return JSON.parse(text) as ShardFiles;
  }

  /** A shard's records (what the failure policy writes for a shard given up; runShard streams its own). */
  async putRecords(jobId: string, index: number, records: readonly ImageResult[]): Promise<void> {
    const body = records.map((record) => JSON.stringify(record)).join("\n");
    await this.#s3.send(new PutObjectCommand({ Bucket: this.#bucket, Key: shardKeys.records(jobId, index), Body: body, ContentType: "application/x-ndjson" }));
  }

  /** Removes the job's shard objects once its package is in S3 (they would only double its storage). */
  async removeAll(jobId: string): Promise<void> {
    let token: string | undefined;
    do {
      const listed = await this.#s3.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: shardPrefix(jobId), ContinuationToken: token }));
      const keys = (listed.Contents ?? []).map((object) => ({ Key: object.Key! }));
      if (keys.length > 0) await this.#s3.send(new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: keys, Quiet: true } }));
      token = listed.IsTruncated ? listed.NextContinuationToken : undefined;
    } while (token);
  }
}
