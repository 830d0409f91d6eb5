// A job's first step: its uploaded files planned into shards of about SHARD_IMAGES items
// (DESIGN.md "Jobs of any size"). Nothing is downloaded: the names come from the file plan in
// Redis, and a zip is counted from its central directory with ranged GETs (s3ZipSource), so a
// zip of 100,000 photos is split into entry ranges like any folder of 100,000 photos.
//
// The plan is deterministic only as long as Redis lists the files in the same order, so it is
// written once: each shard's file list first, then plan.json; a redelivered plan step that finds
// plan.json reuses it rather than planning again.
import { shardKeys } from "../../../core/keys.ts";
import { MAX_SHARDS, type PlannedFile } from "../../../core/jobs.ts";
import { isOsJunk, type PathRoot } from "../../pipeline/index.ts";
import type { JobPlan, ShardFile, ShardObjects } from "./shardObjects.ts";

export interface PlanOptions {
  /** Items per shard (config SHARD_IMAGES); widened when the job would need more than MAX_SHARDS. */
  shardImages: number;
  /** Entries in an uploaded zip, from its central directory; undefined when it is not a readable zip (a shard then looks at it whole). */
  countZipEntries: (file: PlannedFile) => Promise<number | undefined>;
}

const isZipName = (name: string) => name.toLowerCase().endsWith(".zip");
const firstComponent = (name: string) => name.split("/", 1)[0]!;

/** Plans the job into shard file lists in S3 (or finds the plan already there) and returns the plan. */
export async function planShards(jobId: string, files: () => AsyncIterable<readonly PlannedFile[]>, objects: ShardObjects, options: PlanOptions): Promise<JobPlan> {
  const existing = await objects.plan(jobId);
  if (existing) return existing;

  // Pass 1: what the paths start from, and every zip's entry count. Memory: the distinct first
  // path components and one number per zip, both bounded by the job's file limit.
  const tops = new Set<string>();
  let someInFolder = false;
  let items = 0;
  const zipEntries = new Map<string, number>();
  for await (const page of files()) {
    for (const file of page) {
      if (isJunk(file.name)) continue;
      tops.add(firstComponent(file.name));
      if (file.name.includes("/")) someInFolder = true;
      const entries = isZipName(file.name) ? await options.countZipEntries(file) : undefined;
      if (entries !== undefined) zipEntries.set(file.name, entries);
      items += Math.max(1, entries ?? 1);
    }
  }
  const root = rootOf(tops, someInFolder, zipEntries);
  const strip = root.kind === "folder" ? `${root.name}/` : "";
  const perShard = Math.max(options.shardImages, Math.ceil(items / MAX_SHARDS));

  // Pass 2: files in the order Redis lists them, cut into shards of `perShard` items; a zip's
  // entries fill the shard they start in and run on into the next ones.
  const written: Promise<void>[] = [];
  let index = 0;
  let current: ShardFile[] = [];
  let room = perShard;
  const close = () => {
    if (current.length === 0) return;
    const shardFiles = current;
    const at = index++;
    written.push(objects.putJson(shardKeys.files(jobId, at), { index: at, root, files: shardFiles }));
    current = [];
    room = perShard;
  };
  for await (const page of files()) {
    for (const file of page) {
      if (isJunk(file.name)) continue;
      const base: ShardFile = {
        name: file.name,
        key: file.key,
        size: file.size,
        ...(file.etag ? { etag: file.etag } : {}),
        path: file.name.startsWith(strip) ? file.name.slice(strip.length) : file.name,
      };
      const entries = zipEntries.get(file.name);
      if (entries === undefined) {
        current.push(base);
        if (--room === 0) close();
        continue;
      }
      for (let from = 0; from < Math.max(entries, 1); ) {
        const to = Math.min(entries, from + room);
        current.push({ ...base, entries: { from, to: Math.max(to, from + 1) } });
        room -= Math.max(to - from, 1);
        from = Math.max(to, from + 1);
        if (room <= 0) close();
      }
    }
    // At most one page of writes in flight.
    await Promise.all(written.splice(0));
  }
  close();
  await Promise.all(written);
  // An empty job still has one shard: its merge writes the reports that say so.
  if (index === 0) {
    await objects.putJson(shardKeys.files(jobId, 0), { index: 0, root, files: [] });
    index = 1;
  }
  const plan: JobPlan = { count: index, items, root };
  await objects.putJson(shardKeys.plan(jobId), plan);
  return plan;
}

/** OS junk anywhere in the path (.DS_Store, __MACOSX/, Thumbs.db) is skipped, as the CLI skips it. */
function isJunk(name: string): boolean {
  return name.split("/").some((part) => isOsJunk(part));
}

/**
 * DESIGN.md "Paths in the results": one folder → paths inside it; one zip → paths inside the zip;
 * one photo → its name; anything else → each keeps its first component.
 */
function rootOf(tops: Set<string>, someInFolder: boolean, zips: Map<string, number>): PathRoot {
  if (tops.size !== 1) return { kind: "several", count: tops.size };
  const name = [...tops][0]!;
  if (someInFolder) return { kind: "folder", name };
  return { kind: zips.has(name) ? "zip" : "file", name };
}
