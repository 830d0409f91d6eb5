import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { Detector, preprocessForDetector } from "../gpu-worker/pipeline/index.ts";
import { STAND_IN_GFLOPS, STAND_IN_INPUT_SIZE, STAND_IN_ROWS, writeStandInDetector } from "./standInDetector.ts";

test("the stand-in has MegaDetector v5a's compute and output size", () => {
  // YOLOv5x6 at 1280 px: about 210 GFLOPs; MD v5a's output: [batch, 102000, 8].
  assert.ok(Math.abs(STAND_IN_GFLOPS - 210) / 210 < 0.05, `${STAND_IN_GFLOPS.toFixed(1)} GFLOPs`);
  assert.equal(STAND_IN_ROWS, 102_000);
});

test("the pipeline's detector opens the stand-in as a 1280-px YOLOv5 model and runs it", async () => {
  const dir = await mkdtemp(join(tmpdir(), "trapline-standin-"));
  try {
    const path = join(dir, "stand-in.onnx");
    await writeStandInDetector(path);
    const detector = await Detector.open({ modelPath: path, provider: "cpu", batchSize: 1 });
    try {
      assert.equal(detector.info.spec.size, STAND_IN_INPUT_SIZE);
      const photo = await sharp({ create: { width: 640, height: 480, channels: 3, background: "#6a7a50" } }).jpeg().toBuffer();
      const [found] = await detector.detect([await preprocessForDetector(photo, detector.info.spec)]);
      assert.deepEqual(found, [], "objectness sits below the output threshold");
    } finally {
      await detector.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
