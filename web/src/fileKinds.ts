// Which picked files are not photos, told by name and type as they are picked, so nobody waits
// for a job to learn that a PDF was in the folder. The worker has the last word (it reads each
// file's first bytes, gpu-worker/pipeline/inputs/sniffType.ts) and lists every file it could not read,
// with the reason, in results.xlsx; these are the same kinds, guessed early.

/** What the worker decodes (sniffType's image formats), by the extensions cameras and tools write. */
const PHOTO_EXTENSIONS = new Set(["jpg", "jpeg", "jpe", "jfif", "png", "tif", "tiff", "webp", "gif", "heic", "heif", "avif"]);
/** Zips are unpacked by the worker; their contents are checked there. */
const ZIP_EXTENSIONS = new Set(["zip"]);
const ZIP_TYPES = new Set(["application/zip", "application/x-zip-compressed"]);

/** The kinds people most often have beside their photos, in the words results.xlsx uses. */
const KNOWN_OTHERS: Record<string, string> = {
  pdf: "a PDF document",
  txt: "a text file",
  csv: "a text file",
  log: "a text file",
  mp4: "a video",
  mov: "a video",
  avi: "a video",
  mts: "a video",
  bmp: "a BMP image, which is not supported (convert it to JPEG)",
  dng: "a camera RAW file (export JPEGs from it)",
  cr2: "a camera RAW file (export JPEGs from it)",
  cr3: "a camera RAW file (export JPEGs from it)",
  nef: "a camera RAW file (export JPEGs from it)",
  arw: "a camera RAW file (export JPEGs from it)",
};

function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : "";
}

/**
 * Why the file will not be read as a photo ("an empty file", "a PDF document"…), or null for a
 * photo or a zip. `type` is the browser's MIME type ("" when it does not know).
 */
export function notPhotoReason(name: string, type: string, size: number): string | null {
  if (size === 0) return "an empty file (0 bytes)";
  const extension = extensionOf(name);
  if (PHOTO_EXTENSIONS.has(extension) || ZIP_EXTENSIONS.has(extension)) return null;
  const known = KNOWN_OTHERS[extension];
  if (known) return known;
  // No telling extension: trust a photo or zip type the browser knows.
  if (extension === "" && (ZIP_TYPES.has(type) || (type.startsWith("image/") && type !== "image/bmp" && type !== "image/svg+xml"))) return null;
  return extension ? `not a photo or zip (.${extension})` : "not a photo or zip (no file type)";
}
