// Camera metadata of one image: when and where it was taken, by which camera, and its size
// as displayed. exifr reads the EXIF tags on a metadata thread with a deadline (exifThreads.ts);
// the displayed size comes from the photo's one header parse (imageHeader.ts: EXIF's own
// ExifImageWidth is often stale after editing). Never throws: problems go into `error`.

import type { CameraDateTime, ImageMetadata } from "../types.ts";
import { EXIF, GPS, IFD0, type ExifTags } from "./exifTags.ts";
import { sharedExifThreads, type ExifThreads } from "./exifThreads.ts";
import { readImageHeader, type ImageHeader as ParsedHeader } from "./imageHeader.ts";
import { isoBoxProblem } from "./isoBoxes.ts";
import { readCameraTrapMakerNote } from "./makerNotes/index.ts";
import { wallClockDate } from "./wallClock.ts";

/**
 * Reads camera metadata from an image's bytes. Never throws; see `ImageMetadata.error`.
 * `parsed` is the photo's header when the caller has parsed it already (one parse per photo).
 */
export async function readImageMetadata(
  bytes: Buffer,
  threads: ExifThreads = sharedExifThreads(),
  parsed: Promise<ParsedHeader> | ParsedHeader = readImageHeader(bytes),
): Promise<ImageMetadata> {
  if (bytes.length === 0) return { error: "The file is empty (0 bytes)." };

  const problems: string[] = [];
  // sharp and exifr each work on their own threads.
  const header = headerOf(parsed);
  const tags = await readExifTags(bytes, header, threads);
  const image = await header;
  if (!image.ok && !tags.ok) {
    if (tags.timedOut) return { error: `Not a readable image: the file ${tags.reason}.` };
    return { error: "Not a readable image: the file is damaged or not a JPEG, PNG, TIFF, WebP or other supported format." };
  }
  if (!image.ok) problems.push(`Could not read the image size (${image.reason}).`);
  if (!tags.ok) problems.push(`Could not read the EXIF metadata (${tags.reason}).`);

  const raw = tags.ok ? tags.raw : {};
  const ifd0 = raw.ifd0 ?? {};
  const exif = raw.exif ?? {};
  const gps = raw.gps ?? {};
  // exifr's own messages ("Segment unreachable: {...}") mean nothing to a person; say what happened.
  if ((raw.errors ?? []).length > 0) problems.push("Part of the EXIF metadata is cut short or damaged; what could be read is kept.");

  const metadata: ImageMetadata = {};
  const orientation = validOrientation(ifd0[IFD0.orientation]) ?? validOrientation(image.ok ? image.orientation : undefined);
  if (orientation !== undefined) metadata.orientation = orientation;
  if (image.ok) {
    // As the decoder displays it, whatever exifr read: the detector's boxes are fractions of
    // this size and a drawn photo comes out at it, so the workbook's pixels agree with both.
    metadata.width = image.width;
    metadata.height = image.height;
  }

  const dates = [
    ["dateTimeOriginal", "DateTimeOriginal", exif[EXIF.dateTimeOriginal]],
    ["dateTimeDigitized", "DateTimeDigitized", exif[EXIF.dateTimeDigitized]],
    ["dateTime", "DateTime", ifd0[IFD0.dateTime]],
  ] as const;
  for (const [field, tagName, value] of dates) {
    const text = cleanText(value);
    if (text === undefined) continue;
    const parsed = parseCameraDateTime(text);
    if (parsed === "unknown") continue;
    if (parsed === undefined) problems.push(`${tagName} "${text}" is not a valid date and time; left out.`);
    else metadata[field] = parsed;
  }

  const make = cleanText(ifd0[IFD0.make]);
  if (make !== undefined) metadata.make = make;
  const model = cleanText(ifd0[IFD0.model]);
  if (model !== undefined) metadata.model = model;
  const serialNumber = cleanText(exif[EXIF.bodySerialNumber]) ?? cleanText(ifd0[IFD0.cameraSerialNumber]);
  if (serialNumber !== undefined) metadata.serialNumber = serialNumber;

  const latitude = signedDegrees(gps[GPS.latitude], gps[GPS.latitudeRef], "S", 90);
  const longitude = signedDegrees(gps[GPS.longitude], gps[GPS.longitudeRef], "W", 180);
  if (latitude !== undefined && longitude !== undefined) {
    metadata.latitude = latitude;
    metadata.longitude = longitude;
  }
  const altitude = signedAltitude(gps[GPS.altitude], gps[GPS.altitudeRef]);
  if (altitude !== undefined) metadata.altitude = altitude;

  addCameraTrapFields(metadata, raw.makerNote ?? exif[EXIF.makerNote]);

  if (problems.length > 0) metadata.error = problems.join(" ");
  return metadata;
}

/**
 * A camera trap's maker note fills in what standard EXIF lacks: Reconyx HyperFire cameras
 * write their capture time and serial number only there.
 */
function addCameraTrapFields(metadata: ImageMetadata, makerNote: unknown): void {
  if (!(makerNote instanceof Uint8Array)) return;
  const cameraTrap = readCameraTrapMakerNote(makerNote, metadata.make);
  if (cameraTrap === undefined) return;
  metadata.cameraTrap = cameraTrap;
  if (metadata.dateTimeOriginal === undefined && cameraTrap.captureTime) metadata.dateTimeOriginal = cameraTrap.captureTime;
  if (metadata.serialNumber === undefined && cameraTrap.serialNumber) metadata.serialNumber = cameraTrap.serialNumber;
}

type ImageHeader =
  | { ok: true; width: number; height: number; orientation: number | undefined; exif: Buffer | undefined }
  | { ok: false; reason: string };

/** Displayed pixel size from the image header (no decoding), plus the raw EXIF sharp found. */
async function headerOf(parsed: Promise<ParsedHeader> | ParsedHeader): Promise<ImageHeader> {
  const header = await parsed;
  if (!header.ok) return { ok: false, reason: messageOf(header.error) };
  return { ok: true, width: header.width, height: header.height, orientation: header.meta.orientation, exif: header.meta.exif };
}

/**
 * exifr reads JPEG, TIFF, PNG and HEIC directly. Where it cannot (WebP, GIF; AVIF, whose EXIF
 * item it misreads), sharp has already pulled out the EXIF block, if any: a TIFF stream after
 * an "Exif\0\0" header, which exifr can read instead. An ISO base media file whose boxes exifr
 * would loop on is never handed to it.
 */
async function readExifTags(bytes: Buffer, header: Promise<ImageHeader>, threads: ExifThreads): Promise<ExifTags> {
  const direct = await parseExif(bytes, threads);
  if (direct.ok && direct.raw.errors === undefined) return direct;
  const image = await header;
  if (!image.ok) return direct;
  // A file that kept exifr past its deadline says so, even when sharp found no EXIF either.
  if (image.exif === undefined) return direct.ok || direct.timedOut ? direct : { ok: true, raw: {} };
  const hasExifHeader = image.exif.subarray(0, 6).toString("latin1") === "Exif\0\0";
  const fromSharp = await parseExif(hasExifHeader ? image.exif.subarray(6) : image.exif, threads);
  if (fromSharp.ok && fromSharp.raw.errors === undefined) return fromSharp;
  // Where exifr cannot read the file itself (WebP), what it said of the EXIF block is the news.
  return direct.ok ? direct : fromSharp;
}

/** exifr on a metadata thread, unless the bytes are an ISO box chain it would loop on (isoBoxes.ts). */
function parseExif(bytes: Buffer, threads: ExifThreads): Promise<ExifTags> {
  const boxProblem = isoBoxProblem(bytes);
  return boxProblem ? Promise.resolve({ ok: false, reason: boxProblem }) : threads.parse(bytes);
}

function validOrientation(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 8 ? value : undefined;
}

/** EXIF ASCII values end at a NUL and are often padded with spaces; empty means absent. */
function cleanText(value: unknown): string | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const text = String(value).split("\0", 1)[0]!.trim();
  return text === "" ? undefined : text;
}

// "YYYY:MM:DD HH:MM:SS" (EXIF 2.32 §4.6.4, DateTime), also with "-", "/" or "." between the
// date parts, a "T" before the time, no seconds, and subseconds; anything after (a zone
// suffix some software adds) is ignored, because camera clocks carry no zone.
const CAMERA_DATE_TIME =
  /^(?<year>\d{4})[:\-/.](?<month>\d{1,2})[:\-/.](?<day>\d{1,2})[ T]+(?<hour>\d{1,2}):(?<minute>\d{1,2})(?::(?<second>\d{1,2})(?:[.,](?<fraction>\d+))?)?/;
// The spec says an unknown date is written as blanks (or, in practice, zeros) between the colons.
const UNKNOWN_DATE_TIME = /^[\s0:\-/.T]*$/;

/**
 * Parses a camera's date/time text. Returns "unknown" for the blank or all-zero placeholder
 * cameras write when their clock was never set (not a problem worth reporting), and undefined
 * for text that is not a real date (month 13, 25 o'clock, February 30).
 */
export function parseCameraDateTime(text: string): CameraDateTime | "unknown" | undefined {
  if (UNKNOWN_DATE_TIME.test(text)) return "unknown";
  const parts = CAMERA_DATE_TIME.exec(text)?.groups;
  if (parts === undefined) return undefined;
  const year = Number(parts.year);
  const month = Number(parts.month);
  const day = Number(parts.day);
  const hour = Number(parts.hour);
  const minute = Number(parts.minute);
  const second = Number(parts.second ?? 0);
  const milliseconds = Number((parts.fraction ?? "").padEnd(3, "0").slice(0, 3));
  const wallClock = wallClockDate(year, month, day, hour, minute, second, milliseconds);
  return wallClock ? { text, wallClock } : undefined;
}

/**
 * EXIF stores latitude and longitude as unsigned degrees, minutes, seconds plus a reference
 * letter (EXIF 2.32 §4.6.6): "S" and "W" mean negative. A few writers store a signed or a
 * single decimal value; both are accepted. Out-of-range or unreadable values are dropped.
 */
function signedDegrees(value: unknown, ref: unknown, negativeRef: "S" | "W", limit: number): number | undefined {
  const parts = typeof value === "number" ? [value] : Array.isArray(value) ? value : [];
  if (parts.length === 0 || parts.length > 3 || !parts.every((part) => typeof part === "number" && Number.isFinite(part))) {
    return undefined;
  }
  const [degrees = 0, minutes = 0, seconds = 0] = parts as number[];
  const magnitude = Math.abs(degrees) + minutes / 60 + seconds / 3600;
  if (magnitude > limit) return undefined;
  const negative = degrees < 0 || cleanText(ref)?.toUpperCase().startsWith(negativeRef) === true;
  return negative ? -magnitude : magnitude;
}

/** GPSAltitudeRef is one BYTE: 1 means the altitude is below sea level (EXIF 2.32 §4.6.6). */
function signedAltitude(value: unknown, ref: unknown): number | undefined {
  if (typeof value !== "number" || !Number.isFinite(value)) return undefined;
  const refByte: unknown = ref instanceof Uint8Array || Array.isArray(ref) ? (ref[0] as unknown) : ref;
  return refByte === 1 ? -Math.abs(value) : value;
}

/** A library's message, shortened to what a person can act on: libvips repeats itself over many lines. */
function messageOf(error: unknown): string {
  const firstLine = (error instanceof Error ? error.message : String(error)).split("\n", 1)[0]!;
  // "Input buffer has corrupt header: VipsJpeg: premature end of JPEG image" -> "premature end of JPEG image"
  return firstLine.split(": ").at(-1)!.trim();
}
