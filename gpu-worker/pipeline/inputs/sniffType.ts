// Decides what a file is from its first bytes, so that routing never trusts a file name.
// This only routes: the decoder (sharp) has the final word on whether an image really decodes.

/** How many leading bytes sniffType needs (the ISO-BMFF brand ends at byte 12). */
export const SNIFF_BYTES = 16;

export type ImageFormat = "jpeg" | "png" | "tiff" | "webp" | "gif" | "heif" | "avif";

export type SniffedType =
  | { kind: "image"; format: ImageFormat }
  | { kind: "zip" }
  | { kind: "empty" }
  /** `description` completes "not an image (…)", e.g. "MP4 video". */
  | { kind: "other"; description: string };

function startsWith(head: Uint8Array, signature: readonly number[], offset = 0): boolean {
  return signature.every((byte, index) => head[offset + index] === byte);
}

function ascii(head: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...head.subarray(start, end));
}

// ISO base media files (HEIF, AVIF, MP4, MOV) say what they are in the "ftyp" box's brand.
const HEIF_BRANDS = new Set(["heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1"]);
const AVIF_BRANDS = new Set(["avif", "avis"]);

function sniffIsoMedia(head: Uint8Array): SniffedType | null {
  if (ascii(head, 4, 8) !== "ftyp") return null;
  const brand = ascii(head, 8, 12);
  if (AVIF_BRANDS.has(brand)) return { kind: "image", format: "avif" };
  if (HEIF_BRANDS.has(brand)) return { kind: "image", format: "heif" };
  return { kind: "other", description: brand === "qt  " ? "QuickTime video" : "MP4 video" };
}

function looksLikeText(head: Uint8Array): boolean {
  // Valid UTF-8 (a character cut off at the end is fine) with no controls but tab and line breaks.
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: true });
    return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text);
  } catch {
    return false;
  }
}

/** What `head` (the first SNIFF_BYTES of a file, or all of it when shorter) says the file is. */
export function sniffType(head: Uint8Array): SniffedType {
  if (head.length === 0) return { kind: "empty" };
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { kind: "image", format: "jpeg" };
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: "image", format: "png" };
  // "II*\0" / "MM\0*", and BigTIFF "II+\0" / "MM\0+". Many camera RAW files are TIFF inside.
  if (startsWith(head, [0x49, 0x49, 0x2a, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2a])) {
    return { kind: "image", format: "tiff" };
  }
  if (startsWith(head, [0x49, 0x49, 0x2b, 0x00]) || startsWith(head, [0x4d, 0x4d, 0x00, 0x2b])) {
    return { kind: "image", format: "tiff" };
  }
  if (ascii(head, 0, 4) === "RIFF") {
    const form = ascii(head, 8, 12);
    if (form === "WEBP") return { kind: "image", format: "webp" };
    if (form === "AVI ") return { kind: "other", description: "AVI video" };
  }
  if (ascii(head, 0, 6) === "GIF87a" || ascii(head, 0, 6) === "GIF89a") return { kind: "image", format: "gif" };
  // Local file header, or the end record of an empty zip.
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return { kind: "zip" };
  const isoMedia = sniffIsoMedia(head);
  if (isoMedia) return isoMedia;
  if (ascii(head, 0, 5) === "%PDF-") return { kind: "other", description: "PDF document" };
  if (looksLikeText(head)) return { kind: "other", description: "text file" };
  if (startsWith(head, [0x42, 0x4d])) return { kind: "other", description: "BMP image, which is not supported: convert it to JPEG" };
  return { kind: "other", description: "unrecognised file type" };
}

/** Why a file that is neither an image nor a zip is not processed, as the results show it. */
export function describeNonImage(sniffed: SniffedType & { kind: "empty" | "other" }): string {
  return sniffed.kind === "empty" ? "empty file (0 bytes)" : `not an image (${sniffed.description})`;
}
