// Files that operating systems leave in folders and zips without the user asking: they are
// skipped silently, because listing them as "not an image" would only be noise.

const JUNK_NAMES = new Set(["thumbs.db", "ehthumbs.db", "desktop.ini", "__macosx"]);

/**
 * True for OS bookkeeping anywhere in a relative path: hidden files and folders (".DS_Store",
 * "._IMG_0001.JPG" AppleDouble twins, ".Trashes"), "__MACOSX/", "Thumbs.db", "desktop.ini".
 */
export function isOsJunk(relativePath: string): boolean {
  return relativePath
    .split("/")
    .some((segment) => segment.startsWith(".") || JUNK_NAMES.has(segment.toLowerCase()));
}
