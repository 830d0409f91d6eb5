// Writes HEIF files box by box (ISO/IEC 14496-12 boxes, ISO/IEC 23008-12 items), so tests can
// make a well-formed HEIF carrying EXIF (sharp's prebuilt libvips cannot encode HEIC) and the
// damaged box chains that have frozen EXIF readers, starting with the 32-byte file of issue 9.
//
// Layout: ftyp; meta (full box) holding hdlr "pict", iinf with one "Exif" item (infe version 2)
// and iloc (version 0) pointing at the item's bytes in mdat; the Exif item is a 4-byte offset to
// the TIFF header, "Exif\0\0", then the TIFF stream, as cameras and phones write it.

import { exifApp1Segment, type ExifSpec } from "./exifImages.ts";

function box(type: string, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, "latin1");
  return Buffer.concat([header, body]);
}

function fullBox(type: string, version: number, ...content: Buffer[]): Buffer {
  const versionAndFlags = Buffer.alloc(4);
  versionAndFlags.writeUInt8(version, 0);
  return box(type, versionAndFlags, ...content);
}

function u16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value, 0);
  return bytes;
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value, 0);
  return bytes;
}

/** ftyp with major brand "heic" and compatible brands mif1, heic (24 bytes). */
export function ftypHeic(): Buffer {
  return box("ftyp", Buffer.from("heic", "latin1"), u32(0), Buffer.from("mif1heic", "latin1"));
}

const EXIF_ITEM_ID = 1;

/**
 * A HEIF whose only item is EXIF with `spec`'s tags (no picture: decoders refuse it, EXIF
 * readers do not). `freeBytes` puts a "free" box of that many zero bytes between ftyp and meta,
 * as writers that reserve room for later edits do.
 */
export function heifWithExif(spec: ExifSpec, options: { freeBytes?: number } = {}): Buffer {
  const tiffWithHeader = exifApp1Segment(spec).subarray(4); // "Exif\0\0" + TIFF
  const exifItem = Buffer.concat([u32(6), tiffWithHeader]); // offset of the TIFF header past "Exif\0\0"
  const hdlr = fullBox("hdlr", 0, u32(0), Buffer.from("pict", "latin1"), Buffer.alloc(12), Buffer.from([0]));
  const infe = fullBox("infe", 2, u16(EXIF_ITEM_ID), u16(0), Buffer.from("Exif", "latin1"), Buffer.from([0]));
  const iinf = fullBox("iinf", 0, u16(1), infe);
  const ftyp = options.freeBytes === undefined ? ftypHeic() : Buffer.concat([ftypHeic(), box("free", Buffer.alloc(options.freeBytes))]);
  // iloc v0: offset and length are 4 bytes each, no base offset; the extent offset is absolute,
  // so it is patched once the sizes before mdat's content are known.
  const ilocFor = (extentOffset: number) =>
    fullBox("iloc", 0, Buffer.from([0x44, 0x00]), u16(1), u16(EXIF_ITEM_ID), u16(0), u16(1), u32(extentOffset), u32(exifItem.length));
  const metaFor = (extentOffset: number) => fullBox("meta", 0, hdlr, iinf, ilocFor(extentOffset));
  const dataOffset = ftyp.length + metaFor(0).length + 8;
  return Buffer.concat([ftyp, metaFor(dataOffset), box("mdat", exifItem)]);
}

/**
 * Box chains that are not what they claim, each a whole file. The first is issue 9's: a HEIF
 * brand, then a box of size 0, on which exifr 7.1.3 looped for ever.
 */
export function damagedIsoMediaFiles(): Record<string, Buffer> {
  const ftyp = ftypHeic();
  const largeSizeZero = Buffer.concat([u32(1), Buffer.from("free", "latin1"), Buffer.alloc(8)]);
  const wellFormed = heifWithExif({ ifd0: {} });
  return {
    "zero-length-box.heic": Buffer.concat([ftyp, Buffer.alloc(8)]),
    "zero-length-ftyp.heic": Buffer.concat([u32(0), ftyp.subarray(4), Buffer.alloc(8)]),
    "zero-64-bit-size.heic": Buffer.concat([ftyp, largeSizeZero, wellFormed.subarray(ftyp.length)]),
    "box-smaller-than-header.heic": Buffer.concat([ftyp, u32(3), Buffer.from("free", "latin1"), Buffer.alloc(16)]),
    "box-past-the-end.heic": Buffer.concat([ftyp, u32(0x7fffffff), Buffer.from("free", "latin1")]),
    "cut-in-meta.heic": wellFormed.subarray(0, ftyp.length + 20),
  };
}

/** TIFF streams cut short or pointing outside themselves. */
export function damagedTiffFiles(): Record<string, Buffer> {
  const header = (ifdOffset: number) => Buffer.concat([Buffer.from("II*\0", "latin1"), Buffer.from(new Uint32Array([ifdOffset]).buffer)]);
  return {
    "ifd-past-the-end.tif": header(0xfffffff0),
    "ifd-cut-short.tif": Buffer.concat([header(8), Buffer.from([0xff, 0xff, 0x0f, 0x01, 0x02, 0x00])]),
    "ifd-points-at-itself.tif": Buffer.concat([header(8), Buffer.from([1, 0, 0x69, 0x87, 4, 0, 1, 0, 0, 0, 8, 0, 0, 0]), Buffer.alloc(4)]),
  };
}
