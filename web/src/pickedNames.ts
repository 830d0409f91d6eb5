// The names picked files travel under, decided in the page and shown before the upload:
//
// - Every pick (a folder, some files, a drop) is placed beside what is already listed. A folder
//   or file whose name is taken gets one of its own, "SDcard01 (2)", "IMG_0001 (2).JPG": two SD
//   cards both holding DCIM/100RECNX/IMG_0001.JPG just work. Picking the same folder again is
//   not a second card: it keeps its name and its files are not listed twice.
// - Files upload under these paths, folder names first. DESIGN.md "Paths in the results": when
//   the list is exactly one folder, the results' paths are relative to it (DCIM/100RECNX/…, not
//   SDcard01/DCIM/…), and the page shows them so; with several folders, files or zips, each
//   keeps its own name first. The worker applies that rule to what arrived
//   (gpu-worker/worker/s3Inputs.ts), so the page shows it but does not apply it to the upload.

/** A file as the list knows it: `path` is its folder's name then its path inside, or its own name. */
export interface NamedFile {
  path: string;
  size: number;
  lastModified: number;
}

export interface Placed {
  /** The incoming files' paths, in their order, with roots renamed where needed. */
  paths: string[];
  /** Each root that had to take another name. */
  renamed: { from: string; to: string }[];
}

/** Highest "(n)" tried before giving up on finding a free name (never reached by people). */
const MAX_COPY_NUMBER = 10_000;

/** The first path component: a folder's name, or a loose file's own name. */
export function rootOf(path: string): string {
  const slash = path.indexOf("/");
  return slash === -1 ? path : path.slice(0, slash);
}

/** Names that would land on one file on Windows or macOS (case-insensitive) count as the same. */
function sameNameKey(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

/** "SDcard01" → "SDcard01 (2)"; "IMG_0001.JPG" → "IMG_0001 (2).JPG". */
function numbered(root: string, isFolder: boolean, n: number): string {
  const dot = isFolder ? -1 : root.lastIndexOf(".");
  return dot > 0 ? `${root.slice(0, dot)} (${n})${root.slice(dot)}` : `${root} (${n})`;
}

interface Root {
  isFolder: boolean;
  /** Path inside the root (or "" for a loose file) → its size and date. */
  files: Map<string, { size: number; lastModified: number }>;
}

function inside(path: string): string {
  const slash = path.indexOf("/");
  return slash === -1 ? "" : path.slice(slash + 1).normalize("NFC");
}

/**
 * True when `incoming` is the listed root picked again: some of its files are the very same
 * (path, size, date) and none of its paths holds a different file. Two cards never look like this.
 */
function isSameSource(listed: Root, incoming: { isFolder: boolean; files: NamedFile[] }): boolean {
  if (listed.isFolder !== incoming.isFolder) return false;
  let same = 0;
  for (const file of incoming.files) {
    const there = listed.files.get(inside(file.path));
    if (!there) continue;
    if (there.size !== file.size || there.lastModified !== file.lastModified) return false;
    same += 1;
  }
  return same > 0;
}

/** Places a new pick beside the files already listed (see the top of this file). */
export function placePick(listed: readonly NamedFile[], incoming: readonly NamedFile[]): Placed {
  const roots = new Map<string, Root>();
  const addToRoot = (root: string, file: NamedFile) => {
    const key = sameNameKey(root);
    let entry = roots.get(key);
    if (!entry) {
      entry = { isFolder: file.path.includes("/"), files: new Map() };
      roots.set(key, entry);
    }
    entry.files.set(inside(file.path), { size: file.size, lastModified: file.lastModified });
  };
  for (const file of listed) addToRoot(rootOf(file.path), file);

  const groups = new Map<string, { isFolder: boolean; files: NamedFile[] }>();
  for (const file of incoming) {
    const root = rootOf(file.path);
    const group = groups.get(root) ?? { isFolder: file.path.includes("/"), files: [] };
    group.files.push(file);
    groups.set(root, group);
  }

  const newRoot = new Map<string, string>();
  const renamed: Placed["renamed"] = [];
  for (const [root, group] of groups) {
    let chosen = root;
    for (let n = 2; n <= MAX_COPY_NUMBER; n += 1) {
      const there = roots.get(sameNameKey(chosen));
      if (!there || isSameSource(there, group)) break;
      chosen = numbered(root, group.isFolder, n);
    }
    if (chosen !== root) renamed.push({ from: root, to: chosen });
    newRoot.set(root, chosen);
    for (const file of group.files) addToRoot(chosen, file);
  }
  const paths = incoming.map((file) => {
    const root = rootOf(file.path);
    return `${newRoot.get(root) ?? root}${file.path.slice(root.length)}`;
  });
  return { paths, renamed };
}

/** The folder every listed path is inside when the list is exactly one folder, else null. */
export function singleFolder(paths: Iterable<string>): string | null {
  let folder: string | null = null;
  for (const path of paths) {
    if (!path.includes("/")) return null;
    const root = rootOf(path);
    if (folder === null) folder = root;
    else if (root !== folder) return null;
  }
  return folder;
}

/** The name a listed file is shown with, as the results will name it: inside the one folder, or as listed. */
export function shownPath(path: string, folder: string | null): string {
  return folder !== null && path.startsWith(`${folder}/`) ? path.slice(folder.length + 1) : path;
}
