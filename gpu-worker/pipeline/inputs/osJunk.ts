// Files that operating systems leave in folders and zips without the user asking. They are the
// only inputs skipped without a row, because listing them as "not an image" would only be
// noise; every other file, hidden or not, is processed or gets a row saying why not (README.md,
// "The command-line tool"). Hidden files are not junk as such: a photo in ".cam2/" is a photo.

/** Names (any case) that are junk wherever they appear, as a file or a folder. */
const JUNK_NAMES = new Set([
  ".ds_store", // macOS Finder view settings
  ".spotlight-v100", // macOS search index
  ".fseventsd", // macOS file-system event log
  ".trashes", // macOS trash on removable drives
  ".temporaryitems", // macOS scratch on network and removable drives
  ".apdisk", // macOS network-disk settings
  "__macosx", // macOS zip tool's resource forks
  "thumbs.db", // Windows thumbnail cache
  "ehthumbs.db", // Windows Media Center thumbnail cache
  "desktop.ini", // Windows folder settings
  "$recycle.bin", // Windows recycle bin on removable drives
  "system volume information", // Windows indexer and restore data on every NTFS/FAT drive
]);

function isJunkSegment(segment: string): boolean {
  const lower = segment.toLowerCase();
  // "._IMG_0001.JPG": AppleDouble twins macOS writes beside every file on non-Mac drives and in
  // zips; ".Trash-1000": the Linux desktop's trash on removable drives.
  return JUNK_NAMES.has(lower) || lower.startsWith("._") || /^\.trash-\d+$/.test(lower);
}

/** True when any segment of `relativePath` is OS junk (see JUNK_NAMES). */
export function isOsJunk(relativePath: string): boolean {
  return relativePath.split("/").some(isJunkSegment);
}
