// Turns a relative path that someone else chose (a zip entry name, a browser upload name, a
// file found in a folder) into a key that is safe to use as an S3 key, a path in the results
// zip and a row in the workbook. Pure: no file system, no side effects.

/** Longest key in UTF-8 bytes: S3 keys stop at 1024 bytes and ours carry a "jobs/<id>/input/" prefix. */
export const MAX_SAFE_PATH_BYTES = 900;

/** Longest single folder or file name in UTF-8 bytes: NAME_MAX on common file systems. */
export const MAX_SAFE_SEGMENT_BYTES = 255;

export type SafePathResult = { ok: true; path: string } | { ok: false; problem: string };

// C0 controls, DEL and C1 controls: invisible, and some (NUL, newline) break tools and logs.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
const DRIVE_LETTER = /^[a-zA-Z]:/;

/**
 * Normalises `raw` into a relative key with forward slashes, or says why it cannot be one.
 *
 * - Backslashes count as folder separators (Windows tools write them), so `a\b.jpg` is `a/b.jpg`
 *   and `..\x` is caught as going up a folder.
 * - Empty segments and `.` segments are dropped (`a//./b` is `a/b`).
 * - Unicode is normalised to NFC, so a name typed on a Mac and on Windows gives the same key.
 * - Refused: `..` segments, absolute paths (`/x`, `\\server\x`), drive letters (`C:x`), control
 *   characters, nothing left after normalising, and keys or names that are too long.
 *
 * `problem` completes the sentence "the path …", e.g. `goes up a folder with ".."`.
 */
export function toSafeRelativePath(raw: string): SafePathResult {
  const text = raw.normalize("NFC");
  if (CONTROL_CHARACTERS.test(text)) return { ok: false, problem: "contains control characters" };
  const slashed = text.replaceAll("\\", "/");
  if (slashed.startsWith("/")) return { ok: false, problem: 'is absolute (starts with "/")' };
  if (DRIVE_LETTER.test(slashed)) return { ok: false, problem: `starts with a drive letter ("${slashed.slice(0, 2)}")` };

  const segments = slashed.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (segments.includes("..")) return { ok: false, problem: 'goes up a folder with ".."' };
  if (segments.length === 0) return { ok: false, problem: "is empty" };
  if (segments.some((segment) => Buffer.byteLength(segment) > MAX_SAFE_SEGMENT_BYTES)) {
    return { ok: false, problem: `has a name longer than ${MAX_SAFE_SEGMENT_BYTES} bytes` };
  }
  const path = segments.join("/");
  if (Buffer.byteLength(path) > MAX_SAFE_PATH_BYTES) {
    return { ok: false, problem: `is longer than ${MAX_SAFE_PATH_BYTES} bytes` };
  }
  return { ok: true, path };
}

/** The safe key for `raw`, or null when there is none (see toSafeRelativePath for the rules). */
export function safeRelativePath(raw: string): string | null {
  const result = toSafeRelativePath(raw);
  return result.ok ? result.path : null;
}
