// A box of the decoded photo, prepared as SpeciesNet prepares its "always crop" input
// (classifier.py SpeciesNetClassifier.preprocess, PyTorch version):
//   1. the crop: top = int(ymin * H), left = int(xmin * W), height = int(h * H), width = int(w * W)
//      (Python int() truncates; each is computed on its own, as there); pixels outside the photo
//      read as 0, as torchvision's crop pads;
//   2. resized to the model's input (480 x 480 for SpeciesNet), aspect ratio not kept, bilinear
//      with half-pixel centres and no antialiasing (torchvision resize, antialias=False), on
//      values scaled to 0..1;
//   3. back to 8 bits the torchvision way (trunc(v * 255.999), FLOAT_TO_UINT8_SCALE), then / 255.
// Channels stay RGB. The result goes straight into the batch tensor, NHWC or NCHW.

import { FLOAT_TO_UINT8_SCALE } from "./constants.ts";

/** A decoded photo: interleaved RGB bytes, as displayed (EXIF orientation applied). */
export interface RgbImage {
  pixels: Uint8Array;
  width: number;
  height: number;
}

export type InputLayout = "nhwc" | "nchw";

/** A crop in photo pixels. */
export interface CropRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The crop SpeciesNet takes for a normalised [x, y, w, h] box; throws when there is none to take. */
export function cropRectOf(bbox: readonly [number, number, number, number], width: number, height: number): CropRect {
  if (!bbox.every(Number.isFinite)) throw new Error(`the box [${bbox.join(", ")}] has a value that is not a number`);
  const [x, y, w, h] = bbox;
  const rect = { left: Math.trunc(x * width), top: Math.trunc(y * height), width: Math.trunc(w * width), height: Math.trunc(h * height) };
  if (rect.width <= 0 || rect.height <= 0) throw new Error(`the box is ${rect.width}x${rect.height} px in a ${width}x${height} photo`);
  if (rect.left >= width || rect.top >= height || rect.left + rect.width <= 0 || rect.top + rect.height <= 0) {
    throw new Error(`the box [${bbox.join(", ")}] lies outside the photo`);
  }
  return rect;
}

/** Source index and weight pairs along one axis: torch's bilinear, align_corners=False. */
function axisSamples(sourceLength: number, targetLength: number): { low: Int32Array; high: Int32Array; weight: Float64Array } {
  const low = new Int32Array(targetLength);
  const high = new Int32Array(targetLength);
  const weight = new Float64Array(targetLength);
  const scale = sourceLength / targetLength;
  for (let i = 0; i < targetLength; i++) {
    const source = Math.max(0, (i + 0.5) * scale - 0.5);
    const index = Math.min(Math.floor(source), sourceLength - 1);
    low[i] = index;
    high[i] = Math.min(index + 1, sourceLength - 1);
    weight[i] = source - index;
  }
  return { low, high, weight };
}

/**
 * Crops `rect` out of `image`, resizes it to outWidth x outHeight and writes it, as values in
 * 0..1, into `target` at `offset` (one image's worth: 3 * outWidth * outHeight floats).
 */
export function writeCrop(
  image: RgbImage,
  rect: CropRect,
  outWidth: number,
  outHeight: number,
  layout: InputLayout,
  target: Float32Array,
  offset: number,
): void {
  const { pixels, width, height } = image;
  if (pixels.length !== width * height * 3) {
    throw new Error(`the decoded photo has ${pixels.length} bytes, not ${width}x${height}x3 RGB`);
  }
  const inside = rect.left >= 0 && rect.top >= 0 && rect.left + rect.width <= width && rect.top + rect.height <= height;
  // Boxes from the detector always lie inside the photo: read the bytes directly. A box that
  // does not gets the same values through a copy padded with black.
  const source = inside ? image : paddedCrop(image, rect);
  const originX = inside ? rect.left : 0;
  const originY = inside ? rect.top : 0;
  const xs = axisSamples(rect.width, outWidth);
  const ys = axisSamples(rect.height, outHeight);
  const column0 = new Int32Array(outWidth);
  const column1 = new Int32Array(outWidth);
  for (let ox = 0; ox < outWidth; ox++) {
    column0[ox] = (originX + xs.low[ox]!) * 3;
    column1[ox] = (originX + xs.high[ox]!) * 3;
  }
  const rowBytes = source.width * 3;
  const bytes = source.pixels;
  // value (0..1) = bilinear of bytes / 255; 8-bit = trunc(value * FLOAT_TO_UINT8_SCALE); stored as 8-bit / 255.
  const toByte = FLOAT_TO_UINT8_SCALE / 255;
  const plane = outWidth * outHeight;
  const [stepX, stepC] = layout === "nhwc" ? [3, 1] : [1, plane];
  for (let oy = 0; oy < outHeight; oy++) {
    const row0 = (originY + ys.low[oy]!) * rowBytes;
    const row1 = (originY + ys.high[oy]!) * rowBytes;
    const wy = ys.weight[oy]!;
    const vy = 1 - wy;
    let out = offset + oy * outWidth * stepX;
    for (let ox = 0; ox < outWidth; ox++, out += stepX) {
      const wx = xs.weight[ox]!;
      const vx = 1 - wx;
      let a = row0 + column0[ox]!;
      let b = row0 + column1[ox]!;
      let c = row1 + column0[ox]!;
      let d = row1 + column1[ox]!;
      for (let channel = 0, at = out; channel < 3; channel++, at += stepC) {
        const value = vy * (vx * bytes[a++]! + wx * bytes[b++]!) + wy * (vx * bytes[c++]! + wx * bytes[d++]!);
        target[at] = Math.min(255, Math.trunc(value * toByte)) / 255;
      }
    }
  }
}

/** The crop as its own image, black where it lies past the photo's edges (torchvision's crop pads with 0). */
function paddedCrop(image: RgbImage, rect: CropRect): RgbImage {
  const pixels = new Uint8Array(rect.width * rect.height * 3);
  for (let y = 0; y < rect.height; y++) {
    const sourceY = rect.top + y;
    if (sourceY < 0 || sourceY >= image.height) continue;
    const fromX = Math.max(0, rect.left);
    const toX = Math.min(image.width, rect.left + rect.width);
    if (toX <= fromX) continue;
    pixels.set(image.pixels.subarray((sourceY * image.width + fromX) * 3, (sourceY * image.width + toX) * 3), (y * rect.width + fromX - rect.left) * 3);
  }
  return { pixels, width: rect.width, height: rect.height };
}
