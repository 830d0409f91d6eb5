// ISO base media files (HEIF, AVIF) are a chain of boxes, each starting with its size. exifr
// 7.1.3 walks that chain to the "meta" box without checking the sizes, and a box of size 0
// (or a 64-bit size of 0) never moves it on: it loops for ever. So the chain is walked here
// first, with every size checked, and exifr only sees files whose chain reaches "meta".
// ISO/IEC 14496-12 §4.2: size (4 bytes, big-endian), type (4 bytes); size 1 means a 64-bit
// size follows the type; size 0 means "to the end of the file" (allowed for the last box only).

const BOX_HEADER = 8;
const LARGE_BOX_HEADER = 16;

/**
 * Why exifr must not read `bytes` as an ISO base media file, or undefined when it may. exifr
 * treats any file starting with two zero bytes as a possible HEIF, so every such file is
 * checked; files that start otherwise (JPEG, PNG, TIFF) pass untouched.
 */
export function isoBoxProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length < 2 || bytes[0] !== 0 || bytes[1] !== 0) return undefined;
  if (bytes.length < BOX_HEADER) return "it is too short to hold any box: the file is cut short";
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // exifr skips the first box (ftyp) by its 32-bit size alone, then looks for "meta".
  let offset = view.getUint32(0);
  if (offset < BOX_HEADER) return `its first box claims ${offset} bytes, less than a box header: the file is damaged`;
  for (;;) {
    if (offset + BOX_HEADER > bytes.length) return `its boxes end at byte ${offset} before any metadata box: the file is cut short or damaged`;
    let size = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    let header = BOX_HEADER;
    if (size === 1) {
      if (offset + LARGE_BOX_HEADER > bytes.length) return `its box at byte ${offset} is cut short`;
      size = Number(view.getBigUint64(offset + 8));
      header = LARGE_BOX_HEADER;
    }
    if (size === 0) return `its box "${printable(type)}" at byte ${offset} claims size 0 before any metadata box: the file is damaged`;
    if (size < header) return `its box at byte ${offset} claims ${size} bytes, less than its own header: the file is damaged`;
    // Inside "meta", exifr's own walk stops at a size of 0 and at the end of the file.
    if (type === "meta") return undefined;
    offset += size;
  }
}

function printable(type: string): string {
  return type.replace(/[^\x20-\x7e]/g, "?");
}
