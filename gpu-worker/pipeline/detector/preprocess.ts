// Decode one image and letterbox it for the network, as MegaDetector's "classic" PyTorch
// path does: EXIF orientation applied, RGB, YOLOv5 letterbox with grey 114 padding.
import sharp from "sharp";
import { drawsIntoPixels, readImageHeader, type ImageHeader } from "../metadata/imageHeader.ts";
import { LETTERBOX_PAD_VALUE } from "./constants.ts";
import { letterboxGeometry, type InputSpec, type LetterboxGeometry } from "./letterbox.ts";

/** Refuse images above this many pixels (a 200-MP panorama is not a camera-trap frame; decoding it would need GBs). */
export const MAX_INPUT_PIXELS = 120_000_000;

/**
 * `keepForDrawing` keeps a photo's decoded pixels only up to this size (48 MB of RGB): a photo
 * waiting in the prefetch window holds them until it is finished, about three batches' worth.
 */
export const KEEP_FOR_DRAWING_MAX_PIXELS = 16_000_000;

/** libjpeg can scale by 1/2, 1/4, 1/8 while decoding: from a 2x reduction on. */
const SHRINK_ON_LOAD_FACTOR = 2;

export interface PreprocessedImage {
  /** Letterboxed RGB pixels, interleaved (HWC), geometry.inputHeight x geometry.inputWidth x 3. */
  pixels: Buffer;
  geometry: LetterboxGeometry;
  /** Format by content, as the decoder saw it ("jpeg", "png"...). */
  format: string;
  warnings: string[];
  /**
   * The photo as displayed (EXIF orientation applied), interleaved RGB, when asked for
   * (`keepDisplayed`, `keepForDrawing`): the species classifier crops boxes from it, and at
   * full size (`fullSize`) boxes are drawn into it without decoding the photo again.
   */
  displayed?: DisplayedPixels;
  /** The photo's one header parse (size as displayed, format, EXIF block, ICC profile). */
  header: Extract<ImageHeader, { ok: true }>;
}

export interface DisplayedPixels {
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Not shrunk: the photo's own size as displayed. */
  fullSize: boolean;
}

export interface PreprocessOptions {
  /**
   * Also keep the photo as displayed, at most this many pixels (shrunk to fit, aspect kept,
   * when larger). The photo is then decoded once at that size and the letterbox is made from
   * those pixels, so the JPEG decoder no longer shrinks on load for the detector.
   */
  keepDisplayed?: { maxPixels: number };
  /**
   * Keep the full-size displayed pixels of a photo whose boxes would be drawn into them
   * (drawsIntoPixels: a JPEG without ICC profile) when decoding them costs nothing extra: where
   * the decoder cannot shrink on load (less than twice the network's input; not turned a
   * quarter by its EXIF orientation, see turnsQuarter),
   * the decode is full size anyway, so keeping it costs a copy and a resize from memory
   * (about 6 ms on a 3-MP frame) and saves the second decode of a photo that gets boxes
   * (about 26 ms). Where it can shrink on load (12-MP frames at 1280 px: 45 ms against 95 ms
   * for a full decode), the boxed photos alone are decoded again: 45 + 83/3 ms per photo
   * beats 95 ms up to about 60% boxed. CPU time per photo, sharp alone, on the Serengeti
   * fixtures and bench/pipeline.ts's generated frames, 2 busy shared cores (so +-20%).
   */
  keepForDrawing?: boolean;
  /** The photo's header, when already parsed (metadata/imageHeader.ts); parsed here otherwise. */
  header?: ImageHeader;
}

/** An image the decoder cannot use, with a reason a person can act on. */
export class UnreadableImageError extends Error {
  override name = "UnreadableImageError";
}

const JPEG_END_OF_IMAGE = [0xff, 0xd9];

/** A JPEG whose data stops before its end marker: an SD card write cut short. */
function isTruncatedJpeg(bytes: Buffer): boolean {
  let end = bytes.length;
  // Some cameras pad files after the end marker with zeros or 0xFF.
  while (end > 2 && (bytes[end - 1] === 0x00 || (bytes[end - 1] === 0xff && bytes[end - 2] === 0xff))) end--;
  return !(bytes[end - 2] === JPEG_END_OF_IMAGE[0] && bytes[end - 1] === JPEG_END_OF_IMAGE[1]);
}

/**
 * Decode, orient, resize and pad. The decoder shrinks JPEGs on load (DCT scaling) when the
 * target is much smaller, which saves most of the decode time without changing the geometry.
 */
export async function preprocessForDetector(bytes: Buffer, spec: InputSpec, options: PreprocessOptions = {}): Promise<PreprocessedImage> {
  const open = () => sharp(bytes, { failOn: "none", limitInputPixels: MAX_INPUT_PIXELS, sequentialRead: true });
  const header = options.header ?? (await readImageHeader(bytes));
  if (!header.ok) throw new UnreadableImageError(`not a readable image (${describe(header.error)})`);
  const { meta } = header;
  const displayed = { width: header.width, height: header.height };
  if (!displayed?.width || !displayed.height) throw new UnreadableImageError("image has no pixel size");
  if (displayed.width * displayed.height > MAX_INPUT_PIXELS) {
    throw new UnreadableImageError(
      `image is ${displayed.width}x${displayed.height} pixels, over the ${MAX_INPUT_PIXELS / 1e6}-megapixel limit`,
    );
  }
  const geometry = letterboxGeometry(displayed.width, displayed.height, spec);
  const warnings: string[] = [];
  if (meta.format === "jpeg" && isTruncatedJpeg(bytes)) {
    warnings.push("truncated JPEG: the file ends early; the part that decodes was processed");
  }
  try {
    let displayedImage: PreprocessedImage["displayed"];
    let letterboxFrom = open();
    const pixelCount = displayed.width * displayed.height;
    const shrinksOnLoad =
      meta.format === "jpeg" &&
      Math.min(displayed.width / geometry.resizedWidth, displayed.height / geometry.resizedHeight) >= SHRINK_ON_LOAD_FACTOR;
    const maxPixels = options.keepDisplayed
      ? options.keepDisplayed.maxPixels
      : options.keepForDrawing && drawsIntoPixels(meta) && !shrinksOnLoad && !turnsQuarter(meta.orientation) && pixelCount <= KEEP_FOR_DRAWING_MAX_PIXELS
        ? KEEP_FOR_DRAWING_MAX_PIXELS
        : undefined;
    if (maxPixels !== undefined) {
      // One decode for both: the displayed pixels (shrunk to the cap when over it), then the
      // letterbox resized from them, not from the file a second time.
      const scale = Math.min(1, Math.sqrt(maxPixels / pixelCount));
      let full = open().autoOrient().removeAlpha().toColourspace("srgb");
      if (scale < 1) {
        full = full.resize(Math.max(1, Math.floor(displayed.width * scale)), Math.max(1, Math.floor(displayed.height * scale)), { fit: "fill" });
      }
      const { data, info } = await full.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
      if (info.channels !== 3) throw new Error(`decoder returned ${info.channels} channels`);
      displayedImage = { pixels: data, width: info.width, height: info.height, fullSize: scale === 1 };
      letterboxFrom = sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } });
    } else {
      letterboxFrom = letterboxFrom.autoOrient().removeAlpha().toColourspace("srgb");
    }
    const { data, info } = await letterboxFrom
      .resize(geometry.resizedWidth, geometry.resizedHeight, { fit: "fill", kernel: "linear" })
      .extend({
        top: geometry.padTop,
        bottom: geometry.padBottom,
        left: geometry.padLeft,
        right: geometry.padRight,
        background: { r: LETTERBOX_PAD_VALUE, g: LETTERBOX_PAD_VALUE, b: LETTERBOX_PAD_VALUE },
      })
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== geometry.inputWidth || info.height !== geometry.inputHeight) {
      throw new Error(`decoder returned ${info.width}x${info.height}x${info.channels}`);
    }
    return { pixels: data, geometry, format: meta.format ?? "unknown", warnings, header, ...(displayedImage ? { displayed: displayedImage } : {}) };
  } catch (error) {
    throw new UnreadableImageError(`image data could not be decoded (${describe(error)})`);
  }
}

/**
 * EXIF orientations 5-8 turn the picture a quarter. sharp resizes such a file before turning
 * it, so a letterbox resized from pixels already turned differs by 1 in rounding: those photos
 * (rare from camera traps) keep the decode-again path, and the detector sees the same input.
 */
function turnsQuarter(orientation: number | undefined): boolean {
  return orientation !== undefined && orientation >= 5 && orientation <= 8;
}

function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0]!.trim();
}

/**
 * Copy interleaved RGB bytes into planar float32 (CHW, /255, no mean or std), the layout and
 * scale YOLO models take, at `offset` inside a batch tensor.
 */
export function writePlanarTensor(pixels: Uint8Array, width: number, height: number, target: Float32Array, offset: number): void {
  const plane = width * height;
  const scale = 1 / 255;
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    target[offset + i] = pixels[p]! * scale;
    target[offset + plane + i] = pixels[p + 1]! * scale;
    target[offset + 2 * plane + i] = pixels[p + 2]! * scale;
  }
}
