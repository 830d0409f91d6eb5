// EXIF is read on a small pool of worker threads, each file against a deadline. exifr is plain
// JavaScript and some damaged files send it round a loop for ever (a zero-length HEIF box did:
// one 32-byte upload froze the whole worker). A loop on the main thread cannot be interrupted;
// a thread can be terminated. A file past its deadline gets a "took too long" answer, its thread
// is ended and replaced, and the job goes on.
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { exifrInput, type ExifTags } from "./exifTags.ts";

/** How long one file may take. exifr reads a camera's EXIF in about a millisecond. */
export const METADATA_DEADLINE_MS = 10_000;

/** Threads in the shared pool: exifr is quick, the second thread keeps work moving while one file runs into its deadline. */
const POOL_THREADS = Math.min(2, availableParallelism());

export interface ExifRequest {
  id: number;
  /** The file's bytes, transferred to the thread (not copied again). */
  bytes: ArrayBuffer;
}

export type ExifReply = { ready: true } | { id: number; tags: ExifTags };

interface Job {
  bytes: ArrayBuffer;
  resolve: (tags: ExifTags) => void;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  job?: { id: number; job: Job; deadline: NodeJS.Timeout };
}

export interface ExifThreadsOptions {
  size?: number;
  deadlineMs?: number;
}

export class ExifThreads {
  readonly #size: number;
  readonly #deadlineMs: number;
  readonly #threads = new Set<Thread>();
  /** Files waiting for a thread; callers bound it (the pipeline reads at most two batches ahead). */
  readonly #queue: Job[] = [];
  #nextId = 0;
  #closed = false;

  constructor(options: ExifThreadsOptions = {}) {
    this.#size = Math.max(1, options.size ?? POOL_THREADS);
    this.#deadlineMs = options.deadlineMs ?? METADATA_DEADLINE_MS;
  }

  /** exifr's answer for `bytes`, or why there is none (damaged, too long to read). Never throws. */
  parse(bytes: Uint8Array): Promise<ExifTags> {
    if (this.#closed) return Promise.resolve({ ok: false, reason: "the metadata reader is closed" });
    // One copy of what exifr reads, into a buffer of its own that is then moved to the thread:
    // the caller still needs its bytes for decoding and the results zip.
    const copy = new Uint8Array(exifrInput(bytes)).buffer;
    return new Promise((resolve) => {
      this.#queue.push({ bytes: copy, resolve });
      this.#pump();
    });
  }

  /** Ends every thread; files still waiting get an answer saying so. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.resolve({ ok: false, reason: "the metadata reader is closed" });
    await Promise.all([...this.#threads].map((thread) => this.#end(thread, "the metadata reader is closed")));
  }

  #pump(): void {
    for (const thread of this.#threads) {
      if (this.#queue.length === 0) break;
      if (thread.ready && !thread.job) this.#dispatch(thread, this.#queue.shift()!);
    }
    if (this.#queue.length > 0 && this.#threads.size < this.#size) this.#start();
    // Threads keep the process alive while files wait or are read, never when idle: an idle
    // pool must not keep a CLI run or a test from ending.
    const busy = this.#queue.length > 0 || [...this.#threads].some((thread) => thread.job);
    for (const { worker } of this.#threads) {
      if (busy) worker.ref();
      else worker.unref();
    }
  }

  #dispatch(thread: Thread, job: Job): void {
    const id = this.#nextId++;
    const deadline = setTimeout(() => {
      job.resolve({ ok: false, timedOut: true, reason: `took too long to read (over ${this.#deadlineMs / 1000} s): it may be damaged or made to mislead` });
      thread.job = undefined;
      void this.#end(thread);
      this.#pump();
    }, this.#deadlineMs);
    thread.job = { id, job, deadline };
    thread.worker.postMessage({ id, bytes: job.bytes } satisfies ExifRequest, [job.bytes]);
  }

  #start(): void {
    const worker = new Worker(new URL("./exifThread.ts", import.meta.url));
    const thread: Thread = { worker, ready: false };
    this.#threads.add(thread);
    worker.on("message", (reply: ExifReply) => {
      if ("ready" in reply) {
        thread.ready = true;
      } else if (thread.job?.id === reply.id) {
        clearTimeout(thread.job.deadline);
        thread.job.job.resolve(reply.tags);
        thread.job = undefined;
      }
      this.#pump();
    });
    const lost = (why: string) => {
      if (!this.#threads.delete(thread)) return;
      const { job } = thread;
      if (job) {
        clearTimeout(job.deadline);
        job.job.resolve({ ok: false, reason: `the metadata reader stopped while reading this file (${why})` });
      } else if (!thread.ready) {
        // It never started (a broken install): answer what waits rather than retry for ever.
        for (const waiting of this.#queue.splice(0)) waiting.resolve({ ok: false, reason: `the metadata reader could not start (${why})` });
      }
      this.#pump();
    };
    worker.on("error", (error: Error) => lost(error.message));
    worker.on("exit", (code) => lost(`exit code ${code}`));
  }

  async #end(thread: Thread, why = "replaced"): Promise<void> {
    this.#threads.delete(thread);
    if (thread.job) {
      clearTimeout(thread.job.deadline);
      thread.job.job.resolve({ ok: false, reason: why });
      thread.job = undefined;
    }
    await thread.worker.terminate();
  }
}

let shared: ExifThreads | undefined;

/** The process's pool, started on first use. */
export function sharedExifThreads(): ExifThreads {
  shared ??= new ExifThreads();
  return shared;
}
