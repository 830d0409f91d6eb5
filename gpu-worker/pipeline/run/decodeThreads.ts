// How many photos are decoded and letterboxed at once: the one home of that number. sharp
// decodes on libuv's thread pool, which Node starts with 4 threads whatever the machine
// (UV_THREADPOOL_SIZE); on a GPU machine with 16 cores that leaves the GPU waiting for decodes.
// So the pool gets one thread per core, and enough photos are in flight to keep it full.
import { availableParallelism } from "node:os";

/** Decodes at once: one per core (never below libuv's own default of 4). */
export const DECODE_THREADS = Math.max(4, availableParallelism());

/**
 * Photos decoding or decoded ahead of inference: the next batch while this one runs, and at
 * least one per decode thread (a fixed-batch model, batch 1, would otherwise decode 2 at a time).
 */
export function decodeWindow(batchSize: number): number {
  return Math.max(2 * batchSize, DECODE_THREADS);
}

/**
 * Sizes libuv's pool, unless UV_THREADPOOL_SIZE is already set. It only takes effect before
 * the pool's first use, so entry points import this module first (cli/main.ts, worker/main.ts).
 */
process.env.UV_THREADPOOL_SIZE ??= String(DECODE_THREADS);
