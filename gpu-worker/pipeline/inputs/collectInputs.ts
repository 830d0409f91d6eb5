// Turns what the user pointed at (folders, single files, zips, in any mix) into the pipeline's
// InputItems: images to read later, and rejected inputs with a reason. Only each file's first
// bytes are read here; an image's bytes are read when the pipeline calls its read().

import { open, readdir, readFile, stat } from "node:fs/promises";
import type { Dirent, Stats } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import type { InputItem } from "../types.ts";
import { formatBytes, resolveInputLimits, UnpackBudget } from "./limits.ts";
import type { InputLimits } from "./limits.ts";
import { isOsJunk } from "./osJunk.ts";
import { toSafeRelativePath } from "../../../core/safePath.ts";
import { describeNonImage, SNIFF_BYTES, sniffType } from "./sniffType.ts";
import { readZipEntries, ZipReadError } from "./zipEntries.ts";

/** Everything a job will see, listed up front so that progress can show a total. */
export interface InputPlan {
  items: InputItem[];
  imageCount: number;
  rejectedCount: number;
}

// Documents that are zips inside but never hold the user's photos: reported, not unpacked.
const ZIP_BASED_DOCUMENTS = new Set([".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".epub", ".kmz", ".jar", ".apk"]);

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "not found";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "ELOOP") return "a link that points to itself";
  return error instanceof Error ? error.message : String(error);
}

function quoteName(name: string): string {
  return JSON.stringify(name);
}

async function readHead(filePath: string): Promise<Buffer> {
  const file = await open(filePath, "r");
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(SNIFF_BYTES), 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** "cam1/card.zip" → "cam1/card": a zip's entries live in a folder named after it. */
function zipFolderPath(zipPath: string): string {
  return zipPath.replace(/\.zip$/i, "");
}

async function* expandZip(filePath: string, zipPath: string, limits: InputLimits, budget: UnpackBudget): AsyncGenerator<InputItem> {
  const folder = zipFolderPath(zipPath);
  try {
    for await (const entry of readZipEntries(filePath, limits, budget)) {
      if (entry.kind === "rejected") {
        yield { kind: "rejected", path: entry.path === undefined ? zipPath : `${folder}/${entry.path}`, reason: entry.reason };
        continue;
      }
      const joined = toSafeRelativePath(`${folder}/${entry.path}`);
      if (!joined.ok) {
        yield { kind: "rejected", path: zipPath, reason: `zip entry ${quoteName(entry.path)} was not unpacked: its path ${joined.problem}` };
        continue;
      }
      yield { kind: "image", source: { path: joined.path, size: entry.size, read: entry.read } };
    }
  } catch (error) {
    const reason = error instanceof ZipReadError ? error.message : `could not be read as a zip (${describeFsError(error)})`;
    yield { kind: "rejected", path: zipPath, reason };
  }
}

/** One file at `relativePath` (already safe): an image, a zip to expand, or a rejection. */
async function* collectFile(filePath: string, relativePath: string, stats: Stats, limits: InputLimits, budget: UnpackBudget): AsyncGenerator<InputItem> {
  let head: Buffer;
  try {
    head = stats.size === 0 ? Buffer.alloc(0) : await readHead(filePath);
  } catch (error) {
    yield { kind: "rejected", path: relativePath, reason: `could not be read (${describeFsError(error)})` };
    return;
  }
  const sniffed = sniffType(head);
  if (sniffed.kind === "zip") {
    const extension = extname(relativePath).toLowerCase();
    if (ZIP_BASED_DOCUMENTS.has(extension)) {
      yield { kind: "rejected", path: relativePath, reason: `not an image (${extension.slice(1).toUpperCase()} document)` };
    } else {
      yield* expandZip(filePath, relativePath, limits, budget);
    }
    return;
  }
  if (sniffed.kind !== "image") {
    yield { kind: "rejected", path: relativePath, reason: describeNonImage(sniffed) };
    return;
  }
  if (stats.size > limits.maxImageBytes) {
    const reason = `is ${formatBytes(stats.size)}, more than the ${formatBytes(limits.maxImageBytes)} allowed for one image`;
    yield { kind: "rejected", path: relativePath, reason };
    return;
  }
  yield { kind: "image", source: { path: relativePath, size: stats.size, read: () => readFile(filePath) } };
}

function byName(a: Dirent, b: Dirent): number {
  // Code-unit order, not locale order: the same folder lists the same way on every machine.
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

async function* walkFolder(folderPath: string, relativePath: string, limits: InputLimits, budget: UnpackBudget): AsyncGenerator<InputItem> {
  let children: Dirent[];
  try {
    children = await readdir(folderPath, { withFileTypes: true });
  } catch (error) {
    yield { kind: "rejected", path: relativePath, reason: `folder could not be read (${describeFsError(error)})` };
    return;
  }
  for (const child of children.sort(byName)) {
    if (isOsJunk(child.name)) continue;
    const childPath = join(folderPath, child.name);
    const safe = toSafeRelativePath(`${relativePath}/${child.name}`);
    if (!safe.ok) {
      yield { kind: "rejected", path: relativePath, reason: `${quoteName(child.name)} was skipped: its path ${safe.problem}` };
      continue;
    }
    if (child.isDirectory()) {
      yield* walkFolder(childPath, safe.path, limits, budget);
      continue;
    }
    let stats: Stats;
    try {
      stats = await stat(childPath);
    } catch (error) {
      yield { kind: "rejected", path: safe.path, reason: `could not be opened (${describeFsError(error)})` };
      continue;
    }
    if (stats.isDirectory()) {
      // Only a link can get here: following links to folders risks loops and leaving the folder.
      yield { kind: "rejected", path: safe.path, reason: "is a link to a folder; links to folders are not followed" };
    } else if (stats.isFile()) {
      yield* collectFile(childPath, safe.path, stats, limits, budget);
    } else {
      yield { kind: "rejected", path: safe.path, reason: "is not a regular file" };
    }
  }
}

/** One command-line argument: a folder keeps its own name, a file or zip is named by its base name. */
async function* collectArgument(argument: string, limits: InputLimits, budget: UnpackBudget): AsyncGenerator<InputItem> {
  const absolute = resolve(argument);
  const name = basename(absolute) || "input";
  const safe = toSafeRelativePath(name);
  if (!safe.ok) {
    yield { kind: "rejected", path: argument, reason: `${quoteName(name)} was skipped: its name ${safe.problem}` };
    return;
  }
  let stats: Stats;
  try {
    stats = await stat(absolute);
  } catch (error) {
    yield { kind: "rejected", path: safe.path, reason: `could not be opened: ${quoteName(argument)} (${describeFsError(error)})` };
    return;
  }
  if (stats.isDirectory()) yield* walkFolder(absolute, safe.path, limits, budget);
  else if (stats.isFile()) yield* collectFile(absolute, safe.path, stats, limits, budget);
  else yield { kind: "rejected", path: safe.path, reason: "is not a regular file or folder" };
}

/** "IMG_0001.JPG", 2 → "IMG_0001 (2).JPG"; "notes", 3 → "notes (3)". */
function withCopyNumber(path: string, copy: number): string {
  const nameStart = path.lastIndexOf("/") + 1;
  const dot = path.lastIndexOf(".");
  const cut = dot > nameStart ? dot : path.length;
  return `${path.slice(0, cut)} (${copy})${path.slice(cut)}`;
}

/**
 * Hands out each path once. A later image at a taken path gets the first free " (n)" suffix.
 * Case is ignored, because results are unzipped on Windows and macOS, where IMG.JPG is img.jpg.
 */
function uniquePaths(): (path: string) => string {
  const taken = new Set<string>();
  return (path) => {
    let candidate = path;
    for (let copy = 2; taken.has(candidate.toLowerCase()); copy += 1) candidate = withCopyNumber(path, copy);
    taken.add(candidate.toLowerCase());
    return candidate;
  };
}

/**
 * The inputs behind `paths`, in argument order; folders are walked recursively in name order and
 * zips (recognised by content, wherever they are) in archive order. OS junk is skipped silently.
 * Image paths are unique within the call. Never throws for bad input: it becomes a rejected item.
 */
export async function* collectInputs(paths: string[], limits?: Partial<InputLimits>): AsyncGenerator<InputItem> {
  const resolvedLimits = resolveInputLimits(limits);
  const claim = uniquePaths();
  // One budget for every zip of the call: a job's zips together unpack to at most maxJobUnpackedBytes.
  const budget = new UnpackBudget(resolvedLimits.maxJobUnpackedBytes);
  for (const argument of paths) {
    for await (const item of collectArgument(argument, resolvedLimits, budget)) {
      if (item.kind === "image") {
        const path = claim(item.source.path);
        yield path === item.source.path ? item : { kind: "image", source: { ...item.source, path } };
      } else {
        yield item;
      }
    }
  }
}

/** All of collectInputs at once, with counts: what a progress bar needs before the first image. */
export async function planInputs(paths: string[], limits?: Partial<InputLimits>): Promise<InputPlan> {
  const items: InputItem[] = [];
  for await (const item of collectInputs(paths, limits)) items.push(item);
  const imageCount = items.filter((item) => item.kind === "image").length;
  return { items, imageCount, rejectedCount: items.length - imageCount };
}
