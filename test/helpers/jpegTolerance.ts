// Two drawings of the same photo compared as decoded pixels: equal "within JPEG tolerance" means
// a mean difference under 0.1 of 255 and no channel off by more than 24 (re-encoding moves a few
// pixels near sharp edges that far, a misplaced box moves thousands).
import assert from "node:assert/strict";
import sharp from "sharp";

/** Mean and largest per-channel difference of two equally sized images' decoded pixels. */
export async function pixelDifference(a: Buffer, b: Buffer): Promise<{ mean: number; worst: number }> {
  const [left, right] = await Promise.all([a, b].map((image) => sharp(image).raw().toBuffer({ resolveWithObject: true })));
  assert.deepEqual([left!.info.width, left!.info.height], [right!.info.width, right!.info.height], "same size");
  let total = 0;
  let worst = 0;
  for (let i = 0; i < left!.data.length; i++) {
    const diff = Math.abs(left!.data[i]! - right!.data[i]!);
    total += diff;
    worst = Math.max(worst, diff);
  }
  return { mean: total / left!.data.length, worst };
}

/** Asserts that two JPEGs show the same pixels within JPEG tolerance (see the top of this file). */
export async function assertWithinJpegTolerance(a: Buffer, b: Buffer, what: string): Promise<void> {
  const { mean, worst } = await pixelDifference(a, b);
  assert.ok(mean < 0.1 && worst <= 24, `${what}: pixels within JPEG tolerance (mean ${mean.toFixed(3)}, worst ${worst})`);
}
