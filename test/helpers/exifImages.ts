// Builds small images carrying exactly the EXIF a test asks for. sharp's withExif writes
// ASCII and RATIONAL tags but cannot write BYTE tags (GPSAltitudeRef) and always rewrites
// Orientation, so this writes the EXIF APP1 segment by hand and splices it into a JPEG.
//
// Layout, from TIFF 6.0 §2 ("Image File Directory") and EXIF 2.32 (CIPA DC-008) §4.5-4.6:
// APP1 = FFE1, length, "Exif\0\0", then a TIFF stream: byte order ("II" or "MM"), 42, offset
// of IFD0; each IFD = entry count (2 bytes), 12-byte entries sorted by tag (tag, type, count,
// value or offset: values of 4 bytes or less sit in the entry, left-justified), offset of the
// next IFD (0 = none), then the values that did not fit. IFD0 points to the Exif IFD with
// tag 0x8769 and to the GPS IFD with tag 0x8825.

import sharp from "sharp";

export type ExifValue =
  | { type: "byte"; value: number[] }
  | { type: "ascii"; value: string }
  | { type: "short"; value: number[] }
  | { type: "rational"; value: Array<[numerator: number, denominator: number]> }
  /** UNDEFINED (type 7): raw bytes, as MakerNote is written. */
  | { type: "undefined"; value: Uint8Array };

/** Tag code -> value, per IFD. */
export interface ExifSpec {
  ifd0?: Record<number, ExifValue>;
  exif?: Record<number, ExifValue>;
  gps?: Record<number, ExifValue>;
  bigEndian?: boolean;
}

const TYPE_CODE = { byte: 1, ascii: 2, short: 3, long: 4, rational: 5, undefined: 7 } as const;
const EXIF_IFD_POINTER = 0x8769;
const GPS_IFD_POINTER = 0x8825;

export const ascii = (value: string): ExifValue => ({ type: "ascii", value });
export const short = (...value: number[]): ExifValue => ({ type: "short", value });
export const byte = (...value: number[]): ExifValue => ({ type: "byte", value });
export const rational = (...value: Array<[number, number]>): ExifValue => ({ type: "rational", value });
export const undefinedBytes = (value: Uint8Array): ExifValue => ({ type: "undefined", value });

/** A plain JPEG (sharp) of the given size with `spec` as its only EXIF. */
export async function jpegWithExif(spec: ExifSpec, width = 64, height = 48): Promise<Buffer> {
  const plain = await sharp({ create: { width, height, channels: 3, background: { r: 90, g: 120, b: 60 } } })
    .jpeg()
    .toBuffer();
  const app1 = exifApp1Segment(spec);
  // Right after the SOI marker (FFD8), where readers look first.
  return Buffer.concat([plain.subarray(0, 2), app1, plain.subarray(2)]);
}

/** The complete APP1 segment, marker included. */
export function exifApp1Segment(spec: ExifSpec): Buffer {
  const tiff = tiffStream(spec);
  const header = Buffer.alloc(10);
  header.writeUInt16BE(0xffe1, 0);
  header.writeUInt16BE(2 + 6 + tiff.length, 2); // segment length counts itself, not the marker
  header.write("Exif\0\0", 4, "latin1");
  return Buffer.concat([header, tiff]);
}

function tiffStream(spec: ExifSpec): Buffer {
  const littleEndian = spec.bigEndian !== true;
  const ifd0Entries = new Map<number, ExifValue | { type: "long"; value: number[] }>(tagEntries(spec.ifd0));
  const exifEntries = tagEntries(spec.exif);
  const gpsEntries = tagEntries(spec.gps);
  // Pointers are placeholders until the sizes before them are known.
  if (exifEntries.length > 0) ifd0Entries.set(EXIF_IFD_POINTER, { type: "long", value: [0] });
  if (gpsEntries.length > 0) ifd0Entries.set(GPS_IFD_POINTER, { type: "long", value: [0] });

  const ifd0Offset = 8;
  const exifOffset = ifd0Offset + ifdSize([...ifd0Entries]);
  const gpsOffset = exifOffset + ifdSize(exifEntries);
  if (exifEntries.length > 0) ifd0Entries.set(EXIF_IFD_POINTER, { type: "long", value: [exifOffset] });
  if (gpsEntries.length > 0) ifd0Entries.set(GPS_IFD_POINTER, { type: "long", value: [gpsOffset] });

  const header = Buffer.alloc(8);
  header.write(littleEndian ? "II" : "MM", 0, "latin1");
  writeUInt(header, 2, 2, 42, littleEndian);
  writeUInt(header, 4, 4, ifd0Offset, littleEndian);
  return Buffer.concat([
    header,
    ifdBytes([...ifd0Entries], ifd0Offset, littleEndian),
    exifEntries.length > 0 ? ifdBytes(exifEntries, exifOffset, littleEndian) : Buffer.alloc(0),
    gpsEntries.length > 0 ? ifdBytes(gpsEntries, gpsOffset, littleEndian) : Buffer.alloc(0),
  ]);
}

type Entry = [tag: number, value: ExifValue | { type: "long"; value: number[] }];

function tagEntries(tags: Record<number, ExifValue> | undefined): Entry[] {
  return Object.entries(tags ?? {}).map(([tag, value]) => [Number(tag), value]);
}

/** Bytes the IFD takes with its out-of-line values; an IFD with no entries is not written. */
function ifdSize(entries: Entry[]): number {
  if (entries.length === 0) return 0;
  const outside = entries.reduce((sum, [, value]) => {
    const size = valueBytes(value, true).length;
    return sum + (size > 4 ? size + (size % 2) : 0);
  }, 0);
  return 2 + 12 * entries.length + 4 + outside;
}

function ifdBytes(entries: Entry[], offset: number, littleEndian: boolean): Buffer {
  const sorted = [...entries].sort(([a], [b]) => a - b);
  const table = Buffer.alloc(2 + 12 * sorted.length + 4);
  writeUInt(table, 0, 2, sorted.length, littleEndian);
  const outside: Buffer[] = [];
  let nextValueOffset = offset + table.length;
  sorted.forEach(([tag, value], index) => {
    const at = 2 + 12 * index;
    const bytes = valueBytes(value, littleEndian);
    writeUInt(table, at, 2, tag, littleEndian);
    writeUInt(table, at + 2, 2, TYPE_CODE[value.type], littleEndian);
    writeUInt(table, at + 4, 4, componentCount(value), littleEndian);
    if (bytes.length <= 4) {
      bytes.copy(table, at + 8);
    } else {
      writeUInt(table, at + 8, 4, nextValueOffset, littleEndian);
      // Values start on a word boundary (TIFF 6.0 §2).
      const padded = bytes.length % 2 === 0 ? bytes : Buffer.concat([bytes, Buffer.alloc(1)]);
      outside.push(padded);
      nextValueOffset += padded.length;
    }
  });
  return Buffer.concat([table, ...outside]);
}

function componentCount(value: Entry[1]): number {
  return value.type === "ascii" ? Buffer.byteLength(value.value, "latin1") + 1 : value.value.length;
}

function valueBytes(value: Entry[1], littleEndian: boolean): Buffer {
  switch (value.type) {
    case "ascii":
      return Buffer.from(`${value.value}\0`, "latin1");
    case "byte":
    case "undefined":
      return Buffer.from(value.value);
    case "short":
    case "long": {
      const width = value.type === "short" ? 2 : 4;
      const bytes = Buffer.alloc(width * value.value.length);
      value.value.forEach((n, i) => writeUInt(bytes, i * width, width, n, littleEndian));
      return bytes;
    }
    case "rational": {
      const bytes = Buffer.alloc(8 * value.value.length);
      value.value.forEach(([numerator, denominator], i) => {
        writeUInt(bytes, i * 8, 4, numerator, littleEndian);
        writeUInt(bytes, i * 8 + 4, 4, denominator, littleEndian);
      });
      return bytes;
    }
  }
}

function writeUInt(buffer: Buffer, offset: number, width: 2 | 4, value: number, littleEndian: boolean): void {
  if (width === 2) {
    if (littleEndian) buffer.writeUInt16LE(value, offset);
    else buffer.writeUInt16BE(value, offset);
  } else if (littleEndian) buffer.writeUInt32LE(value, offset);
  else buffer.writeUInt32BE(value, offset);
}

/**
 * A small WebP whose EXIF chunk holds `exif` as given (WebP container spec: RIFF chunks, "EXIF"
 * after the image data, flagged in VP8X). sharp hands such a chunk back unchecked as its EXIF.
 */
export async function webpWithExifChunk(exif: Buffer): Promise<Buffer> {
  const webp = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 40, g: 80, b: 120 } } })
    .withExif({ IFD0: { Make: "placeholder" } })
    .webp()
    .toBuffer();
  const chunks: Buffer[] = [];
  for (let offset = 12; offset + 8 <= webp.length; ) {
    const size = webp.readUInt32LE(offset + 4);
    const whole = webp.subarray(offset, offset + 8 + size + (size % 2));
    if (whole.toString("latin1", 0, 4) !== "EXIF") chunks.push(whole);
    offset += whole.length;
  }
  const exifChunk = Buffer.alloc(8 + exif.length + (exif.length % 2));
  exifChunk.write("EXIF", 0, "latin1");
  exifChunk.writeUInt32LE(exif.length, 4);
  exif.copy(exifChunk, 8);
  const body = Buffer.concat([...chunks, exifChunk]);
  const header = Buffer.alloc(12);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(4 + body.length, 4);
  header.write("WEBP", 8, "latin1");
  return Buffer.concat([header, body]);
}
