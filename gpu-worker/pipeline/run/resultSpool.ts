// Per-image results kept on disk while a job runs, so memory does not grow with the number of
// images: the reports at the end read them back sorted by path, one at a time.
import { mkdtemp, open, rm, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ImageResult } from "../types.ts";

interface SpoolEntry {
  path: string;
  offset: number;
  length: number;
}

/** Dates were Dates before JSON turned them into strings. */
export function reviveDates(key: string, value: unknown): unknown {
  return key === "wallClock" && typeof value === "string" ? new Date(value) : value;
}

export class ResultSpool {
  private readonly index: SpoolEntry[] = [];
  private size = 0;
  private readonly file: FileHandle;
  private readonly dir: string;

  private constructor(file: FileHandle, dir: string) {
    this.file = file;
    this.dir = dir;
  }

  static async create(parent = tmpdir()): Promise<ResultSpool> {
    const dir = await mkdtemp(join(parent, "trapline-results-"));
    return new ResultSpool(await open(join(dir, "results.ndjson"), "w+"), dir);
  }

  get count(): number {
    return this.index.length;
  }

  async add(result: ImageResult): Promise<void> {
    const bytes = Buffer.from(JSON.stringify(result) + "\n");
    await this.file.write(bytes, 0, bytes.length, this.size);
    this.index.push({ path: result.path, offset: this.size, length: bytes.length });
    this.size += bytes.length;
  }

  /** Every result, sorted by path as MegaDetector sorts its output (code-point order). */
  async *sorted(): AsyncGenerator<ImageResult> {
    const order = [...this.index].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const entry of order) {
      const buffer = Buffer.alloc(entry.length);
      await this.file.read(buffer, 0, entry.length, entry.offset);
      yield JSON.parse(buffer.toString("utf8"), reviveDates) as ImageResult;
    }
  }

  async dispose(): Promise<void> {
    await this.file.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
