// A zip in S3 as a random-access source for zipEntries.ts: every read is a ranged GET, so a
// planner reads only the central directory of a zip of 100,000 photos and each shard only its
// own entries, instead of every shard downloading the whole zip.
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { PassThrough, Readable, Transform } from "node:stream";
import yauzl from "yauzl";
import { ZipSourceError, type ZipReaderSource } from "../pipeline/inputs/zipEntries.ts";

/**
 * The first fetch at a new place: a local file header (30 bytes and a name) together with the
 * first bytes that sniffing reads, so listing an entry is one GET.
 */
const FIRST_BLOCK_BYTES = 4 * 1024;
/** Reads that carry on where a block ended (the central directory) double it up to this. */
const MAX_BLOCK_BYTES = 1024 * 1024;
/** Blocks kept per reader: the central directory's, and a local header's between its reads. */
const BLOCKS_KEPT = 4;

export interface S3ZipObject {
  bucket: string;
  key: string;
  /** The object's size, as submit checked it. */
  size: number;
  /** With it every GET carries If-Match, so an object replaced after submit is refused. */
  etag?: string;
  /** For logs and messages, e.g. "card.zip of job 42". */
  describe: string;
}

export interface RangeStats {
  /** GETs sent. */
  gets: number;
  /** Bytes received from them. */
  bytes: number;
}

export interface S3ZipSource extends ZipReaderSource {
  /** What every reader of this source has fetched so far. */
  stats(): RangeStats;
}

type FetchRange = (start: number, end: number, signal?: AbortSignal) => Promise<Readable>;

export function s3ZipSource(s3: S3Client, object: S3ZipObject): S3ZipSource {
  const stats: RangeStats = { gets: 0, bytes: 0 };
  const fetchRange: FetchRange = async (start, end, signal) => {
    stats.gets += 1;
    const get = new GetObjectCommand({
      Bucket: object.bucket,
      Key: object.key,
      Range: `bytes=${start}-${end - 1}`,
      ...(object.etag ? { IfMatch: object.etag } : {}),
    });
    try {
      const reply = await s3.send(get, signal ? { abortSignal: signal } : {});
      return countBytes(reply.Body as Readable, stats, object.describe);
    } catch (error) {
      throw storageError(error, object.describe);
    }
  };
  return {
    describe: object.describe,
    size: object.size,
    reader: () => new S3RangeReader(fetchRange, object.size),
    stats: () => ({ ...stats }),
  };
}

/** The body, counted as it arrives; a failure mid-body is the storage's, not the zip's. */
function countBytes(body: Readable, stats: RangeStats, describe: string): Readable {
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      stats.bytes += chunk.length;
      callback(null, chunk);
    },
    destroy(error, callback) {
      body.destroy();
      callback(error);
    },
  });
  body.on("error", (error) => counted.destroy(storageError(error, describe)));
  body.pipe(counted);
  return counted;
}

/** An S3 failure as ZipSourceError: permanent when the object changed or is gone. */
function storageError(error: unknown, describe: string): ZipSourceError {
  if (error instanceof ZipSourceError) return error;
  const name = (error as { name?: string }).name;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  // The same words as shards/shardInputs.ts uses for a file that is fetched whole.
  if (status === 412 || name === "PreconditionFailed") {
    return new ZipSourceError("changed after the upload was checked; it was not processed", { permanent: true, cause: error });
  }
  // 416: the object is now shorter than the size submit checked, so it was replaced too.
  if (status === 416 || name === "InvalidRange") {
    return new ZipSourceError("changed after the upload was checked (it is now shorter); it was not processed", { permanent: true, cause: error });
  }
  if (status === 404 || name === "NoSuchKey") {
    return new ZipSourceError("was not found in storage (it never finished uploading, or it expired)", { permanent: true, cause: error });
  }
  return new ZipSourceError(`reading ${describe} from storage failed (${(error as Error).message})`, { permanent: false, cause: error });
}

interface Block {
  start: number;
  bytes: Buffer;
}

/**
 * yauzl's reader over ranged GETs. yauzl reads the central directory record by record (46
 * bytes, then the name), which would be two GETs per entry: small reads are served from a few
 * cached blocks instead, each one that carries on from another twice its size, so walking the
 * central directory of 100,000 entries costs a few dozen GETs. Streams (an entry's data) are
 * one GET each, never cached.
 */
class S3RangeReader extends yauzl.RandomAccessReader {
  readonly #fetchRange: FetchRange;
  readonly #size: number;
  /** Least recently used first. */
  #blocks: Block[] = [];

  constructor(fetchRange: FetchRange, size: number) {
    super();
    this.#fetchRange = fetchRange;
    this.#size = size;
  }

  override _readStreamForRange(start: number, end: number): Readable {
    const cached = this.#cached(start, end);
    if (cached) return Readable.from([cached]);
    const controller = new AbortController();
    let body: Readable | undefined;
    // yauzl pipes what this returns at once, so the GET's body is piped in when it arrives;
    // destroying it (yauzl does, when a reader stops early) aborts the GET.
    const stream = new PassThrough({
      destroy(error, callback) {
        controller.abort();
        body?.destroy();
        callback(error);
      },
    });
    this.#fetchRange(start, end, controller.signal).then(
      (reply) => {
        body = reply;
        if (stream.destroyed) return reply.destroy();
        reply.on("error", (error) => stream.destroy(error));
        reply.pipe(stream);
      },
      (error: Error) => stream.destroy(error),
    );
    return stream;
  }

  // The callback's second argument (bytes read) is what yauzl checks; its typings leave it out.
  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (error: Error | null, bytesRead?: number) => void): void {
    this.#read(buffer, offset, length, position).then(
      (bytesRead) => callback(null, bytesRead),
      (error: Error) => callback(error),
    );
  }

  override close(callback: (error: Error | null) => void): void {
    this.#blocks = [];
    setImmediate(callback, null);
  }

  async #read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    // Past the end: yauzl turns a short read into "unexpected EOF".
    const wanted = Math.max(0, Math.min(length, this.#size - position));
    if (wanted === 0) return 0;
    let bytes = this.#cached(position, position + wanted);
    if (!bytes) {
      const block = await this.#fetchBlock(position, wanted);
      bytes = block.bytes.subarray(0, wanted);
    }
    bytes.copy(buffer, offset);
    return wanted;
  }

  /** The bytes [start, end) when one cached block holds them all, that block then the most recent. */
  #cached(start: number, end: number): Buffer | undefined {
    const index = this.#blocks.findIndex((block) => block.start <= start && end <= block.start + block.bytes.length);
    if (index < 0) return undefined;
    const [block] = this.#blocks.splice(index, 1);
    this.#blocks.push(block!);
    return block!.bytes.subarray(start - block!.start, end - block!.start);
  }

  async #fetchBlock(position: number, wanted: number): Promise<Block> {
    // A read that carries on from a block (or runs over its end) is walking forward: read more.
    const walked = this.#blocks.find((block) => block.start <= position && position <= block.start + block.bytes.length);
    const span = walked ? Math.min(MAX_BLOCK_BYTES, 2 * walked.bytes.length) : FIRST_BLOCK_BYTES;
    const end = Math.min(this.#size, position + Math.max(wanted, span));
    const chunks: Buffer[] = [];
    for await (const chunk of await this.#fetchRange(position, end)) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    if (bytes.length !== end - position) {
      throw new ZipSourceError(`changed after the upload was checked (a read of ${end - position} bytes returned ${bytes.length}); it was not processed`, {
        permanent: true,
      });
    }
    const block = { start: position, bytes };
    this.#blocks.push(block);
    if (this.#blocks.length > BLOCKS_KEPT) this.#blocks.shift();
    return block;
  }
}
