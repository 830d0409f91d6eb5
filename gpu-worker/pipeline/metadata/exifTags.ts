// What is asked of exifr and what it answers: the tags Trapline reads and exifr's options.
// exifr itself runs only on a metadata thread (exifThread.ts, exifThreads.ts).

// Tag codes from the EXIF 2.32 spec (CIPA DC-008), tables 4, 7 and 14. Picking by code lets
// exifr stop once it has these and skip every other tag, UserComment included. MakerNote comes
// as raw bytes: camera traps keep their own fields there (see makerNotes/).
export const IFD0 = { make: 0x010f, model: 0x0110, orientation: 0x0112, dateTime: 0x0132, cameraSerialNumber: 0xc62f };
export const EXIF = { dateTimeOriginal: 0x9003, dateTimeDigitized: 0x9004, makerNote: 0x927c, bodySerialNumber: 0xa431 };
export const GPS = { latitudeRef: 0x01, latitude: 0x02, longitudeRef: 0x03, longitude: 0x04, altitudeRef: 0x05, altitude: 0x06 };

// Raw values, numeric keys, one object per IFD: we want the text the camera wrote, not
// exifr's Dates (which it builds in the server's time zone). XMP, ICC, IPTC, JFIF and the
// thumbnail IFD are never parsed, nor is the maker note by exifr. One constant object, because exifr caches
// its parsed form by identity.
export const EXIFR_OPTIONS = {
  ifd0: { pick: Object.values(IFD0) },
  exif: { pick: Object.values(EXIF) },
  gps: { pick: Object.values(GPS) },
  ifd1: false,
  interop: false,
  makerNote: false,
  userComment: false,
  xmp: false,
  icc: false,
  iptc: false,
  jfif: false,
  ihdr: false,
  translateKeys: false,
  translateValues: false,
  reviveValues: false,
  mergeOutput: false,
};

export type RawIfd = Record<number, unknown>;
export interface RawExif {
  ifd0?: RawIfd;
  exif?: RawIfd;
  gps?: RawIfd;
  /** Where exifr puts a picked MakerNote when outputs are not merged. */
  makerNote?: unknown;
  errors?: string[];
}

/** exifr's answer; `timedOut` when the file kept it busy past its deadline (exifThreads.ts). */
export type ExifTags = { ok: true; raw: RawExif } | { ok: false; reason: string; timedOut?: true };

// JPEG markers (ITU-T T.81 Table B.1): SOS starts the entropy-coded image data; RSTn, TEM and
// fill bytes stand alone, without a length.
const MARKER = 0xff;
const START_OF_SCAN = 0xda;
const STANDALONE = new Set([0x01, 0xd0, 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, MARKER]);

/**
 * The part of a file exifr reads: a JPEG's header segments up to its image data (exifr stops
 * at the start of scan), else the whole file (TIFF, PNG and HEIF keep EXIF anywhere). Only that
 * part is copied to a metadata thread: a few KiB instead of a 10 MB frame. A JPEG whose
 * segments do not chain cleanly goes whole, so exifr sees what it always saw.
 */
export function exifrInput(bytes: Uint8Array): Uint8Array {
  if (bytes[0] !== MARKER || bytes[1] !== 0xd8) return bytes;
  let offset = 2;
  while (offset + 4 <= bytes.length) {
    if (bytes[offset] !== MARKER) return bytes;
    const marker = bytes[offset + 1]!;
    if (marker === START_OF_SCAN) return bytes.subarray(0, offset + 4);
    if (STANDALONE.has(marker)) offset += marker === MARKER ? 1 : 2;
    else offset += 2 + ((bytes[offset + 2]! << 8) | bytes[offset + 3]!);
  }
  return bytes;
}
