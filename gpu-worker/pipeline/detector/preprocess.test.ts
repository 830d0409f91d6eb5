import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { MAX_INPUT_PIXELS, preprocessForDetector, UnreadableImageError, writePlanarTensor } from "./preprocess.ts";

const spec = { size: 64, stride: 32, fixedSquare: false };

/** A grey image with one pure-red rectangle, as PNG (lossless, so pixels are exact). */
async function redRectangle(width: number, height: number, rect: { left: number; top: number; width: number; height: number }) {
  const red = await sharp({ create: { width: rect.width, height: rect.height, channels: 3, background: { r: 255, g: 0, b: 0 } } })
    .png()
    .toBuffer();
  return sharp({ create: { width, height, channels: 3, background: { r: 40, g: 40, b: 40 } } })
    .composite([{ input: red, left: rect.left, top: rect.top }])
    .png()
    .toBuffer();
}

function pixelAt(pixels: Buffer, width: number, x: number, y: number): number[] {
  const at = (y * width + x) * 3;
  return [pixels[at]!, pixels[at + 1]!, pixels[at + 2]!];
}

test("letterboxes to the stride multiple with grey 114 padding and RGB order", async () => {
  // 256x128 -> 64x32, already a multiple of 32: no padding; 256x100 -> 64x25 -> padded to 32
  const image = await redRectangle(256, 100, { left: 0, top: 0, width: 128, height: 100 });
  const { pixels, geometry, format } = await preprocessForDetector(image, spec);
  assert.equal(format, "png");
  assert.deepEqual([geometry.inputWidth, geometry.inputHeight, geometry.padTop, geometry.padBottom], [64, 32, 3, 4]);
  assert.deepEqual(pixelAt(pixels, 64, 10, 0), [114, 114, 114]);
  assert.deepEqual(pixelAt(pixels, 64, 10, 31), [114, 114, 114]);
  assert.deepEqual(pixelAt(pixels, 64, 10, 15), [255, 0, 0]);
  assert.deepEqual(pixelAt(pixels, 64, 50, 15), [40, 40, 40]);
});

test("EXIF orientation 6 is applied: a landscape file displays as portrait", async () => {
  const stored = await redRectangle(200, 100, { left: 0, top: 0, width: 20, height: 100 });
  const rotated = await sharp(stored).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  const { geometry, pixels } = await preprocessForDetector(rotated, spec);
  assert.deepEqual([geometry.sourceWidth, geometry.sourceHeight], [100, 200]);
  // the red strip on the stored left edge is on the displayed top after a 90° clockwise turn
  const top = pixelAt(pixels, geometry.inputWidth, geometry.padLeft + 16, 1);
  const bottom = pixelAt(pixels, geometry.inputWidth, geometry.padLeft + 16, 60);
  assert.ok(top[0]! > 200 && top[1]! < 60, `top is red: ${top.join()}`);
  assert.ok(bottom[0]! < 80, `bottom is grey: ${bottom.join()}`);
});

test("greyscale night frames become three equal channels", async () => {
  const grey = await sharp({ create: { width: 64, height: 32, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .toColourspace("b-w")
    .jpeg()
    .toBuffer();
  assert.equal((await sharp(grey).metadata()).channels, 1);
  const { pixels } = await preprocessForDetector(grey, spec);
  const [r, g, b] = pixelAt(pixels, 64, 5, 5);
  assert.ok(Math.abs(r! - 90) <= 2 && r === g && g === b);
});

test("a truncated JPEG decodes as far as it goes, with a warning", async () => {
  const full = await sharp({ create: { width: 512, height: 512, channels: 3, background: { r: 200, g: 10, b: 10 } } })
    .jpeg()
    .toBuffer();
  const truncated = full.subarray(0, Math.floor(full.length * 0.7));
  const result = await preprocessForDetector(truncated, spec);
  assert.equal(result.geometry.sourceWidth, 512);
  assert.match(result.warnings.join(), /truncated JPEG/);
  assert.deepEqual((await preprocessForDetector(full, spec)).warnings, []);
});

test("bytes that are not an image, and oversized images, fail with a readable reason", async () => {
  await assert.rejects(preprocessForDetector(Buffer.from("hello, not a photo"), spec), (error: Error) => {
    assert.ok(error instanceof UnreadableImageError);
    assert.match(error.message, /not a readable image/);
    return true;
  });
  await assert.rejects(preprocessForDetector(Buffer.alloc(0), spec), UnreadableImageError);
  const side = Math.ceil(Math.sqrt(MAX_INPUT_PIXELS)) + 10;
  // A PNG header claiming a huge size is enough: the limit is checked before decoding.
  const huge = await sharp({ create: { width: side, height: 1, channels: 3, background: "#000" } }).png().toBuffer();
  huge.writeUInt32BE(side, 20);
  await assert.rejects(preprocessForDetector(huge, spec), /megapixel limit/);
});

test("writePlanarTensor lays out RGB planes scaled to 0..1", () => {
  const pixels = Uint8Array.from([255, 0, 51, 0, 255, 102]);
  const target = new Float32Array(8);
  writePlanarTensor(pixels, 2, 1, target, 2);
  assert.deepEqual(Array.from(target).map((v) => Math.round(v * 255)), [0, 0, 255, 0, 0, 255, 51, 102]);
});
