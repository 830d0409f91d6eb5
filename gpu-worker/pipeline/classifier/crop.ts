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
  const xs = axisSamples(rect.width, outWidth);
  const ys = axisSamples(rect.height, outHeight);
  const plane = outWidth * outHeight;
  // One 0..1 value of the crop, 0 outside the photo.
  const at = (cropX: number, cropY: number, channel: number): number => {
    const x = rect.left + cropX;
    const y = rect.top + cropY;
    return x < 0 || y < 0 || x >= width || y >= height ? 0 : pixels[(y * width + x) * 3 + channel]! / 255;
  };
  for (let oy = 0; oy < outHeight; oy++) {
    const y0 = ys.low[oy]!;
    const y1 = ys.high[oy]!;
    const wy = ys.weight[oy]!;
    for (let ox = 0; ox < outWidth; ox++) {
      const x0 = xs.low[ox]!;
      const x1 = xs.high[ox]!;
      const wx = xs.weight[ox]!;
      for (let c = 0; c < 3; c++) {
        const top = (1 - wx) * at(x0, y0, c) + wx * at(x1, y0, c);
        const bottom = (1 - wx) * at(x0, y1, c) + wx * at(x1, y1, c);
        const value = (1 - wy) * top + wy * bottom;
        const byte = Math.min(255, Math.trunc(value * FLOAT_TO_UINT8_SCALE));
        const index = layout === "nhwc" ? offset + (oy * outWidth + ox) * 3 + c : offset + c * plane + oy * outWidth + ox;
        target[index] = byte / 255;
      }
    }
  }
}
