// Downloads a manifest model into the weights folder: streamed to a temporary file, hashed
// on the way, renamed into place only when every published checksum matches.

import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import type { ManifestEntry } from "./manifest.ts";

/** Weights folder when neither an argument nor TRAPLINE_MODELS_DIR says otherwise (git-ignored). */
export const DEFAULT_MODELS_DIR = join(import.meta.dirname, "weights");

export function defaultModelsDir(): string {
  const fromEnv = process.env.TRAPLINE_MODELS_DIR?.trim();
  return fromEnv ? resolve(fromEnv) : DEFAULT_MODELS_DIR;
}

export function modelPath(entry: ManifestEntry, dir: string = defaultModelsDir()): string {
  return join(resolve(dir), entry.fileName);
}

export interface FetchProgress {
  receivedBytes: number;
  /** From Content-Length, else the manifest's size; undefined when neither is known. */
  totalBytes?: number;
}

export interface FetchModelOptions {
  dir?: string;
  /** Download even when a verified file is already in place. */
  force?: boolean;
  /** Download from here instead of the manifest URL (a mirror); checksums are still enforced. */
  url?: string;
  onProgress?: (progress: FetchProgress) => void;
  /** Plain-language notes on what happened (already present, unpinned checksum...). */
  onMessage?: (message: string) => void;
  fetchImpl?: typeof fetch;
  signal?: AbortSignal;
}

export class ModelFetchError extends Error {
  override name = "ModelFetchError";
}

interface Digests {
  sha256: string;
  md5: string;
  size: number;
}

/**
 * Makes sure the entry's ONNX file is in `dir` and returns its path. A file already there
 * whose checksums match is kept; otherwise it is downloaded again.
 */
export async function fetchModel(entry: ManifestEntry, options: FetchModelOptions = {}): Promise<string> {
  const dir = resolve(options.dir ?? defaultModelsDir());
  const target = modelPath(entry, dir);
  const say = options.onMessage ?? (() => {});
  await mkdir(dir, { recursive: true });

  if (!options.force && (await isFile(target))) {
    const problem = checksumProblem(entry, await digestFile(target));
    if (problem === undefined) {
      say(`${entry.id} is already in place and verified: ${target}`);
      return target;
    }
    if (problem === null) {
      say(`${entry.id} is already in place: ${target} (no checksum in the manifest to verify it against)`);
      return target;
    }
    say(`${target} is there but does not match the manifest (${problem}); downloading it again.`);
  }

  const url = options.url ?? entry.url;
  // Same folder as the target so that the final rename is atomic.
  const partial = join(dir, `.${entry.fileName}.${process.pid}-${randomBytes(4).toString("hex")}.part`);
  try {
    const digests = await download(entry, url, partial, target, options);
    const problem = checksumProblem(entry, digests);
    if (problem) {
      throw new ModelFetchError(
        `The file downloaded for ${entry.id} from ${url} is not the published one (${problem}). ` +
          `It may have been corrupted in transit or changed by its publisher; nothing was saved. Try again, ` +
          `and if it keeps happening check the checksum in models/manifest.json against the publisher.`,
      );
    }
    await rename(partial, target);
    if (problem === null) {
      say(
        `No checksum is pinned for ${entry.id}, so the download could not be verified. ` +
          `Its sha256 is ${digests.sha256} (${digests.size} bytes): compare it with the publisher's ` +
          `and add "sha256" and "sizeBytes" to its entry in models/manifest.json.`,
      );
    }
    return target;
  } finally {
    await rm(partial, { force: true });
  }
}

async function download(
  entry: ManifestEntry,
  url: string,
  partial: string,
  target: string,
  options: FetchModelOptions,
): Promise<Digests> {
  const byHand = manualInstallHint(entry, url, target);
  const fetchImpl = options.fetchImpl ?? fetch;
  let response: Response;
  try {
    response = await fetchImpl(url, { redirect: "follow", signal: options.signal });
  } catch (error) {
    throw new ModelFetchError(
      `Could not reach ${url} to download ${entry.id}: ${describeNetworkError(error)}. ` +
        `This machine may have no internet access. ${byHand}`,
    );
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new ModelFetchError(
      `Downloading ${entry.id} failed: ${url} answered HTTP ${response.status} ${response.statusText}. ${byHand}`,
    );
  }

  const contentLength = Number(response.headers.get("content-length"));
  const totalBytes = contentLength > 0 ? contentLength : (entry.sizeBytes ?? undefined);
  const sha256 = createHash("sha256");
  const md5 = createHash("md5");
  let receivedBytes = 0;
  const hashAndCount = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sha256.update(chunk);
      md5.update(chunk);
      receivedBytes += chunk.length;
      options.onProgress?.({ receivedBytes, totalBytes });
      callback(null, chunk);
    },
  });

  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      hashAndCount,
      createWriteStream(partial, { flags: "wx" }),
    );
  } catch (error) {
    const sofar = totalBytes ? `${formatMB(receivedBytes)} of ${formatMB(totalBytes)}` : formatMB(receivedBytes);
    throw new ModelFetchError(
      `The download of ${entry.id} from ${url} broke off after ${sofar}: ${describeNetworkError(error)}. ` +
        `Nothing was saved; run the command again. ${byHand}`,
    );
  }
  if (contentLength > 0 && receivedBytes !== contentLength) {
    throw new ModelFetchError(
      `The download of ${entry.id} from ${url} stopped early (${receivedBytes} of ${contentLength} bytes). ` +
        `Nothing was saved; run the command again.`,
    );
  }
  return { sha256: sha256.digest("hex"), md5: md5.digest("hex"), size: receivedBytes };
}

/**
 * What is wrong with a file against the manifest: a description, null when the manifest pins
 * nothing to compare with, undefined when everything pinned matches.
 */
function checksumProblem(entry: ManifestEntry, digests: Digests): string | null | undefined {
  if (entry.sizeBytes !== null && digests.size !== entry.sizeBytes) {
    return `size ${digests.size} bytes, expected ${entry.sizeBytes}`;
  }
  if (entry.sha256 !== null && digests.sha256 !== entry.sha256) {
    return `sha256 ${digests.sha256}, expected ${entry.sha256}`;
  }
  if (entry.md5 !== null && digests.md5 !== entry.md5) {
    return `md5 ${digests.md5}, expected ${entry.md5}`;
  }
  return entry.sha256 === null && entry.md5 === null ? null : undefined;
}

async function digestFile(path: string): Promise<Digests> {
  const sha256 = createHash("sha256");
  const md5 = createHash("md5");
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    sha256.update(chunk);
    md5.update(chunk);
    size += chunk.length;
  }
  return { sha256: sha256.digest("hex"), md5: md5.digest("hex"), size };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function manualInstallHint(entry: ManifestEntry, url: string, target: string): string {
  return (
    `To install it by hand, download ${url} on a machine with internet access and copy it to ${target} ` +
    `(or anywhere, then pass that .onnx path instead of "${entry.id}").`
  );
}

/** undici hides the useful part (ECONNREFUSED, ENOTFOUND, "other side closed") in error.cause. */
function describeNetworkError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 4; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    parts.push(code && !current.message.includes(code) ? `${current.message} (${code})` : current.message);
    current = current.cause;
  }
  return parts.length > 0 ? parts.join(": ") : String(error);
}

export function formatMB(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}
