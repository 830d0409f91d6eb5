// The results zip, written as a stream: entries go out one at a time, so memory holds one
// image, not the job. JPEGs and other compressed images are stored, not deflated again.
import { ZipArchive, type ArchiverError } from "archiver";
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";

/** Formats that are already compressed: deflating them again costs CPU and saves nothing. */
const STORED_FORMATS = new Set(["jpeg", "png", "webp", "gif", "heif", "avif", "jp2", "jxl"]);

export class ResultsZip {
  private readonly archive: ZipArchive;
  private readonly names = new Set<string>();
  private failure: Error | undefined;

  constructor(output: Writable) {
    this.archive = new ZipArchive({ zlib: { level: 6 } });
    this.archive.on("error", (error: ArchiverError) => (this.failure = error));
    this.archive.on("warning", (error: ArchiverError) => (this.failure = error));
    this.archive.pipe(output);
  }

  addBuffer(name: string, data: Buffer, format?: string): Promise<void> {
    return this.add(name, () => this.archive.append(data, { name, store: format !== undefined && STORED_FORMATS.has(format) }));
  }

  /** `store`: the bytes are compressed already (an xlsx is a zip), so deflating again only costs CPU. */
  addStream(name: string, data: Readable, options: { store?: boolean } = {}): Promise<void> {
    return this.add(name, () => this.archive.append(data, { name, store: options.store === true }));
  }

  addFile(name: string, path: string): Promise<void> {
    return this.add(name, () => this.archive.file(path, { name }));
  }

  /**
   * Add one entry and wait until the archiver has taken it, so callers never queue more
   * than one entry's bytes in memory.
   */
  private async add(name: string, append: () => void): Promise<void> {
    this.claim(name);
    const entryDone = once(this.archive, "entry");
    append();
    await entryDone;
    this.throwIfFailed();
  }

  /** Write the central directory and wait until every byte has been handed to the output. */
  async finish(): Promise<number> {
    await this.archive.finalize();
    this.throwIfFailed();
    return this.archive.pointer();
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`two results want the same zip path: ${name}`);
    this.names.add(name);
  }

  private throwIfFailed(): void {
    if (this.failure) throw new Error(`could not write the results zip: ${this.failure.message}`);
  }
}
