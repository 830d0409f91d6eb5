// Small previews for browsing results (issue 13): the job page's gallery and report.html show
// these instead of the full-size photos. Made from the photo's bytes already in memory (no
// second read of the input); JPEG shrink-on-load makes the decode a fraction of a full one.
// Boxes and labels are drawn as into the full-size copies (render.ts: into the pixels, the
// overlay's lines and labels), at the preview's size. Previews carry no metadata at all: no EXIF, so no GPS, whatever the job says.
//
// Which photos get one: every photo with a box at or above the render threshold, and the
// "blank check", a sample of the photos judged empty so a user can see what the threshold let
// through. The sample is chosen by a hash of the photo's path, so it is the same whether the job
// ran as one shard or many, and the same on a rerun.
import { createHash } from "node:crypto";
import sharp, { type Sharp } from "sharp";
import type { LetterboxGeometry } from "../detector/letterbox.ts";
import { MAX_INPUT_PIXELS, type DisplayedPixels } from "../detector/preprocess.ts";
import type { Detection } from "../types.ts";
import { detectionOverlay, drawDetectionsInto } from "./render.ts";
import { personBlurOverlays } from "./privacy.ts";
import { PREVIEWS_ZIP_FOLDER } from "../zipLayout.ts";

/** Long side of a preview in pixels: sharp on a phone, a few tens of kB as JPEG. */
export const PREVIEW_LONG_SIDE = 800;
/** Enough for boxes and labels to read; previews are looked at, not archived. */
export const PREVIEW_JPEG_QUALITY = 75;
/** The folder previews live in, in the results zip and under the job's output prefix in S3. */
export const PREVIEWS_FOLDER = PREVIEWS_ZIP_FOLDER;

/** The blank check's share of the empties, and its floor where a job has that many empties. */
export const BLANK_SAMPLE_SHARE = 0.01;
export const BLANK_SAMPLE_MIN = 50;
/**
 * Shards do not know how many empties the job will have, only how many photos: the rate is set
 * as if half were empty (camera traps usually see more), so the floor holds unless most photos
 * have an animal, person or vehicle in them.
 */
const ASSUMED_EMPTY_SHARE = 0.5;

/** The share of empty photos sampled for the blank check in a job of `jobItems` photos. */
export function blankSampleRate(jobItems: number): number {
  if (!(jobItems > 0)) return 1;
  return Math.min(1, Math.max(BLANK_SAMPLE_SHARE, BLANK_SAMPLE_MIN / (jobItems * ASSUMED_EMPTY_SHARE)));
}

/** Whether the empty photo at `path` is in the blank check at `rate` (a fixed function of the path). */
export function inBlankSample(path: string, rate: number): boolean {
  if (rate >= 1) return true;
  const draw = createHash("sha256").update(`blank-check\0${path}`).digest().readUInt32BE(0) / 2 ** 32;
  return draw < rate;
}

/**
 * The preview's name, relative to the zip's root and to the job's output prefix: a hash of the
 * photo's path, so it never needs escaping, and the same whichever shard made it.
 */
export function previewName(path: string): string {
  return `${PREVIEWS_FOLDER}/${createHash("sha256").update(path).digest("hex").slice(0, 32)}.jpg`;
}

export interface PreviewOptions {
  /** Boxes with conf >= threshold are drawn. */
  threshold: number;
  /** MD category id -> name. */
  categories: Record<string, string>;
  /** Blur every person box at or above the threshold (the job's blurPeople option, privacy.ts). */
  blurPeople?: boolean;
  /**
   * "overlay": the SVG overlay composited in the resize's own pipeline, as previews were first
   * made: the reference the tests hold the drawing into pixels to.
   */
  method?: "overlay";
}

/** The detector's letterboxed input (preprocessForDetector's pixels and geometry): the photo shrunk, and padded. */
export interface LetterboxedPixels {
  letterboxed: Uint8Array;
  geometry: LetterboxGeometry;
}

/** The preview's size for a photo of this size as displayed: PREVIEW_LONG_SIDE on the long side, never enlarged. */
export function previewSize(fullWidth: number, fullHeight: number): { width: number; height: number } {
  const scale = Math.min(1, PREVIEW_LONG_SIDE / Math.max(fullWidth, fullHeight));
  return { width: Math.max(1, Math.round(fullWidth * scale)), height: Math.max(1, Math.round(fullHeight * scale)) };
}

/** Whether the letterbox holds the photo at least at the preview's size, so a preview can be shrunk from it. */
export function letterboxCoversPreview(geometry: LetterboxGeometry): boolean {
  const { width, height } = previewSize(geometry.sourceWidth, geometry.sourceHeight);
  return geometry.resizedWidth >= width && geometry.resizedHeight >= height;
}

/**
 * A preview JPEG with its drawn boxes, from the photo's bytes, from its pixels as displayed when
 * the pipeline already holds them at full size, or from the detector's letterbox when that is
 * at least the preview's size (then nothing is decoded again); throws with a reason a person
 * can read.
 */
export async function makePreview(original: Buffer | DisplayedPixels | LetterboxedPixels, detections: Detection[], options: PreviewOptions): Promise<Buffer> {
  const bytes = Buffer.isBuffer(original) ? original : undefined;
  const raw = !bytes && "pixels" in original ? original : undefined;
  const letterbox = !bytes && "letterboxed" in original ? original : undefined;
  const open = () => {
    if (raw) return sharp(raw.pixels, { raw: { width: raw.width, height: raw.height, channels: 3 } });
    if (letterbox) {
      const { geometry: g } = letterbox;
      return sharp(letterbox.letterboxed, { raw: { width: g.inputWidth, height: g.inputHeight, channels: 3 } }).extract({
        left: g.padLeft,
        top: g.padTop,
        width: g.resizedWidth,
        height: g.resizedHeight,
      });
    }
    return sharp(original as Buffer, { failOn: "none", limitInputPixels: MAX_INPUT_PIXELS }).autoOrient();
  };
  try {
    // The size as displayed, whatever the pixels come from: the same preview size either way.
    const { width: fullWidth, height: fullHeight } =
      raw ?? (letterbox ? { width: letterbox.geometry.sourceWidth, height: letterbox.geometry.sourceHeight } : (await open().metadata()).autoOrient);
    const { width, height } = previewSize(fullWidth, fullHeight);
    if (letterbox && !letterboxCoversPreview(letterbox.geometry)) throw new Error("the letterbox is smaller than the preview");
    // Exact dimensions, so the boxes drawn for width x height land where they are.
    const displayed = () => open().resize(width, height, { fit: "fill" });
    const encode = (image: Sharp) => image.flatten({ background: "#ffffff" }).jpeg({ quality: PREVIEW_JPEG_QUALITY, mozjpeg: false }).toBuffer();
    const shown = detections.filter((d) => d.conf >= options.threshold).sort((a, b) => a.conf - b.conf);
    // Nothing to draw (the blank check): resized and encoded in one go.
    if (shown.length === 0) return await encode(displayed());
    if (options.method === "overlay") {
      const blurred = options.blurPeople ? await personBlurOverlays(displayed, shown, options.threshold) : [];
      return await encode(displayed().composite([...blurred, detectionOverlay(shown, width, height, options.categories)]));
    }
    // Resized once into memory, then drawn there: an SVG overlay composited in the resize's own
    // libvips pipeline cost twice the resize and the encode together (44 against 18 CPU ms on a
    // 3-MP frame, 120-160 against 40-60 on a 12-MP one), boxes drawn into pixels next to nothing.
    const { data, info } = await displayed().flatten({ background: "#ffffff" }).toColourspace("srgb").raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== width || info.height !== height) throw new Error(`decoder returned ${info.width}x${info.height}x${info.channels}`);
    const resized = { width, height, channels: 3 } as const;
    // The blurred people first, the boxes and labels drawn over them the same way as without.
    const blurred = options.blurPeople ? await personBlurOverlays(() => sharp(data, { raw: resized }), shown, options.threshold) : [];
    const pixels = blurred.length > 0 ? await sharp(data, { raw: resized }).composite(blurred).removeAlpha().raw().toBuffer() : data;
    if (pixels.length !== data.length) throw new Error(`blurring returned ${pixels.length} bytes for ${width}x${height} RGB`);
    await drawDetectionsInto(pixels, width, height, shown, options.categories);
    return await encode(sharp(pixels, { raw: resized }));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`the preview could not be made (${reason})`, { cause: error });
  }
}
