import { test } from "node:test";
import assert from "node:assert/strict";
import { CPU_DEFAULT_BATCH, defaultBatchSize, GPU_MIB_PER_IMAGE_AT_1280_PX, GPU_RESERVED_MIB, MAX_BATCH } from "./batchSize.ts";
import { parseGpuMemoryMiB } from "./gpuMemory.ts";

test("on the CPU the batch stays at the CPU default, whatever the model", () => {
  for (const inputSize of [320, 640, 1280, 1920]) {
    assert.deepEqual(defaultBatchSize({ provider: "cpu", inputSize, gpuMemoryMiB: 80_000 }), { batch: CPU_DEFAULT_BATCH, reason: "the CPU default" });
  }
});

test("on a GPU the batch is sized to the input: 8 at 1280 px, 32 at 640 px, never above the ceiling", () => {
  for (const provider of ["cuda", "tensorrt"]) {
    assert.equal(defaultBatchSize({ provider, inputSize: 1280 }).batch, 8);
    assert.equal(defaultBatchSize({ provider, inputSize: 640 }).batch, 32);
    assert.equal(defaultBatchSize({ provider, inputSize: 1920 }).batch, 3);
    assert.equal(defaultBatchSize({ provider, inputSize: 64 }).batch, MAX_BATCH);
    assert.match(defaultBatchSize({ provider, inputSize: 1280 }).reason, /sized to the 1280 px input; GPU memory unknown/);
  }
});

test("GPU memory caps the batch at the stated estimate per image, and never below 1", () => {
  // A 16 GB card (T4): (16384 - 2048) / 600 = 23 images fit; the size rule's 8 stands.
  assert.deepEqual(defaultBatchSize({ provider: "cuda", inputSize: 1280, gpuMemoryMiB: 16_384 }), { batch: 8, reason: "sized to the 1280 px input; fits 16384 MiB of GPU memory" });
  // A 4 GB card: (4096 - 2048) / 600 = 3.
  assert.deepEqual(defaultBatchSize({ provider: "cuda", inputSize: 1280, gpuMemoryMiB: 4096 }), { batch: 3, reason: `capped by 4096 MiB of GPU memory at about ${GPU_MIB_PER_IMAGE_AT_1280_PX} MiB an image` });
  // At 640 px an image takes a quarter: (8192 - 2048) / 150 = 40, above the size rule's 32.
  assert.equal(defaultBatchSize({ provider: "tensorrt", inputSize: 640, gpuMemoryMiB: 8192 }).batch, 32);
  assert.equal(defaultBatchSize({ provider: "tensorrt", inputSize: 640, gpuMemoryMiB: 6144 }).batch, Math.floor((6144 - GPU_RESERVED_MIB) / 150));
  assert.equal(defaultBatchSize({ provider: "cuda", inputSize: 1280, gpuMemoryMiB: 2000 }).batch, 1);
});

test("nvidia-smi's answer: one line per GPU in MiB; the first GPU's, or nothing when it says nothing usable", () => {
  assert.equal(parseGpuMemoryMiB("81559\n81559\n"), 81_559);
  assert.equal(parseGpuMemoryMiB("  15360 \n", 0), 15_360);
  assert.equal(parseGpuMemoryMiB("15360\n24576\n", 1), 24_576);
  assert.equal(parseGpuMemoryMiB(""), undefined);
  assert.equal(parseGpuMemoryMiB("[N/A]\n"), undefined);
  assert.equal(parseGpuMemoryMiB("No devices were found\n"), undefined);
});
