// A job's uploads, from S3 to a scratch folder, then through the same input rules as the CLI
// (types by content, safe zip expansion, bombs, unique paths): files stream to disk, so
// memory stays bounded whatever the job's size; the folder is removed when the job ends.
import { GetObjectCommand, NoSuchKey, type S3Client } from "@aws-sdk/client-s3";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { PlannedFile } from "../../core/jobs.ts";
import { toSafeRelativePath } from "../../core/safePath.ts";
import { planInputs, type InputItem, type InputLimits, type InputPlan } from "../pipeline/index.ts";

/** Downloads at once: enough to fill the network, few enough to be polite to S3 and the disk. */
const DOWNLOADS_IN_FLIGHT = 4;

export interface JobInputs extends InputPlan {
  /** Removes the scratch folder. */
  dispose(): Promise<void>;
}

export interface DownloadOptions {
  bucket: string;
  /** Parent of the scratch folder (default: the system's temp folder). */
  scratchDir?: string;
  limits?: Partial<InputLimits>;
  signal?: AbortSignal;
  /** How many files the job holds: a list that yields another number is an error, not a smaller job. */
  expectedCount?: number;
}

/**
 * Downloads every planned file and lists the job's inputs; a file gone from S3 is a row with its
 * reason. `files` comes a page at a time (core/filePlan.ts batches), so only one page is held;
 * a name seen again (Redis's scan may repeat one) is downloaded once.
 */
export async function downloadJobInputs(s3: S3Client, files: AsyncIterable<readonly PlannedFile[]> | readonly PlannedFile[], options: DownloadOptions): Promise<JobInputs> {
  const dir = await mkdtemp(join(options.scratchDir ?? tmpdir(), "trapline-job-"));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const missing: Extract<InputItem, { kind: "rejected" }>[] = [];
    const seen = new Set<string>();
    const pages = Array.isArray(files) ? [files as readonly PlannedFile[]] : (files as AsyncIterable<readonly PlannedFile[]>);
    for await (const page of pages) {
      const fresh = page.filter((file) => !seen.has(file.name));
      for (const file of fresh) seen.add(file.name);
      let next = 0;
      const downloadNext = async (): Promise<void> => {
        while (next < fresh.length) {
          const file = fresh[next++]!;
          const problem = await downloadOne(s3, file, dir, options);
          if (problem) missing.push({ kind: "rejected", path: file.name, reason: problem });
        }
      };
      await Promise.all(Array.from({ length: Math.min(DOWNLOADS_IN_FLIGHT, fresh.length) }, downloadNext));
    }
    if (options.expectedCount !== undefined && seen.size !== options.expectedCount) {
      throw new Error(`the job's file list holds ${seen.size} of its ${options.expectedCount} files (its record expired, or was lost)`);
    }

    // Each top-level entry is passed on its own, as the CLI's arguments: the page uploads names
    // as the user picked them, so a job of one folder or one zip gets paths relative to it, and
    // one of several things keeps each one's name first (DESIGN.md "Paths in the results").
    const topLevel = (await readdir(dir)).sort();
    const plan = await planInputs(
      topLevel.map((name) => join(dir, name)),
      options.limits,
    );
    // A file missing from one chosen folder is named as the files found there are.
    const inRoot = plan.root.kind === "folder" ? `${plan.root.name}/` : "";
    const missingRows = missing.map((row) => (inRoot && row.path.startsWith(inRoot) ? { ...row, path: row.path.slice(inRoot.length) } : row));
    const items = [...plan.items, ...missingRows.sort((a, b) => (a.path < b.path ? -1 : 1))];
    return { ...plan, items, rejectedCount: plan.rejectedCount + missing.length, dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** Why the file could not be used, or undefined once it is on disk. Other S3 errors throw (worth a retry). */
async function downloadOne(s3: S3Client, file: PlannedFile, dir: string, options: DownloadOptions): Promise<string | undefined> {
  const safe = toSafeRelativePath(file.name);
  if (!safe.ok) return `was not processed: its name ${safe.problem}`;
  let body: Readable;
  try {
    // If-Match: the object submit checked, not one uploaded again since with a still-valid link.
    const get = new GetObjectCommand({ Bucket: options.bucket, Key: file.key, ...(file.etag ? { IfMatch: file.etag } : {}) });
    const reply = await s3.send(get, options.signal ? { abortSignal: options.signal } : {});
    body = reply.Body as Readable;
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === "NoSuchKey") {
      return "was not found in storage (it never finished uploading, or it expired)";
    }
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) {
      return "changed after the upload was checked; it was not processed";
    }
    throw error;
  }
  const target = join(dir, safe.path);
  try {
    await mkdir(dirname(target), { recursive: true });
    await pipeline(body, createWriteStream(target), options.signal ? { signal: options.signal } : {});
  } catch (error) {
    // "cam1" uploaded as a file and "cam1/IMG_0001.JPG" too: one of them cannot exist on disk.
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR" || code === "EEXIST" || code === "EISDIR") return "was not processed: a file and a folder in the upload share its name";
    throw error;
  }
  return undefined;
}
