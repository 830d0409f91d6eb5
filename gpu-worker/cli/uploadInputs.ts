// What `trapline upload` sends: the files under the folders, zips and photos given, each under
// the name the upload page gives what the user picks (web/src/pickedNames.ts): every folder, zip
// or photo keeps its own name first, and a second one of the same name (upper and lower case
// alike) gets " (2)" (ZipPaths.claimInputName, the rule collectInputs uses). The worker then
// applies DESIGN.md "Paths in the results" to what arrived (gpu-worker/worker/s3Inputs.ts): one
// folder → paths relative to it, one zip → paths inside it, several → each one's name first; so
// the command line, the page and `trapline process` give the same paths. Zips go up as they
// are; the worker unpacks them. OS junk (.DS_Store, Thumbs.db, hidden files) is skipped as
// collectInputs skips it; links to folders are not followed; names that cannot be stored
// safely are reported, not sent.
import type { Dirent, Stats } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { basename, extname, join, resolve } from "node:path";
import { toSafeRelativePath } from "../../core/safePath.ts";
import { isOsJunk } from "../pipeline/inputs/osJunk.ts";
import { ZipPaths } from "../pipeline/zipLayout.ts";

/** A file on disk and the name it is uploaded under. */
export interface LocalFile {
  name: string;
  path: string;
  size: number;
  type: string;
}

export interface UploadInputs {
  /** In the order given, folders walked in name order. */
  files: LocalFile[];
  /** What was left out, and why (a sentence each). */
  skipped: { path: string; reason: string }[];
}

/** Content types by extension: the server signs them into each PUT; anything else goes as octet-stream. */
const TYPES: Record<string, string> = {
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
  ".webp": "image/webp",
  ".zip": "application/zip",
};

export function contentType(name: string): string {
  return TYPES[extname(name).toLowerCase()] ?? "application/octet-stream";
}

function byName(a: Dirent, b: Dirent): number {
  // Code-unit order, as collectInputs walks: the same folder lists the same way on every machine.
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Walks `folder`, naming each file `prefix` + "/" + its path inside. */
async function walk(folder: string, prefix: string, out: UploadInputs): Promise<void> {
  let children: Dirent[];
  try {
    children = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    out.skipped.push({ path: folder, reason: `the folder could not be read (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
    return;
  }
  for (const child of children.sort(byName)) {
    if (isOsJunk(child.name)) continue;
    const path = join(folder, child.name);
    const name = `${prefix}/${child.name}`;
    if (child.isDirectory()) {
      await walk(path, name, out);
      continue;
    }
    let stats: Stats;
    try {
      stats = await stat(path);
    } catch (error) {
      out.skipped.push({ path, reason: `it could not be opened (${(error as NodeJS.ErrnoException).code ?? String(error)})` });
      continue;
    }
    if (stats.isDirectory()) out.skipped.push({ path, reason: "it is a link to a folder; links to folders are not followed" });
    else if (!stats.isFile()) out.skipped.push({ path, reason: "it is not a regular file" });
    else add(out, name, path, stats.size);
  }
}

function add(out: UploadInputs, name: string, path: string, size: number): void {
  const safe = toSafeRelativePath(name);
  if (!safe.ok) out.skipped.push({ path, reason: `its name cannot be stored: the path ${safe.problem}` });
  else out.files.push({ name: safe.path, path, size, type: contentType(safe.path) });
}

/** The files behind `paths` with their upload names (see the top of this file). Throws for a path that does not exist. */
export async function collectUploadInputs(paths: readonly string[]): Promise<UploadInputs> {
  const out: UploadInputs = { files: [], skipped: [] };
  const unique = [...new Set(paths.map((path) => resolve(path)))];
  const found: { path: string; stats: Stats }[] = [];
  for (const path of unique) {
    try {
      found.push({ path, stats: await stat(path) });
    } catch {
      throw new Error(`not found: ${path}`);
    }
  }
  const names = new ZipPaths();
  for (const { path, stats } of found) {
    const base = basename(path) || "upload";
    if (stats.isDirectory()) await walk(path, names.claimInputName(base, false), out);
    else if (stats.isFile()) add(out, names.claimInputName(base, true), path, stats.size);
    else out.skipped.push({ path, reason: "it is not a regular file or folder" });
  }
  return out;
}
