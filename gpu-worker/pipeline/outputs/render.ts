// Draw detection boxes and labels on an image the way MegaDetector's visualiser does
// (MD megadetector/visualization/visualization_utils.py, render_detection_bounding_boxes and
// draw_bounding_box_on_image): one colour per category, labels "<name>: <percent>%" in black
// on a rectangle filled with the box colour, least confident box drawn first.
// A JPEG: boxes and labels drawn into its pixels as displayed (those the detector's decode
// kept, else decoded once here), encoded once, its EXIF block copied over with Orientation 1.
// Other formats and ICC-profiled JPEGs: one sharp pipeline that decodes, auto-orients,
// composites one SVG of the same boxes and labels, and re-encodes.
import sharp, { type Metadata, type OverlayOptions, type Sharp } from "sharp";
import type { Detection } from "../types.ts";
import { MAX_INPUT_PIXELS, type DisplayedPixels } from "../detector/preprocess.ts";
import { drawsIntoPixels } from "../metadata/imageHeader.ts";
import { personBlurOverlays } from "./privacy.ts";

export interface RenderOptions {
  /** Boxes with conf >= threshold are drawn (MD renders score >= rendering_threshold). */
  threshold: number;
  /** MD category id -> name; an id missing here is shown as the id, as MD does. */
  categories: Record<string, string>;
  /** The photo's header, already parsed (metadata/imageHeader.ts); parsed here when absent. */
  header?: Metadata;
  /** The photo's pixels as displayed, already decoded: drawn into (in place) when full size, not decoded again. */
  decoded?: DisplayedPixels;
  /**
   * "overlay": the SVG composite whatever the format, as other formats get it: the reference
   * the tests hold the drawing into pixels to. Default: into pixels for a JPEG.
   */
  method?: "overlay";
  /** Blur every person box at or above the threshold (the job's blurPeople option, privacy.ts). */
  blurPeople?: boolean;
}

// MD DEFAULT_COLORS, indexed by category id (animal red, person royal blue, vehicle gold): one
// home for the boxes, the job page and the report (core/results/charts.ts).
export { CATEGORY_COLORS, categoryColor } from "../../../core/results/charts.ts";
import { categoryColor } from "../../../core/results/charts.ts";

/**
 * MD DEFAULT_BOX_THICKNESS is 4 px whatever the image size; we keep 4 px on a frame whose
 * long side is 2048 px and scale with the frame, so a box looks the same on 3 MP and 20 MP.
 */
const REFERENCE_LONG_SIDE = 2048;
const BOX_THICKNESS_AT_REFERENCE = 4;
const MIN_BOX_THICKNESS = 2;

/**
 * MD DEFAULT_LABEL_FONT_SIZE is 16 px with 4 px lines, sized for its small preview images;
 * twice that on a full 2048 px frame keeps a label readable when the frame is viewed whole.
 */
const LABEL_FONT_SIZE_AT_REFERENCE = 32;
const MIN_LABEL_FONT_SIZE = 12;

/** DejaVu Sans ships with most Linux images; librsvg falls back through fontconfig. */
const LABEL_FONT_FAMILY = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif";

/**
 * librsvg cannot measure text for us (it ignores textLength), so the label rectangle is sized
 * from an average advance width: DejaVu Sans lower case and digits are 0.55-0.64 em.
 */
const LABEL_CHAR_WIDTH_EM = 0.62;

/** MD pads each label line by 5% of the text height; a little more suits a rendered font. */
const LABEL_PADDING_EM = 0.1;

/** Baseline below the label's top padding: leaves room for ascenders above and descenders below. */
const LABEL_BASELINE_EM = 0.8;

/** For a JPEG whose quality cannot be estimated from its tables, WebP, and files converted to JPEG. */
export const DEFAULT_QUALITY = 90;

/** Below 75 the re-encode visibly degrades further; above 95 files grow for no visible gain. */
const MIN_JPEG_QUALITY = 75;
const MAX_JPEG_QUALITY = 95;

/**
 * Draws every detection with conf >= threshold. Returns null when none passes, so the caller
 * can keep the original bytes; otherwise the re-encoded image in display orientation (EXIF
 * Orientation reset to 1, the other EXIF tags kept so dates and GPS still read).
 */
export async function renderDetections(
  original: Buffer,
  detections: Detection[],
  options: RenderOptions,
): Promise<Buffer | null> {
  // Ascending confidence: the most confident box is drawn last, on top (MD box_sort_order "confidence").
  const shown = detections.filter((d) => d.conf >= options.threshold).sort((a, b) => a.conf - b.conf);
  if (shown.length === 0) return null;

  // The detector already decoded this image leniently (a truncated JPEG goes as far as it goes); draw on the same pixels.
  const open = () => sharp(original, { failOn: "none", limitInputPixels: MAX_INPUT_PIXELS });
  try {
    const meta = options.header ?? (await open().metadata());
    const { width, height } = meta.autoOrient;
    const layout = layoutDetections(shown, width, height, options.categories);
    // A JPEG without an ICC profile (drawsIntoPixels): drawn into its pixels as displayed (the
    // detector's, when it kept them at full size; else decoded here, once), encoded once, its
    // EXIF block copied over byte for byte but for the Orientation.
    // People to blur: the blur overlays composite with the boxes in one sharp pipeline (below).
    const blurred = options.blurPeople ? await personBlurOverlays(() => open().autoOrient(), shown, options.threshold) : [];
    if (drawsIntoPixels(meta) && options.method !== "overlay" && blurred.length === 0) {
      const kept = options.decoded;
      const pixels =
        kept?.fullSize && kept.width === width && kept.height === height
          ? kept.pixels
          : await open().autoOrient().removeAlpha().toColourspace("srgb").raw({ depth: "uchar" }).toBuffer();
      if (pixels.length !== width * height * 3) throw new Error(`decoder returned ${pixels.length} bytes for ${width}x${height} RGB`);
      // Drawn in place: the pixels are the photo's last use of them.
      await drawInto(pixels, width, height, layout);
      const encoded = await encodeLike(sharp(pixels, { raw: { width, height, channels: 3 } }), meta, original);
      return meta.exif ? withExifBlock(encoded, uprightExif(meta.exif)) : encoded;
    }
    const drawn = open()
      .autoOrient()
      .composite([...blurred, overlayOf(layout)])
      // keepExif rewrites Orientation to 1 after autoOrient and keeps dates, GPS, make and model.
      // XMP (and IPTC) are dropped on purpose: libvips keeps XMP verbatim, and an XMP
      // tiff:Orientation would make some viewers rotate the already-rotated pixels again.
      .keepExif()
      .keepIccProfile();
    return await encodeLike(drawn, meta, original);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Could not draw the detection boxes on this image: ${reason}`, { cause: error });
  }
}

/**
 * JPEG stays JPEG at about the original quality and the same chroma subsampling; PNG, WebP and
 * TIFF keep their format, so the file in the results zip still matches its extension. Anything
 * else (GIF, HEIF, JPEG 2000...) becomes JPEG, which every viewer opens: camera traps write
 * JPEG, and drawing on the rare other file matters more than its container.
 */
async function encodeLike(pipeline: Sharp, meta: Metadata, original: Buffer): Promise<Buffer> {
  switch (meta.format) {
    case "png":
      return pipeline.png().toBuffer();
    case "webp":
      return pipeline.webp({ quality: DEFAULT_QUALITY }).toBuffer();
    case "tiff":
      return pipeline.tiff({ compression: "lzw" }).toBuffer();
    case "jpeg": {
      const quality = clamp(estimateJpegQuality(original) ?? DEFAULT_QUALITY, MIN_JPEG_QUALITY, MAX_JPEG_QUALITY);
      const chromaSubsampling = meta.chromaSubsampling?.startsWith("4:4:4") ? "4:4:4" : "4:2:0";
      return pipeline.jpeg({ quality, chromaSubsampling, mozjpeg: false }).toBuffer();
    }
    default:
      return pipeline.flatten({ background: "#ffffff" }).jpeg({ quality: DEFAULT_QUALITY }).toBuffer();
  }
}

const EXIF_HEADER = Buffer.from("Exif\0\0", "latin1");
const APP1_MAX_PAYLOAD = 0xffff - 2;
const ORIENTATION_TAG = 0x0112;

/**
 * A copy of a JPEG's EXIF block (the APP1 payload, "Exif\0\0" then TIFF) with IFD0's
 * Orientation set to 1, since the pixels are now upright: what libvips' keepExif does after
 * autoOrient. A block it cannot walk is returned unchanged but for the orientation it found.
 */
export function uprightExif(exif: Buffer): Buffer {
  const copy = Buffer.from(exif);
  if (!copy.subarray(0, 6).equals(EXIF_HEADER) || copy.length < 14) return copy;
  const tiff = 6;
  const little = copy.toString("latin1", tiff, tiff + 2) === "II";
  const u16 = (at: number) => (little ? copy.readUInt16LE(at) : copy.readUInt16BE(at));
  const u32 = (at: number) => (little ? copy.readUInt32LE(at) : copy.readUInt32BE(at));
  const ifd0 = tiff + u32(tiff + 4);
  if (ifd0 + 2 > copy.length) return copy;
  const entries = u16(ifd0);
  for (let i = 0; i < entries; i++) {
    const entry = ifd0 + 2 + i * 12;
    if (entry + 12 > copy.length) break;
    // SHORT, one value, held in the entry itself.
    if (u16(entry) === ORIENTATION_TAG && u16(entry + 2) === 3) {
      if (little) copy.writeUInt16LE(1, entry + 8);
      else copy.writeUInt16BE(1, entry + 8);
    }
  }
  return copy;
}

/** `jpeg` with an APP1 EXIF block inserted after its JFIF header (where libjpeg writes it). */
export function withExifBlock(jpeg: Buffer, exif: Buffer): Buffer {
  if (exif.length > APP1_MAX_PAYLOAD || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return jpeg;
  let at = 2;
  // After APP0 (JFIF), when the encoder wrote one.
  if (jpeg[2] === 0xff && jpeg[3] === 0xe0) at = 4 + jpeg.readUInt16BE(4);
  const marker = Buffer.from([0xff, 0xe1, 0, 0]);
  marker.writeUInt16BE(exif.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, at), marker, exif, jpeg.subarray(at)]);
}

/** The label MD writes: "{name}: {round(100 * conf)}%", with Python's round (half to even). */
export function detectionLabel(detection: Detection, categories: Record<string, string>): string {
  const name = categories[detection.category] ?? detection.category;
  return `${name}: ${roundHalfToEven(100 * detection.conf)}%`;
}


interface Rectangle {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Where each box's lines and label go, in drawing order: the one layout both ways of drawing use. */
interface Layout {
  thickness: number;
  fontSize: number;
  padding: number;
  shapes: Array<{ left: number; top: number; right: number; bottom: number; color: string; text: string; label: Rectangle; baseline: number }>;
}

function layoutDetections(detections: Detection[], width: number, height: number, categories: Record<string, string>): Layout {
  const scale = Math.max(width, height) / REFERENCE_LONG_SIDE;
  const thickness = Math.min(width, height, Math.max(MIN_BOX_THICKNESS, Math.round(BOX_THICKNESS_AT_REFERENCE * scale)));
  const fontSize = Math.max(MIN_LABEL_FONT_SIZE, Math.round(LABEL_FONT_SIZE_AT_REFERENCE * scale));
  const padding = Math.max(1, Math.round(LABEL_PADDING_EM * fontSize));
  const labelHeight = Math.min(height, fontSize + 2 * padding);
  // Where a line centred on a box edge starts, kept inside the frame so that a box touching
  // the edge still shows its full line. Integer starts keep every line pixel-exact.
  const lineStart = (at: number, size: number) => clamp(Math.round(at) - Math.floor(thickness / 2), 0, size - thickness);
  const shapes = detections.map((detection) => {
    const [x, y, w, h] = detection.bbox;
    const left = lineStart(x * width, width);
    const top = lineStart(y * height, height);
    const right = Math.max(left, lineStart((x + w) * width, width));
    const bottom = Math.max(top, lineStart((y + h) * height, height));
    const text = detectionLabel(detection, categories);
    const label: Rectangle = {
      width: Math.min(width, Math.ceil(text.length * LABEL_CHAR_WIDTH_EM * fontSize) + 2 * padding),
      height: labelHeight,
      left: 0,
      // Above the box as MD draws it; inside its top edge when there is no room above.
      top: top >= labelHeight ? top - labelHeight : top,
    };
    label.left = Math.min(left, width - label.width);
    const baseline = padding + Math.round(LABEL_BASELINE_EM * fontSize);
    return { left, top, right, bottom, color: categoryColor(detection.category), text, label, baseline };
  });
  return { thickness, fontSize, padding, shapes };
}

/**
 * The boxes and labels of `detections` (those to show, in drawing order) drawn straight into
 * interleaved RGB pixels, in place, as renderDetections draws into a JPEG's: the SVG overlay's
 * lines and labels at this size (previews draw at their own size).
 */
export function drawDetectionsInto(pixels: Uint8Array, width: number, height: number, detections: Detection[], categories: Record<string, string>): Promise<void> {
  return drawInto(pixels, width, height, layoutDetections(detections, width, height, categories));
}

/**
 * One SVG holding every box and label in drawing order, cut to the area they cover: librsvg
 * rasterises and libvips blends only that area, so one animal on a 12 MP frame costs little,
 * and boxes all over the frame cost one frame-sized overlay (about 0.3 s), whatever their number.
 */
export function detectionOverlay(detections: Detection[], width: number, height: number, categories: Record<string, string>): OverlayOptions {
  return overlayOf(layoutDetections(detections, width, height, categories));
}

function overlayOf(layout: Layout): OverlayOptions {
  const { thickness, fontSize, padding } = layout;
  const covered: Rectangle[] = [];
  const shapes = layout.shapes.map(({ left, top, right, bottom, color, text, label, baseline }) => {
    covered.push({ left, top, width: right - left + thickness, height: bottom - top + thickness }, label);
    const half = thickness / 2;
    return (
      `<rect x="${left + half}" y="${top + half}" width="${right - left}" height="${bottom - top}" fill="none" stroke="${color}" stroke-width="${thickness}"/>` +
      `<rect x="${label.left}" y="${label.top}" width="${label.width}" height="${label.height}" fill="${color}"/>` +
      `<text x="${label.left + padding}" y="${label.top + baseline}">${escapeXml(text)}</text>`
    );
  });

  const area = union(covered);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${area.width}" height="${area.height}" viewBox="${area.left} ${area.top} ${area.width} ${area.height}">` +
    `<g font-family="${LABEL_FONT_FAMILY}" font-size="${fontSize}" fill="#000000">${shapes.join("")}</g></svg>`;
  return { input: Buffer.from(svg), left: area.left, top: area.top };
}

/**
 * The same boxes and labels drawn straight into interleaved RGB pixels (changed in place):
 * lines and label rectangles are solid fills, set here; only the text goes through librsvg,
 * one label-sized tile at a time. Compositing the SVG overlay instead makes libvips blend the
 * whole frame in floating point and librsvg rasterise the area the boxes span, which cost
 * more than the JPEG encode on a 3-MP frame (bench/pipeline.ts).
 */
async function drawInto(pixels: Uint8Array, width: number, height: number, layout: Layout): Promise<void> {
  const { thickness, fontSize, padding } = layout;
  const fill = (left: number, top: number, right: number, bottom: number, rgb: readonly number[]) => {
    for (let y = Math.max(0, top); y < Math.min(height, bottom); y++) {
      for (let x = Math.max(0, left), at = (y * width + x) * 3; x < Math.min(width, right); x++, at += 3) {
        pixels[at] = rgb[0]!;
        pixels[at + 1] = rgb[1]!;
        pixels[at + 2] = rgb[2]!;
      }
    }
  };
  for (const { left, top, right, bottom, color, text, label, baseline } of layout.shapes) {
    const rgb = [1, 3, 5].map((i) => Number.parseInt(color.slice(i, i + 2), 16));
    // An SVG rect of zero width or height is not drawn at all.
    if (right > left && bottom > top) {
      const t = thickness;
      fill(left, top, right + t, top + t, rgb);
      fill(left, bottom, right + t, bottom + t, rgb);
      fill(left, top, left + t, bottom + t, rgb);
      fill(right, top, right + t, bottom + t, rgb);
    }
    fill(label.left, label.top, label.left + label.width, label.top + label.height, rgb);
    // The text's tile: the label, and an em to its right where an estimated width falls short.
    const tile = { left: label.left, top: label.top, width: Math.min(width - label.left, label.width + fontSize), height: label.height };
    const region = Buffer.alloc(tile.width * tile.height * 3);
    for (let y = 0; y < tile.height; y++) {
      const from = ((tile.top + y) * width + tile.left) * 3;
      region.set(pixels.subarray(from, from + tile.width * 3), y * tile.width * 3);
    }
    const svg =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${tile.width}" height="${tile.height}">` +
      `<g font-family="${LABEL_FONT_FAMILY}" font-size="${fontSize}" fill="#000000"><text x="${padding}" y="${baseline}">${escapeXml(text)}</text></g></svg>`;
    const withText = await sharp(region, { raw: { width: tile.width, height: tile.height, channels: 3 } })
      .composite([{ input: Buffer.from(svg), left: 0, top: 0 }])
      .removeAlpha()
      .raw()
      .toBuffer();
    for (let y = 0; y < tile.height; y++) {
      const to = ((tile.top + y) * width + tile.left) * 3;
      pixels.set(withText.subarray(y * tile.width * 3, (y + 1) * tile.width * 3), to);
    }
  }
}

function union(rectangles: Rectangle[]): Rectangle {
  const left = Math.min(...rectangles.map((r) => r.left));
  const top = Math.min(...rectangles.map((r) => r.top));
  const right = Math.max(...rectangles.map((r) => r.left + r.width));
  const bottom = Math.max(...rectangles.map((r) => r.top + r.height));
  return { left, top, width: right - left, height: bottom - top };
}

/** IJG / JPEG Annex K luminance table: what libjpeg scales by quality. */
const STANDARD_LUMINANCE_TABLE: readonly number[] = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51,
  87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101,
  72, 92, 95, 98, 112, 100, 103, 99,
];
const STANDARD_LUMINANCE_TABLE_SUM = STANDARD_LUMINANCE_TABLE.reduce((sum, q) => sum + q, 0);

/**
 * The libjpeg quality that would give the file's luminance quantisation table (table 0), from
 * the ratio of its sum to the standard table's: libjpeg scales every entry by 5000/q (q < 50)
 * or 200 - 2q (q >= 50) percent. Cameras with their own tables get the nearest equivalent.
 * Undefined when the file has no readable table.
 */
export function estimateJpegQuality(jpeg: Buffer): number | undefined {
  if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return undefined;
  let offset = 2;
  while (offset + 4 <= jpeg.length) {
    if (jpeg[offset] !== 0xff) return undefined;
    const marker = jpeg[offset + 1];
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined; // image data begins: no table seen
    const length = jpeg.readUInt16BE(offset + 2);
    const end = offset + 2 + length;
    if (marker === 0xdb) {
      let table = offset + 4;
      while (table < end && table < jpeg.length) {
        const precisionAndId = jpeg[table] ?? 0;
        const entryBytes = precisionAndId >> 4 === 0 ? 1 : 2;
        if ((precisionAndId & 0x0f) === 0) {
          let sum = 0;
          for (let i = 0; i < 64; i++) {
            const at = table + 1 + i * entryBytes;
            if (at + entryBytes > jpeg.length) return undefined;
            sum += entryBytes === 1 ? (jpeg[at] ?? 0) : jpeg.readUInt16BE(at);
          }
          const scalePercent = (100 * sum) / STANDARD_LUMINANCE_TABLE_SUM;
          const quality = scalePercent <= 100 ? (200 - scalePercent) / 2 : 5000 / scalePercent;
          return clamp(Math.round(quality), 1, 100);
        }
        table += 1 + 64 * entryBytes;
      }
    }
    offset = end;
  }
  return undefined;
}

function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
