// The two privacy options a job may ask for (core/jobs.ts JobOptions), one home for each rule:
//
// blurPeople: every person box at or above the render threshold is blurred past recognition in
//   the previews (preview.ts) and the full-size boxed copies (render.ts); report.html shows the
//   previews. The box's pixels are shrunk to at most BLUR_CELLS cells on its long side and
//   enlarged back smoothly: a face filling the whole box keeps at most 8 x 8 values, well under
//   the ~16 x 16 px at which faces start to be recognisable, and the cost does not grow with the
//   box the way a Gaussian of proportional sigma does (a 12 MP person box would need sigma ~ 100).
//
// dropGps: the GPS IFD is emptied in the photo's own EXIF before anything is drawn, so the boxed
//   copy (which keeps the EXIF, render.ts) and an unboxed copy in the zip carry no position; every
//   other tag stays where it was, byte for byte (the file keeps its length). Previews carry no
//   EXIF at all. The reports still give positions: they are what the map is made of.
import { crc32 } from "node:zlib";
import sharp, { type OverlayOptions, type Sharp } from "sharp";
import type { Detection } from "../types.ts";

/** MD's category id for a person. */
export const PERSON_CATEGORY = "2";

/** Most cells a blurred person box keeps along its long side (see above). */
export const BLUR_CELLS = 8;

/** The boxes blurPeople hides: every person box at or above the render threshold. */
export function peopleToBlur(detections: readonly Detection[], threshold: number): Detection[] {
  return detections.filter((d) => d.category === PERSON_CATEGORY && d.conf >= threshold);
}

/**
 * Overlays hiding each person box of `detections` (at or above `threshold`), to composite under
 * the boxes. `displayed` makes the pixels exactly as they will be composited (oriented and sized);
 * it is decoded once, and only when there is a person to hide.
 */
export async function personBlurOverlays(displayed: () => Sharp, detections: readonly Detection[], threshold: number): Promise<OverlayOptions[]> {
  const people = peopleToBlur(detections, threshold);
  if (people.length === 0) return [];
  const { data, info } = await displayed().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const raw = { width: info.width, height: info.height, channels: info.channels };
  const patches = await Promise.all(people.map((person) => blurredPatch(data, raw, person)));
  return patches.filter((patch): patch is OverlayOptions => patch !== null);
}

async function blurredPatch(data: Buffer, raw: { width: number; height: number; channels: 1 | 2 | 3 | 4 }, detection: Detection): Promise<OverlayOptions | null> {
  const [x, y, w, h] = detection.bbox;
  const left = Math.max(0, Math.floor(x * raw.width));
  const top = Math.max(0, Math.floor(y * raw.height));
  const right = Math.min(raw.width, Math.ceil((x + w) * raw.width));
  const bottom = Math.min(raw.height, Math.ceil((y + h) * raw.height));
  const width = right - left;
  const height = bottom - top;
  if (width < 1 || height < 1) return null;
  const cell = Math.max(width, height) / BLUR_CELLS;
  // libvips shrinks by averaging every pixel of a cell, then reduces: nothing of the box survives finer than a cell.
  const small = await sharp(data, { raw })
    .extract({ left, top, width, height })
    .resize(Math.max(1, Math.round(width / cell)), Math.max(1, Math.round(height / cell)), { fit: "fill" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const smallRaw = { width: small.info.width, height: small.info.height, channels: small.info.channels };
  const patch = await sharp(small.data, { raw: smallRaw }).resize(width, height, { fit: "fill", kernel: "mitchell" }).png({ compressionLevel: 0 }).toBuffer();
  return { input: patch, left, top };
}

/** TIFF tag of IFD0 pointing to the GPS IFD (EXIF 2.32 §4.6.3). */
const GPS_IFD_POINTER = 0x8825;
/** Bytes per value of each TIFF field type (TIFF 6.0 §2, types 1-12; 13 is IFD, as LONG). */
const TYPE_BYTES: Readonly<Record<number, number>> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };
const EXIF_HEADER = Buffer.from("Exif\0\0", "latin1");
/** XMP can repeat the position (exif:GPSLatitude); boxed copies already leave XMP out (render.ts). */
const XMP_HEADERS = [Buffer.from("http://ns.adobe.com/xap/1.0/\0", "latin1"), Buffer.from("http://ns.adobe.com/xmp/extension/\0", "latin1")];

/**
 * A copy of the photo's bytes without its GPS position: the GPS IFD of every EXIF block emptied
 * and its values zeroed in place (JPEG APP1, PNG eXIf, WebP EXIF, a TIFF's own IFD0, else any
 * "Exif\0\0" block, as HEIF holds one), and a JPEG's XMP left out. The input is not changed.
 */
export function withoutGps(photo: Buffer): Buffer {
  const bytes = Buffer.from(photo);
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return jpegWithoutGps(bytes);
  if (isTiffHeader(bytes, 0)) {
    emptyGpsIfd(bytes, 0, bytes.length);
    return bytes;
  }
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return pngWithoutGps(bytes);
  if (bytes.toString("latin1", 0, 4) === "RIFF" && bytes.toString("latin1", 8, 12) === "WEBP") return webpWithoutGps(bytes);
  // Any other container (HEIF, AVIF...): every EXIF block it holds, wherever it sits.
  for (let at = bytes.indexOf(EXIF_HEADER); at >= 0; at = bytes.indexOf(EXIF_HEADER, at + 1)) {
    if (isTiffHeader(bytes, at + EXIF_HEADER.length)) emptyGpsIfd(bytes, at + EXIF_HEADER.length, bytes.length);
  }
  return bytes;
}

function jpegWithoutGps(bytes: Buffer): Buffer {
  const dropped: Array<[number, number]> = [];
  let offset = 2;
  // Metadata segments come before the image data (SOS): nothing after it is read.
  while (offset + 4 <= bytes.length && bytes[offset] === 0xff) {
    const marker = bytes[offset + 1]!;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      offset += 2; // markers without a length
      continue;
    }
    const end = Math.min(bytes.length, offset + 2 + bytes.readUInt16BE(offset + 2));
    if (marker === 0xe1) {
      const body = offset + 4;
      if (bytes.subarray(body, body + EXIF_HEADER.length).equals(EXIF_HEADER) && isTiffHeader(bytes, body + EXIF_HEADER.length)) {
        emptyGpsIfd(bytes, body + EXIF_HEADER.length, end);
      } else if (XMP_HEADERS.some((header) => bytes.subarray(body, body + header.length).equals(header))) {
        dropped.push([offset, end]);
      }
    }
    offset = end;
  }
  if (dropped.length === 0) return bytes;
  const kept: Buffer[] = [];
  let from = 0;
  for (const [start, end] of dropped) {
    kept.push(bytes.subarray(from, start));
    from = end;
  }
  kept.push(bytes.subarray(from));
  return Buffer.concat(kept);
}

/** PNG chunks: length, type, data, CRC of type and data (PNG 3rd ed. §5.3; eXIf §11.3.6.6). */
function pngWithoutGps(bytes: Buffer): Buffer {
  let offset = 8;
  while (offset + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString("latin1", offset + 4, offset + 8);
    const data = offset + 8;
    const end = data + length;
    if (end + 4 > bytes.length || type === "IEND") break;
    if (type === "eXIf" && isTiffHeader(bytes, data) && emptyGpsIfd(bytes, data, end)) {
      bytes.writeUInt32BE(crc32(bytes.subarray(offset + 4, end)), end);
    }
    offset = end + 4;
  }
  return bytes;
}

/** RIFF chunks: fourcc, little-endian size, data padded to an even length. */
function webpWithoutGps(bytes: Buffer): Buffer {
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const size = bytes.readUInt32LE(offset + 4);
    const data = offset + 8;
    const end = Math.min(bytes.length, data + size);
    if (bytes.toString("latin1", offset, offset + 4) === "EXIF") {
      // Some writers put JPEG's "Exif\0\0" before the TIFF header, as in APP1.
      const tiff = bytes.subarray(data, data + EXIF_HEADER.length).equals(EXIF_HEADER) ? data + EXIF_HEADER.length : data;
      if (isTiffHeader(bytes, tiff)) emptyGpsIfd(bytes, tiff, end);
    }
    offset = data + size + (size % 2);
  }
  return bytes;
}

function isTiffHeader(bytes: Buffer, at: number): boolean {
  if (at + 8 > bytes.length) return false;
  const order = bytes.toString("latin1", at, at + 2);
  if (order === "II") return bytes.readUInt16LE(at + 2) === 42;
  if (order === "MM") return bytes.readUInt16BE(at + 2) === 42;
  return false;
}

/**
 * Empties the GPS IFD of the TIFF stream at [start, end): each entry's out-of-line values and
 * the entries zeroed, its count set to 0. The IFD0 pointer stays (every offset in the stream
 * stays valid); readers see a GPS IFD with nothing in it. True when there was one.
 */
function emptyGpsIfd(bytes: Buffer, start: number, end: number): boolean {
  const little = bytes[start] === 0x49;
  const u16 = (at: number) => (little ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
  const u32 = (at: number) => (little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const inside = (at: number, length: number) => at >= start && at + length <= end;
  const ifd0 = start + u32(start + 4);
  if (!inside(ifd0, 2)) return false;
  let found = false;
  for (let i = 0, count = u16(ifd0); i < count; i++) {
    const entry = ifd0 + 2 + 12 * i;
    if (!inside(entry, 12)) break;
    if (u16(entry) !== GPS_IFD_POINTER) continue;
    const gps = start + u32(entry + 8);
    if (!inside(gps, 2)) continue;
    const entries = u16(gps);
    for (let j = 0; j < entries; j++) {
      const field = gps + 2 + 12 * j;
      if (!inside(field, 12)) break;
      const size = (TYPE_BYTES[u16(field + 2)] ?? 1) * u32(field + 4);
      const values = start + u32(field + 8);
      // Values of 4 bytes or less sit in the entry itself, zeroed with it below.
      if (size > 4 && values >= start && values < end) bytes.fill(0, values, Math.min(end, values + size));
    }
    bytes.fill(0, gps + 2, Math.min(end, gps + 2 + 12 * entries));
    bytes.fill(0, gps, gps + 2);
    found = true;
  }
  return found;
}
