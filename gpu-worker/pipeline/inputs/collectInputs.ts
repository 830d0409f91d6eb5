// Turns what the user pointed at (folders, single files, zips, in any mix) into the pipeline's
// InputItems: images to read later, and rejected inputs with a reason. Only each file's first
// bytes are read here; an image's bytes are read when the pipeline calls its read().

import { open, readdir, readFile, stat } from "node:fs/promises";
import type { Dirent, Stats } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import type { InputItem } from "../types.ts";
import { ZipPaths, type PathRoot } from "../zipLayout.ts";
import { formatBytes, resolveInputLimits, UnpackBudget } from "./limits.ts";
import type { InputLimits } from "./limits.ts";
import { isOsJunk } from "./osJunk.ts";
import { toSafeRelativePath } from "../../../core/safePath.ts";
import { describeNonImage, SNIFF_BYTES, sniffType } from "./sniffType.ts";
import { readZipEntries, ZipReadError, ZipSourceError, type ZipEntryRange, type ZipSource } from "./zipEntries.ts";

/** Everything a job will see, listed up front so that progress can show a total. */
export interface InputPlan {
  items: InputItem[];
  imageCount: number;
  rejectedCount: number;
  /** What the items' paths start from (README.txt says it). */
  root: PathRoot;
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

/** The first SNIFF_BYTES of a file: all that classifyHead needs. */
export async function readHead(filePath: string): Promise<Buffer> {
  const file = await open(filePath, "r");
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(SNIFF_BYTES), 0, SNIFF_BYTES, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** "cam1/card.zip" → "cam1/card": a zip's entries live in a folder named after it. */
export function zipFolderPath(zipPath: string): string {
  return zipPath.replace(/\.zip$/i, "");
}

/** `name` inside `folder`, where "" is the top of the results. */
function under(folder: string, name: string): string {
  return folder === "" ? name : `${folder}/${name}`;
}

/** A zip's entries, inside `folder`; problems with the zip as a whole are rows at `zipPath`. */
export async function* expandZip(
  source: ZipSource,
  zipPath: string,
  folder: string,
  limits: InputLimits,
  budget: UnpackBudget,
  range?: ZipEntryRange,
): AsyncGenerator<InputItem> {
  try {
    for await (const entry of readZipEntries(source, limits, budget, range)) {
      if (entry.kind === "rejected") {
        yield { kind: "rejected", path: entry.path === undefined ? zipPath : under(folder, entry.path), reason: entry.reason };
        continue;
      }
      const joined = toSafeRelativePath(under(folder, entry.path));
      if (!joined.ok) {
        yield { kind: "rejected", path: zipPath, reason: `zip entry ${quoteName(entry.path)} was not unpacked: its path ${joined.problem}` };
        continue;
      }
      yield { kind: "image", source: { path: joined.path, size: entry.size, read: entry.read } };
    }
  } catch (error) {
    // Storage that did not answer (S3 down, a dropped connection) is worth a retry, not a row.
    if (error instanceof ZipSourceError && !error.permanent) throw error;
    const reason = error instanceof ZipReadError ? error.message : `could not be read as a zip (${describeFsError(error)})`;
    yield { kind: "rejected", path: zipPath, reason };
  }
}

export type FileKind = { kind: "image" } | { kind: "zip" } | { kind: "rejected"; reason: string };

/** What one file is, by its first bytes (its name only tells zip-based documents apart). */
async function classifyFile(filePath: string, name: string, stats: Stats, limits: InputLimits): Promise<FileKind> {
  let head: Buffer;
  try {
    head = stats.size === 0 ? Buffer.alloc(0) : await readHead(filePath);
  } catch (error) {
    return { kind: "rejected", reason: `could not be read (${describeFsError(error)})` };
  }
  return classifyHead(head, name, stats.size, limits);
}

/** What a file of `size` bytes named `name` is, from its first bytes: the one rule for local files and S3 objects alike. */
export function classifyHead(head: Uint8Array, name: string, size: number, limits: InputLimits): FileKind {
  const sniffed = sniffType(head);
  if (sniffed.kind === "zip") {
    const extension = extname(name).toLowerCase();
    if (ZIP_BASED_DOCUMENTS.has(extension)) return { kind: "rejected", reason: `not an image (${extension.slice(1).toUpperCase()} document)` };
    return { kind: "zip" };
  }
  if (sniffed.kind !== "image") return { kind: "rejected", reason: describeNonImage(sniffed) };
  if (size > limits.maxImageBytes) {
    return { kind: "rejected", reason: `is ${formatBytes(size)}, more than the ${formatBytes(limits.maxImageBytes)} allowed for one image` };
  }
  return { kind: "image" };
}

function imageFile(filePath: string, path: string, size: number): InputItem {
  return { kind: "image", source: { path, size, read: () => readFile(filePath) } };
}

/** One file found in a folder, at `relativePath` (already safe): an image, a zip to expand, or a rejection. */
async function* collectFile(filePath: string, relativePath: string, stats: Stats, limits: InputLimits, budget: UnpackBudget): AsyncGenerator<InputItem> {
  const file = await classifyFile(filePath, relativePath, stats, limits);
  if (file.kind === "zip") yield* expandZip(filePath, relativePath, zipFolderPath(relativePath), limits, budget);
  else if (file.kind === "image") yield imageFile(filePath, relativePath, stats.size);
  else yield { kind: "rejected", path: relativePath, reason: file.reason };
}

function byName(a: Dirent, b: Dirent): number {
  // Code-unit order, not locale order: the same folder lists the same way on every machine.
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * A folder's files, recursively, under `relativePath` ("" when the folder is the top of the
 * results); problems with the folder itself are rows at `shownAs`.
 */
async function* walkFolder(folderPath: string, relativePath: string, shownAs: string, limits: InputLimits, budget: UnpackBudget): AsyncGenerator<InputItem> {
  let children: Dirent[];
  try {
    children = await readdir(folderPath, { withFileTypes: true });
  } catch (error) {
    yield { kind: "rejected", path: shownAs, reason: `folder could not be read (${describeFsError(error)})` };
    return;
  }
  for (const child of children.sort(byName)) {
    if (isOsJunk(child.name)) continue;
    const childPath = join(folderPath, child.name);
    const safe = toSafeRelativePath(under(relativePath, child.name));
    if (!safe.ok) {
      yield { kind: "rejected", path: shownAs, reason: `${quoteName(child.name)} was skipped: its path ${safe.problem}` };
      continue;
    }
    if (child.isDirectory()) {
      yield* walkFolder(childPath, safe.path, safe.path, limits, budget);
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

/** One command-line argument, looked at: its safe base name and what it is. */
type Argument =
  | { kind: "folder"; absolute: string; name: string }
  | { kind: "image" | "zip"; absolute: string; name: string; size: number }
  | { kind: "rejected"; path: string; reason: string };

async function openArgument(argument: string, limits: InputLimits): Promise<Argument> {
  const absolute = resolve(argument);
  const base = basename(absolute) || "input";
  const safe = toSafeRelativePath(base);
  if (!safe.ok) return { kind: "rejected", path: argument, reason: `${quoteName(base)} was skipped: its name ${safe.problem}` };
  const name = safe.path;
  let stats: Stats;
  try {
    stats = await stat(absolute);
  } catch (error) {
    return { kind: "rejected", path: name, reason: `could not be opened: ${quoteName(argument)} (${describeFsError(error)})` };
  }
  if (stats.isDirectory()) return { kind: "folder", absolute, name };
  if (!stats.isFile()) return { kind: "rejected", path: name, reason: "is not a regular file or folder" };
  const file = await classifyFile(absolute, name, stats, limits);
  return file.kind === "rejected" ? { kind: "rejected", path: name, reason: file.reason } : { kind: file.kind, absolute, name, size: stats.size };
}

/**
 * One argument's items (DESIGN.md "Paths in the results"). Given alone, it is the top of the
 * results: a folder's paths are relative to it, a zip's are those inside it, a photo keeps its
 * name. One of several, it keeps its own name as the first path component (a zip's without
 * ".zip"), with " (2)" when an earlier argument has that name.
 */
async function* collectArgument(argument: Argument, alone: boolean, names: ZipPaths, limits: InputLimits, budget: UnpackBudget): AsyncGenerator<InputItem> {
  if (argument.kind === "rejected") {
    yield argument;
  } else if (argument.kind === "folder") {
    const folder = alone ? "" : names.claimInputName(argument.name, false);
    yield* walkFolder(argument.absolute, folder, folder || argument.name, limits, budget);
  } else if (argument.kind === "zip") {
    const folder = alone ? "" : names.claimInputName(zipFolderPath(argument.name), false);
    yield* expandZip(argument.absolute, argument.name, folder, limits, budget);
  } else {
    yield imageFile(argument.absolute, alone ? argument.name : names.claimInputName(argument.name, true), argument.size);
  }
}

/**
 * The inputs behind `paths`, in argument order; folders are walked recursively in name order and
 * zips (recognised by content, wherever they are) in archive order. OS junk is skipped silently.
 * Image paths are unique within the call and clear of the zip's own names (ZipPaths). Never
 * throws for bad input: it becomes a rejected item.
 */
export async function* collectInputs(paths: string[], limits?: Partial<InputLimits>): AsyncGenerator<InputItem> {
  const resolvedLimits = resolveInputLimits(limits);
  const names = new ZipPaths();
  // One budget for every zip of the call: a job's zips together unpack to at most maxJobUnpackedBytes.
  const budget = new UnpackBudget(resolvedLimits.maxJobUnpackedBytes);
  for (const path of paths) {
    const argument = await openArgument(path, resolvedLimits);
    for await (const item of collectArgument(argument, paths.length === 1, names, resolvedLimits, budget)) {
      if (item.kind === "image") {
        const claimed = names.claim(item.source.path);
        yield claimed === item.source.path ? item : { kind: "image", source: { ...item.source, path: claimed } };
      } else {
        yield item;
      }
    }
  }
}

/** What the paths of collectInputs(paths) start from. */
export async function inputRoot(paths: string[], limits?: Partial<InputLimits>): Promise<PathRoot> {
  if (paths.length !== 1) return { kind: "several", count: paths.length };
  const argument = await openArgument(paths[0]!, resolveInputLimits(limits));
  if (argument.kind === "rejected") return { kind: "file", name: argument.path };
  return { kind: argument.kind === "image" ? "file" : argument.kind, name: argument.name };
}

/** All of collectInputs at once, with counts: what a progress bar needs before the first image. */
export async function planInputs(paths: string[], limits?: Partial<InputLimits>): Promise<InputPlan> {
  const items: InputItem[] = [];
  for await (const item of collectInputs(paths, limits)) items.push(item);
  const imageCount = items.filter((item) => item.kind === "image").length;
  return { items, imageCount, rejectedCount: items.length - imageCount, root: await inputRoot(paths, limits) };
}
