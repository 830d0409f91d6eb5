// Files from a drop, a file picker or a folder picker, each with the path the user sees
// (folders kept, so "cam1/IMG_0001.JPG" and "cam2/IMG_0001.JPG" stay apart).
import { getDroppedFiles } from "@uppy/core/utils";

export interface PickedFile {
  file: File;
  /** Path inside the dropped or chosen folder, without a leading slash; "" for loose files. */
  relativePath: string;
}

/** Operating-system leftovers that are never photos; skipped and counted. */
const SYSTEM_FILES = /(^|\/)(\.DS_Store|Thumbs\.db|desktop\.ini|\._[^/]*|__MACOSX\/.*)$/i;

export interface Picked {
  files: PickedFile[];
  skipped: string[];
}

function sort(files: PickedFile[]): Picked {
  const kept: PickedFile[] = [];
  const skipped: string[] = [];
  for (const picked of files) {
    const path = picked.relativePath || picked.file.name;
    if (SYSTEM_FILES.test(path)) skipped.push(path);
    else kept.push(picked);
  }
  return { files: kept, skipped };
}

export async function filesFromDrop(transfer: DataTransfer): Promise<Picked> {
  const dropped = await getDroppedFiles(transfer);
  return sort(
    dropped.map((file) => {
      const relative = (file as File & { relativePath?: string | null }).relativePath ?? "";
      return { file, relativePath: relative.replace(/^\/+/, "") };
    }),
  );
}

export function filesFromInput(input: HTMLInputElement): Picked {
  return sort(Array.from(input.files ?? [], (file) => ({ file, relativePath: file.webkitRelativePath ?? "" })));
}
