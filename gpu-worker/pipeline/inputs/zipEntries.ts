// Reads the entries of a zip that a stranger made, without trusting its names, its sizes or its
// compression: every entry becomes an image to read later or a rejection with a reason.
// Zips are opened lazily: the listing reads the central directory and each entry's first bytes,
// and an image's bytes are unpacked only when its read() is called. The zip is a local file or
// any random-access source (a zip in S3 read with ranged GETs), and a listing may cover only a
// range of the central directory, so one big zip can be split across shards.

import { constants, crc32, createInflateRaw, inflateRawSync } from "node:zlib";
import type { Readable } from "node:stream";
import { buffer } from "node:stream/consumers";
import { pipeline } from "node:stream/promises";
import yauzl from "yauzl";
import type { Entry, ZipFile } from "yauzl";
import { formatBytes, UnpackBudget } from "./limits.ts";
import type { InputLimits } from "./limits.ts";
import { isOsJunk } from "./osJunk.ts";
import { toSafeRelativePath } from "../../../core/safePath.ts";
import { describeNonImage, SNIFF_BYTES, sniffType } from "./sniffType.ts";

export const NESTED_ZIP_REASON = "nested zip archives are not expanded: unzip it and add its contents";
export const EMPTY_ZIP_REASON = "is an empty zip: it holds no files, so there was nothing to process";
const ONLY_FOLDERS_REASON = "holds only folders and system files (such as __MACOSX or .DS_Store), no photos to process";

/** One entry of a zip, its path relative to the zip's root. */
export type ZipEntryItem =
  | { kind: "image"; path: string; size: number; read: () => Promise<Buffer> }
  /** `path` is missing when the entry's own name is unsafe; the reason then quotes the name. */
  | { kind: "rejected"; path?: string; reason: string };

/** The zip as a whole cannot be read (not a zip, damaged, too many entries). The message completes "<zip> …". */
export class ZipReadError extends Error {
  override name = "ZipReadError";
}

/**
 * A random-access source failed to deliver bytes, for a reason that is the storage's and not the
 * zip's: reading on would not show the zip to be damaged. When `permanent` (the object changed or
 * is gone) the message completes "<zip> …" and the zip becomes a row; otherwise (network, 5xx)
 * it is thrown as is, so the caller retries instead of blaming the photos.
 */
export class ZipSourceError extends Error {
  override name = "ZipSourceError";
  readonly permanent: boolean;

  constructor(message: string, options: { permanent: boolean; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.permanent = options.permanent;
  }
}

/** A zip read through a yauzl RandomAccessReader: `reader` makes a fresh one per open. */
export interface ZipReaderSource {
  /** For logs and messages, e.g. "s3://bucket/key". */
  describe: string;
  /** The zip's size in bytes: yauzl looks for the end of the central directory from here. */
  size: number;
  reader: () => yauzl.RandomAccessReader;
}

/** A zip on the local disk (its path) or behind a random-access reader. */
export type ZipSource = string | ZipReaderSource;

/**
 * Central directory indexes [from, to), counted over all entries (folders and OS junk included,
 * so every reader of the zip counts alike). `to` past the end means "to the end".
 */
export interface ZipEntryRange {
  from?: number;
  to?: number;
}

// APPNOTE 4.4.5 compression methods; yauzl unpacks only these two.
const COMPRESSION_STORED = 0;
const COMPRESSION_DEFLATE = 8;
// Compressed bytes inflated to sniff a deflated entry: a dynamic Huffman block header takes at
// most about 350 bytes, so the output of real encoders always reaches the first bytes of the file.
const DEFLATE_HEAD_BYTES = 1024;
const COMPRESSION_NAMES: Record<number, string> = { 9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "XZ", 98: "PPMd" };

// Unix file type bits in the high 16 bits of the external attributes (as Info-ZIP writes them).
const UNIX_FILE_TYPE_MASK = 0o170000;
const UNIX_SYMLINK = 0o120000;

function quoteName(name: string): string {
  const shown = name.length > 200 ? `${name.slice(0, 200)}…` : name;
  return JSON.stringify(shown);
}

function openZip(source: ZipSource, validateEntrySizes: boolean): Promise<ZipFile> {
  return new Promise((resolve, reject) => {
    // decodeStrings is off so that an unsafe name rejects one entry instead of failing the whole
    // zip; names are decoded below with yauzl's own getFileNameLowLevel, then checked by safePath.
    const options = { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes };
    const opened = (error: Error | null, zip: ZipFile) => {
      if (error) return reject(error);
      // Errors closing the file arrive as events; with no listener they would crash the process.
      zip.on("error", () => {});
      resolve(zip);
    };
    if (typeof source === "string") yauzl.open(source, options, opened);
    else yauzl.fromRandomAccessReader(source.reader(), source.size, options, opened);
  });
}

/** Opens the zip for listing, turning every failure into what the caller should see. */
async function openForListing(source: ZipSource): Promise<ZipFile> {
  try {
    // Sizes are checked entry by entry, so one lying entry does not hide the others.
    return await openZip(source, false);
  } catch (error) {
    throw storageFailure(error) ?? new ZipReadError(`is not a readable zip: it may be damaged or truncated (${(error as Error).message})`, { cause: error });
  }
}

/**
 * What to throw when `error` is the storage's fault rather than the zip's: a permanent one ends
 * this zip with its reason, a passing one goes up as is. Undefined for any other error.
 */
function storageFailure(error: unknown): Error | undefined {
  if (!(error instanceof ZipSourceError)) return undefined;
  return error.permanent ? new ZipReadError(error.message, { cause: error }) : error;
}

/**
 * How many entries the zip's central directory holds (folders and OS junk included), from its
 * end record alone: no entry is read, so a planner can split a zip of 100,000 photos into ranges
 * for the price of one small read. Throws ZipReadError when the zip cannot be read.
 */
export async function countZipEntries(source: ZipSource): Promise<number> {
  const zip = await openForListing(source);
  try {
    return zip.entryCount;
  } finally {
    zip.close();
  }
}

/** Pulls central directory entries one at a time; resolves null at the end, rejects once damaged. */
function entryPuller(zip: ZipFile): () => Promise<Entry | null> {
  let failure: Error | undefined;
  let pending: { resolve(entry: Entry | null): void; reject(error: Error): void } | undefined;
  const settle = (action: (waiter: NonNullable<typeof pending>) => void) => {
    const waiter = pending;
    pending = undefined;
    if (waiter) action(waiter);
  };
  zip.on("entry", (entry: Entry) => settle((waiter) => waiter.resolve(entry)));
  zip.on("end", () => settle((waiter) => waiter.resolve(null)));
  zip.on("error", (error: Error) => {
    failure = error;
    settle((waiter) => waiter.reject(error));
  });
  return () =>
    new Promise((resolve, reject) => {
      // yauzl goes quiet after its first error, so asking again would wait forever.
      if (failure) return reject(failure);
      pending = { resolve, reject };
      zip.readEntry();
    });
}

/**
 * The first SNIFF_BYTES of an entry, from a small raw slice of its data: far cheaper than opening
 * a full stream per entry, and a bomb can only inflate what that slice holds (about 1000:1).
 */
async function readEntryHead(zip: ZipFile, entry: Entry, fileDataStart: number): Promise<Buffer> {
  const sliceEnd = Math.min(entry.compressedSize, entry.compressionMethod === COMPRESSION_STORED ? SNIFF_BYTES : DEFLATE_HEAD_BYTES);
  // yauzl 3.4's openReadStreamLowLevelPromise calls openReadStream by mistake: the callback form it is.
  const stream = await new Promise<Readable>((resolve, reject) =>
    zip.openReadStreamLowLevel(fileDataStart, entry.compressedSize, 0, sliceEnd, false, null, (error, opened) => (error ? reject(error) : resolve(opened))),
  );
  const slice = await buffer(stream);
  if (entry.compressionMethod === COMPRESSION_STORED) return slice;
  // A sync flush inflates what the slice holds instead of failing on its cut-off end.
  return inflateRawSync(slice, { finishFlush: constants.Z_SYNC_FLUSH }).subarray(0, SNIFF_BYTES);
}

async function readAll(stream: AsyncIterable<Buffer>, expectedBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.length;
    // yauzl's validateEntrySizes already stops here; this keeps the cap even if that changes.
    if (total > expectedBytes) throw new Error("too many bytes in the stream");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

function describeUnpackError(error: unknown, declaredBytes: number): string {
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith("too many bytes")) {
    return `unpacks to more than the ${formatBytes(declaredBytes)} its zip header declares: the zip is damaged or was made to mislead`;
  }
  if (message.startsWith("not enough bytes")) {
    return `unpacks to less than the ${formatBytes(declaredBytes)} its zip header declares: the zip is damaged or truncated`;
  }
  return `could not be unpacked, the zip looks damaged or truncated (${message})`;
}

/** Unpacks one entry, holding it to its declared size and checksum. */
async function readEntryBytes(source: ZipSource, entry: Entry, fileDataStart: number): Promise<Buffer> {
  try {
    const bytes = typeof source === "string" ? await unpackFromFile(source, entry) : await unpackFromReader(source, entry, fileDataStart);
    if (crc32(bytes) !== entry.crc32) throw new Error("checksum mismatch");
    return bytes;
  } catch (error) {
    // Storage trouble is not damage: say what it is, so a passing failure can be retried.
    if (error instanceof ZipSourceError) throw error;
    throw new Error(describeUnpackError(error, entry.uncompressedSize), { cause: error });
  }
}

/** A local zip is opened again: cheap, and the file may be read long after the listing ended. */
async function unpackFromFile(zipPath: string, entry: Entry): Promise<Buffer> {
  const zip = await openZip(zipPath, true);
  try {
    return await readAll(await zip.openReadStreamPromise(entry), entry.uncompressedSize);
  } finally {
    zip.close();
  }
}

/**
 * A remote zip is not opened again, which would cost a read of its end record per photo: the
 * listing already read this entry's local header, so one ranged read of its data is enough.
 */
async function unpackFromReader(source: ZipReaderSource, entry: Entry, fileDataStart: number): Promise<Buffer> {
  // createReadStream holds the source to exactly compressedSize bytes ("not enough/too many bytes").
  const raw = source.reader().createReadStream({ start: fileDataStart, end: fileDataStart + entry.compressedSize });
  let bytes: Buffer = Buffer.alloc(0);
  const collect = async (stream: AsyncIterable<Buffer>) => {
    bytes = await readAll(stream, entry.uncompressedSize);
  };
  if (entry.compressionMethod === COMPRESSION_DEFLATE) await pipeline(raw, createInflateRaw(), collect);
  else await pipeline(raw, collect);
  if (bytes.length < entry.uncompressedSize) {
    throw new Error(`not enough bytes in the stream. expected ${entry.uncompressedSize}. got only ${bytes.length}`);
  }
  return bytes;
}

interface ClaimedRange {
  start: number;
  end: number;
  path: string;
}

/** Ranges per block of ClaimedRanges: an insert moves at most a block's worth. */
const RANGES_PER_BLOCK = 512;

/**
 * The byte ranges (local header through data) of the entries taken so far. A zip's central
 * directory may point many entries at the same bytes: 300 entries over one stored 1.1 MB JPEG
 * made a 1.1 MB upload into 300 images and a 333 MB result, and overlapping deflate streams make
 * a bomb that no per-entry ratio check sees. Honest zips never overlap, so only the first entry
 * over any byte is read. The ranges are disjoint and kept sorted by start in blocks, so a claim
 * costs a binary search and at most one block's move, whatever order the entries come in (one
 * sorted array took a minute for 200,000 entries listed back to front).
 */
class ClaimedRanges {
  readonly #blocks: ClaimedRange[][] = [];

  /** Claims [start, end) for `path`, or returns the path that already holds part of it. */
  claim(start: number, end: number, path: string): string | undefined {
    const blocks = this.#blocks;
    // The last block whose first range starts at or before `start` (else the first block).
    const b = Math.max(0, lastIndexAtOrBefore(blocks.length, (i) => blocks[i]![0]!.start <= start));
    const block = blocks[b] ?? [];
    // Where the range goes within the block: after every range that starts before it.
    const at = lastIndexAtOrBefore(block.length, (i) => block[i]!.start < start) + 1;
    const before = at > 0 ? block[at - 1] : blocks[b - 1]?.at(-1);
    if (before && before.end > start) return before.path;
    const after = at < block.length ? block[at] : blocks[b + 1]?.[0];
    if (after && after.start < end) return after.path;
    block.splice(at, 0, { start, end, path });
    if (blocks.length === 0) blocks.push(block);
    if (block.length > 2 * RANGES_PER_BLOCK) blocks.splice(b + 1, 0, block.splice(RANGES_PER_BLOCK));
    return undefined;
  }
}

/** The last index below `length` for which `isAtOrBefore` holds (it holds for a prefix), or -1. */
function lastIndexAtOrBefore(length: number, isAtOrBefore: (index: number) => boolean): number {
  let low = 0;
  let high = length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (isAtOrBefore(middle)) low = middle + 1;
    else high = middle;
  }
  return low - 1;
}

function isSymlink(entry: Entry): boolean {
  return ((entry.externalFileAttributes >>> 16) & UNIX_FILE_TYPE_MASK) === UNIX_SYMLINK;
}

/** Why an entry must not be unpacked at all, judged from its central directory record alone. */
function headerProblem(entry: Entry, limits: InputLimits): string | undefined {
  if (isSymlink(entry)) return "is a symbolic link inside the zip; links are not followed";
  if (entry.isEncrypted()) return "is password-protected: unzip it with its password and add the files instead";
  const method = entry.compressionMethod;
  if (method !== COMPRESSION_STORED && method !== COMPRESSION_DEFLATE) {
    const name = COMPRESSION_NAMES[method] ?? `method ${method}`;
    return `is compressed with ${name}, which cannot be unpacked here: re-create the zip with standard (Deflate) compression`;
  }
  if (method === COMPRESSION_STORED && entry.compressedSize !== entry.uncompressedSize) {
    return "has contradictory sizes in its zip header: the zip is damaged or was made to mislead";
  }
  const size = entry.uncompressedSize;
  if (size > limits.ratioCheckAboveBytes && size > entry.compressedSize * limits.maxCompressionRatio) {
    const ratio = Math.round(size / Math.max(entry.compressedSize, 1));
    return (
      `unpacks from ${formatBytes(entry.compressedSize)} to ${formatBytes(size)} (${ratio}:1), beyond the ` +
      `${limits.maxCompressionRatio}:1 allowed for files over ${formatBytes(limits.ratioCheckAboveBytes)}: a possible zip bomb`
    );
  }
  return undefined;
}

/**
 * The entries of the zip, in archive order. Folders and OS junk are skipped; unsafe names, links,
 * encrypted or exotic entries, zip bombs (by ratio, by overlapping entries, by total size for this
 * zip and for `budget`, the whole job's), nested zips and non-images come back rejected. Throws
 * ZipReadError when the zip as a whole cannot be read, possibly after yielding the entries that
 * came before the damage; a passing storage failure of a remote zip is thrown as it came.
 *
 * With `range`, only the entries at central directory indexes [from, to) are listed; the others
 * cost their central directory record and nothing more (no local header, no data). Ranges that
 * split [0, entryCount) list together exactly what one whole reading lists, each zip-wide row
 * once: the empty or folders-only row and the too-many-entries error come from the range that
 * starts at 0, and damage from the range holding the damaged record. Two things differ:
 * overlapping entries are caught only within a range, and `budget` sees only what this call unpacks.
 */
export async function* readZipEntries(
  source: ZipSource,
  limits: InputLimits,
  budget: UnpackBudget = new UnpackBudget(limits.maxJobUnpackedBytes),
  range: ZipEntryRange = {},
): AsyncGenerator<ZipEntryItem> {
  const from = range.from ?? 0;
  const to = range.to ?? Number.POSITIVE_INFINITY;
  if (!Number.isInteger(from) || from < 0 || !(Number.isInteger(to) || to === Number.POSITIVE_INFINITY) || to < from) {
    throw new RangeError(`invalid zip entry range [${from}, ${to})`);
  }
  const zip = await openForListing(source);
  try {
    if (zip.entryCount > limits.maxZipEntries) {
      // Said once per zip: the other ranges list nothing, as the whole reading would.
      if (from > 0) return;
      throw new ZipReadError(
        `holds ${zip.entryCount.toLocaleString("en")} entries, more than the ${limits.maxZipEntries.toLocaleString("en")} ` +
          "allowed in one zip: split it into smaller zips",
      );
    }
    const nextEntry = entryPuller(zip);
    // Overlaps are only seen between the entries of this range: the bytes of the entries before
    // it are not claimed, since that would mean reading their local headers.
    const claimed = new ClaimedRanges();
    /**
     * The per-zip cap counts declared sizes, in central directory order, of every entry that its
     * record alone lets through (safe name, no header problem, not over the per-image cap), and
     * that fits: whatever its content turns out to be. The records of the entries before a range
     * are read anyway, so a range counts them for free and rejects exactly the entries that a
     * whole reading rejects, without reading any entry outside it.
     */
    let declaredTotal = 0;
    let entriesRead = 0;
    /** Whether any entry would become an item (image or rejection): folders and OS junk do not. */
    let anyListed = false;
    for (;;) {
      // After the range, the range starting at 0 reads on (records only) to learn whether the
      // zip lists anything at all; it stops at the first entry that it would list.
      const lookingAhead = entriesRead >= to;
      if (lookingAhead && (from > 0 || anyListed)) return;
      let entry: Entry | null;
      try {
        entry = await nextEntry();
      } catch (error) {
        const failure = storageFailure(error);
        if (failure) throw failure;
        // The range that holds the broken record reports it; the others end here quietly.
        if (entriesRead < from || lookingAhead) return;
        if (/strong encryption/.test((error as Error).message)) {
          throw new ZipReadError("is password-protected: unzip it with its password and add the files instead", { cause: error });
        }
        throw new ZipReadError(
          `is damaged after its first ${entriesRead} entries, so the rest could not be read (${(error as Error).message})`,
          { cause: error },
        );
      }
      if (!entry) {
        // Every upload is accounted for: a zip with nothing to list still gets its row.
        if (from === 0 && !anyListed) {
          yield { kind: "rejected", reason: entriesRead === 0 ? EMPTY_ZIP_REASON : ONLY_FOLDERS_REASON };
        }
        return;
      }
      const inRange = entriesRead >= from && !lookingAhead;
      entriesRead += 1;

      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
      if (name.endsWith("/")) continue;
      const safe = toSafeRelativePath(name);
      if (safe.ok && isOsJunk(safe.path)) continue;
      anyListed = true;
      if (!safe.ok) {
        if (inRange) yield { kind: "rejected", reason: `zip entry ${quoteName(name)} was not unpacked: its path ${safe.problem}` };
        continue;
      }
      const path = safe.path;

      const problem = headerProblem(entry, limits);
      if (problem) {
        if (inRange) yield { kind: "rejected", path, reason: problem };
        continue;
      }

      const size = entry.uncompressedSize;
      const fitsZip = declaredTotal + size <= limits.maxZipUnpackedBytes;
      if (fitsZip && size <= limits.maxImageBytes) declaredTotal += size;
      if (!inRange) continue;

      let fileDataStart: number;
      try {
        ({ fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true }));
      } catch (error) {
        const failure = storageFailure(error);
        if (failure) throw failure;
        yield { kind: "rejected", path, reason: describeUnpackError(error, size) };
        continue;
      }
      const holder = claimed.claim(entry.relativeOffsetOfLocalHeader, fileDataStart + entry.compressedSize, path);
      if (holder !== undefined) {
        yield {
          kind: "rejected",
          path,
          reason: `was not unpacked: its bytes in the zip are also those of ${quoteName(holder)}, which honest zips never do (a zip bomb trick); only the first is kept`,
        };
        continue;
      }

      let head: Buffer = Buffer.alloc(0);
      if (size > 0) {
        try {
          head = await readEntryHead(zip, entry, fileDataStart);
        } catch (error) {
          const failure = storageFailure(error);
          if (failure) throw failure;
          yield { kind: "rejected", path, reason: describeUnpackError(error, size) };
          continue;
        }
      }
      const sniffed = sniffType(head);
      if (sniffed.kind === "zip") {
        yield { kind: "rejected", path, reason: NESTED_ZIP_REASON };
        continue;
      }
      if (sniffed.kind !== "image") {
        yield { kind: "rejected", path, reason: describeNonImage(sniffed) };
        continue;
      }

      if (size > limits.maxImageBytes) {
        yield { kind: "rejected", path, reason: `unpacks to ${formatBytes(size)}, more than the ${formatBytes(limits.maxImageBytes)} allowed for one image` };
        continue;
      }
      if (!fitsZip) {
        yield {
          kind: "rejected",
          path,
          reason: `was not unpacked: the files before it already reach the ${formatBytes(limits.maxZipUnpackedBytes)} one zip may unpack to; split the zip`,
        };
        continue;
      }
      if (!budget.take(size)) {
        yield {
          kind: "rejected",
          path,
          reason: `was not unpacked: the zips of this job already unpack to the ${formatBytes(budget.limit)} one job may hold; split the photos into smaller jobs`,
        };
        continue;
      }
      const listed = entry;
      yield { kind: "image", path, size, read: () => readEntryBytes(source, listed, fileDataStart) };
    }
  } finally {
    zip.close();
  }
}
