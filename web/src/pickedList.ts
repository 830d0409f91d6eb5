// The files picked for one job, kept compactly so that a 100,000-file SD card costs a few MB and
// every total is a counter, not a walk over the list: parallel arrays (the File, its listed path,
// its state), the bytes of files in flight, the reasons of those that failed, and counts per
// folder. Indices are positions in the list; they change only while the list is edited (remove,
// clear), never while its files upload.
import { notPhotoReason } from "./fileKinds.ts";
import type { PickedFile } from "./pickedFiles.ts";
import { placePick, shownPath, singleFolder } from "./pickedNames.ts";

export type FileState = "ready" | "sending" | "done" | "failed" | "excluded";
const STATES: readonly FileState[] = ["ready", "sending", "done", "failed", "excluded"];
const CODE: Record<FileState, number> = { ready: 0, sending: 1, done: 2, failed: 3, excluded: 4 };

export interface AddResult {
  added: number;
  /** Files whose listed path was already in the list (the same folder or file picked again). */
  alreadyListed: number;
  /** Roots that took another name beside a same-named one already listed (pickedNames.ts). */
  renamed: { from: string; to: string }[];
  /** Listed paths of the added files that are not photos (fileKinds.ts). */
  notPhotos: string[];
}

export interface FolderCount {
  /** The folder as shown ("DCIM/100RECNX"), "" for files at the top. */
  folder: string;
  files: number;
  bytes: number;
  done: number;
  failed: number;
}

/** The folder part of a name: "DCIM/100RECNX/IMG_0001.JPG" → "DCIM/100RECNX". */
export function folderOf(name: string): string {
  const slash = name.lastIndexOf("/");
  return slash === -1 ? "" : name.slice(0, slash);
}

export class PickedList {
  #files: File[] = [];
  /** Each file's path in the list: its folder's name first, or its own name (pickedNames.ts). */
  #paths: string[] = [];
  #states = new Uint8Array(0);
  /** Bytes sent so far of the files in flight. */
  #inFlight = new Map<number, number>();
  /** Why a file failed or is left out, for those files only. */
  #reasons = new Map<number, string>();
  #bytes = 0;
  #counts = [0, 0, 0, 0, 0];
  #stateBytes = [0, 0, 0, 0, 0];
  #inFlightBytes = 0;
  /** Derived from the paths; dropped whenever the list changes. */
  #folder: string | null | undefined;
  #folders: Map<string, FolderCount> | null = null;
  #notPhotoCount: number | null = null;
  /** Bumped on every change a view may draw (state, progress, edits). */
  version = 0;
  /** Bumped whenever a file fails, stops failing, or the list is edited. */
  failuresVersion = 0;

  get size(): number {
    return this.#files.length;
  }
  get bytes(): number {
    return this.#bytes;
  }
  count(state: FileState): number {
    return this.#counts[CODE[state]]!;
  }
  /** Bytes of the files in a state. */
  bytesIn(state: FileState): number {
    return this.#stateBytes[CODE[state]]!;
  }
  /** Bytes of files done plus the bytes sent so far of files in flight. */
  get sentBytes(): number {
    return this.#stateBytes[CODE.done]! + this.#inFlightBytes;
  }

  file(index: number): File {
    return this.#files[index]!;
  }
  path(index: number): string {
    return this.#paths[index]!;
  }
  state(index: number): FileState {
    return STATES[this.#states[index]!]!;
  }
  reason(index: number): string | undefined {
    return this.#reasons.get(index);
  }
  sent(index: number): number {
    return this.#states[index] === CODE.done ? this.#files[index]!.size : (this.#inFlight.get(index) ?? 0);
  }

  /** The folder every file is in when the list is exactly one folder, else null (pickedNames.ts). */
  folder(): string | null {
    if (this.#folder === undefined) this.#folder = singleFolder(this.#paths);
    return this.#folder;
  }

  /** The name a file is uploaded under: its listed path, in Unicode NFC as the server keeps it. */
  uploadName(index: number): string {
    return this.#paths[index]!.normalize("NFC");
  }

  /** The name a file is shown with, as the results will name it (pickedNames.ts shownPath). */
  shownName(index: number): string {
    return shownPath(this.#paths[index]!, this.folder());
  }

  /** Why the file will not be read as a photo, or null (fileKinds.ts). */
  notPhoto(index: number): string | null {
    const file = this.#files[index]!;
    return notPhotoReason(this.#paths[index]!, file.type, file.size);
  }

  /** How many files are not photos; worked out once per edit of the list. */
  notPhotoCount(): number {
    this.#notPhotoCount ??= this.notPhotos().length;
    return this.#notPhotoCount;
  }

  /** Indices of the files not photos; a walk over the list, for the moments a person asks. */
  notPhotos(): number[] {
    const found: number[] = [];
    for (let index = 0; index < this.#files.length; index += 1) if (this.notPhoto(index) !== null) found.push(index);
    return found;
  }

  /** Indices in a state, in list order. */
  indicesIn(state: FileState, limit = Infinity): number[] {
    const code = CODE[state];
    const found: number[] = [];
    for (let index = 0; index < this.#states.length && found.length < limit; index += 1) if (this.#states[index] === code) found.push(index);
    return found;
  }

  /** Counts per folder of the shown names, in the order folders first appear. */
  folders(): FolderCount[] {
    if (!this.#folders) {
      const folders = new Map<string, FolderCount>();
      for (let index = 0; index < this.#files.length; index += 1) {
        const folder = folderOf(this.shownName(index));
        let entry = folders.get(folder);
        if (!entry) {
          entry = { folder, files: 0, bytes: 0, done: 0, failed: 0 };
          folders.set(folder, entry);
        }
        entry.files += 1;
        entry.bytes += this.#files[index]!.size;
        if (this.#states[index] === CODE.done) entry.done += 1;
        if (this.#states[index] === CODE.failed) entry.failed += 1;
      }
      this.#folders = folders;
    }
    return [...this.#folders.values()];
  }

  /**
   * Adds a pick beside what is listed, in path order (a folder's files come in whatever order
   * the disk keeps them): same-named folders get names of their own, files listed already are
   * not listed twice.
   */
  add(pick: readonly PickedFile[]): AddResult {
    const pathOf = ({ file, relativePath }: PickedFile) => relativePath || file.name;
    const picked = [...pick].sort((a, b) => (pathOf(a) < pathOf(b) ? -1 : pathOf(a) > pathOf(b) ? 1 : 0));
    const listed = this.#files.map((file, index) => ({ path: this.#paths[index]!, size: file.size, lastModified: file.lastModified }));
    const incoming = picked.map(({ file, relativePath }) => ({ path: relativePath || file.name, size: file.size, lastModified: file.lastModified }));
    const placed = placePick(listed, incoming);
    const known = new Set(this.#paths);
    const start = this.#files.length;
    const notPhotos: string[] = [];
    picked.forEach(({ file }, at) => {
      const path = placed.paths[at]!;
      if (known.has(path)) return;
      known.add(path);
      this.#files.push(file);
      this.#paths.push(path);
      this.#bytes += file.size;
      this.#stateBytes[CODE.ready]! += file.size;
      if (notPhotoReason(path, file.type, file.size) !== null) notPhotos.push(path);
    });
    const added = this.#files.length - start;
    this.#grow();
    this.#counts[CODE.ready]! += added;
    this.#changed();
    return { added, alreadyListed: picked.length - added, renamed: placed.renamed, notPhotos };
  }

  /** Removes files while the list is edited; the others move up. */
  remove(indices: Iterable<number>): void {
    const gone = new Set(indices);
    if (gone.size === 0) return;
    const keep = (_: unknown, index: number) => !gone.has(index);
    const files = this.#files.filter(keep);
    const paths = this.#paths.filter(keep);
    const states = this.#states.filter(keep);
    const reasons = new Map<number, string>();
    let to = 0;
    for (let from = 0; from < this.#files.length; from += 1) {
      if (gone.has(from)) continue;
      const reason = this.#reasons.get(from);
      if (reason !== undefined) reasons.set(to, reason);
      to += 1;
    }
    this.#files = files;
    this.#paths = paths;
    this.#states = states;
    this.#reasons = reasons;
    this.#inFlight.clear();
    this.#recount();
  }

  clear(): void {
    this.#files = [];
    this.#paths = [];
    this.#states = new Uint8Array(0);
    this.#inFlight.clear();
    this.#reasons.clear();
    this.#recount();
  }

  /** Every file ready again, nothing sent, no reasons: the list as picked (after a cancel). */
  resetStates(): void {
    this.#states.fill(CODE.ready);
    this.#inFlight.clear();
    this.#reasons.clear();
    this.#recount();
  }

  setState(index: number, state: FileState, reason?: string): void {
    const before = this.#states[index]!;
    const after = CODE[state];
    const size = this.#files[index]!.size;
    if (before === CODE.sending) {
      this.#inFlightBytes -= this.#inFlight.get(index) ?? 0;
      this.#inFlight.delete(index);
    }
    if (after === CODE.sending) this.#inFlight.set(index, 0);
    this.#counts[before]! -= 1;
    this.#counts[after]! += 1;
    this.#stateBytes[before]! -= size;
    this.#stateBytes[after]! += size;
    this.#states[index] = after;
    if (reason === undefined) this.#reasons.delete(index);
    else this.#reasons.set(index, reason);
    if (before === CODE.failed || after === CODE.failed) this.failuresVersion += 1;
    if (this.#folders && before !== after) {
      const entry = this.#folders.get(folderOf(this.shownName(index)));
      if (entry) {
        if (before === CODE.done) entry.done -= 1;
        if (before === CODE.failed) entry.failed -= 1;
        if (after === CODE.done) entry.done += 1;
        if (after === CODE.failed) entry.failed += 1;
      }
    }
    this.version += 1;
  }

  /** Bytes sent so far of a file in flight. */
  setSent(index: number, bytes: number): void {
    if (this.#states[index] !== CODE.sending) return;
    const clamped = Math.min(bytes, this.#files[index]!.size);
    this.#inFlightBytes += clamped - (this.#inFlight.get(index) ?? 0);
    this.#inFlight.set(index, clamped);
    this.version += 1;
  }

  #grow(): void {
    if (this.#states.length === this.#files.length) return;
    const states = new Uint8Array(this.#files.length);
    states.set(this.#states.subarray(0, Math.min(this.#states.length, states.length)));
    this.#states = states;
  }

  #recount(): void {
    this.#counts = [0, 0, 0, 0, 0];
    this.#stateBytes = [0, 0, 0, 0, 0];
    this.#bytes = 0;
    this.#inFlightBytes = 0;
    this.#states.forEach((code, index) => {
      const size = this.#files[index]!.size;
      this.#counts[code]! += 1;
      this.#stateBytes[code]! += size;
      this.#bytes += size;
    });
    this.#changed();
  }

  /** The paths changed: what is derived from them is worked out again when next asked. */
  #changed(): void {
    this.#folder = undefined;
    this.#folders = null;
    this.#notPhotoCount = null;
    this.version += 1;
    this.failuresVersion += 1;
  }
}
