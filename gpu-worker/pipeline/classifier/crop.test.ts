import assert from "node:assert/strict";
import { test } from "node:test";
import { cropRectOf, writeCrop, type RgbImage } from "./crop.ts";

/** A 2x2 photo: red 0, 200 / 100, 40; green 255 - red; blue 10. */
const photo: RgbImage = {
  width: 2,
  height: 2,
  pixels: Uint8Array.from([0, 255, 10, 200, 55, 10, 100, 155, 10, 40, 215, 10]),
};
const byte = (value: number) => Math.round(value * 255);

test("the crop is SpeciesNet's: each of top, left, height, width truncated on its own", () => {
  assert.deepEqual(cropRectOf([0.1, 0.2, 0.5, 0.3], 99, 51), { left: 9, top: 10, width: 49, height: 15 });
  assert.deepEqual(cropRectOf([0, 0, 1, 1], 4000, 3000), { left: 0, top: 0, width: 4000, height: 3000 });
});

test("a box with no pixels, outside the photo or with a non-number is refused with why", () => {
  assert.throws(() => cropRectOf([0.5, 0.5, 0.0001, 0.2], 1000, 1000), /the box is 0x200 px in a 1000x1000 photo/);
  assert.throws(() => cropRectOf([1.2, 0, 0.1, 0.1], 1000, 1000), /lies outside the photo/);
  assert.throws(() => cropRectOf([Number.NaN, 0, 0.1, 0.1], 1000, 1000), /not a number/);
});

test("resize is torch's bilinear (half-pixel centres, edges clamped), values truncated to 8 bits", () => {
  const out = new Float32Array(4 * 4 * 3);
  writeCrop(photo, cropRectOf([0, 0, 1, 1], 2, 2), 4, 4, "nhwc", out, 0);
  const red = (x: number, y: number) => byte(out[(y * 4 + x) * 3]!);
  // first row: sources -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to the last pixel)
  assert.deepEqual([0, 1, 2, 3].map((x) => red(x, 0)), [0, 50, 150, 200]);
  // (1, 1): rows 0.25 apart: 0.75 * 50 + 0.25 * (0.75 * 100 + 0.25 * 40) = 58.75 -> 58, not 59
  assert.equal(red(1, 1), 58);
  assert.equal(red(3, 3), 40);
  // green and blue come from their own channels, in RGB order
  assert.equal(byte(out[1]!), 255);
  assert.equal(byte(out[2]!), 10);
});

test("NCHW writes the same values as planes, at the given offset", () => {
  const nhwc = new Float32Array(4 * 4 * 3);
  const nchw = new Float32Array(2 * 4 * 4 * 3);
  const rect = cropRectOf([0, 0, 1, 1], 2, 2);
  writeCrop(photo, rect, 4, 4, "nhwc", nhwc, 0);
  writeCrop(photo, rect, 4, 4, "nchw", nchw, 48);
  for (let i = 0; i < 16; i++) {
    for (let c = 0; c < 3; c++) assert.equal(nchw[48 + c * 16 + i], nhwc[i * 3 + c]);
  }
  assert.ok(nchw.subarray(0, 48).every((v) => v === 0));
});

test("the part of a box past the photo's edge reads as black, as torchvision's crop pads", () => {
  const out = new Float32Array(2 * 2 * 3);
  writeCrop(photo, cropRectOf([0.5, 0.5, 1, 1], 2, 2), 2, 2, "nhwc", out, 0);
  assert.deepEqual([...out.subarray(0, 3)].map(byte), [40, 215, 10]);
  assert.ok(out.subarray(3).every((v) => v === 0));
});

test("a pixel buffer that is not width x height x 3 is refused", () => {
  assert.throws(
    () => writeCrop({ width: 3, height: 2, pixels: photo.pixels }, { left: 0, top: 0, width: 2, height: 2 }, 2, 2, "nhwc", new Float32Array(12), 0),
    /12 bytes, not 3x2x3 RGB/,
  );
});
