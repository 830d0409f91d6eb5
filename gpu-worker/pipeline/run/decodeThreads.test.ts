import { test } from "node:test";
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { DECODE_THREADS, decodeWindow } from "./decodeThreads.ts";

test("decodes in flight: one per core at least, and the next batch while one runs", () => {
  assert.equal(DECODE_THREADS, Math.max(4, availableParallelism()));
  assert.equal(decodeWindow(1), DECODE_THREADS);
  assert.equal(decodeWindow(64), 128);
  assert.ok(Number(process.env.UV_THREADPOOL_SIZE) >= 4, "libuv's pool is sized when the module loads, unless set already");
});
