// The results zip's layout: the names the zip keeps for its own files and folders, what the
// photos' paths start from, and the one rule that hands every photo a path of its own. The
// inputs (which name the photos) and the pipeline (which writes the zip) both use it, so they
// never disagree about a name. DESIGN.md "Paths in the results" has the rule for users.

export const RESULTS_WORKBOOK = "results.xlsx";
export const DETECTIONS_JSON = "detections.json";
export const RESULTS_README = "README.txt";
export const CAMTRAP_DP_FOLDER = "camtrap-dp";
export const SORTED_FOLDER = "sorted";
/** Browsing previews (outputs/preview.ts) and the offline report (outputs/report.ts). */
export const PREVIEWS_ZIP_FOLDER = "previews";
export const RESULTS_REPORT = "report.html";

/**
 * Every top-level name the zip writes itself. A new report adds its name here, and photos
 * that would take it move aside; a zip entry written under any other name can clash.
 */
export const ZIP_OWN_NAMES: readonly string[] = [
  RESULTS_WORKBOOK,
  DETECTIONS_JSON,
  RESULTS_README,
  CAMTRAP_DP_FOLDER,
  SORTED_FOLDER,
  PREVIEWS_ZIP_FOLDER,
  RESULTS_REPORT,
];

const RESERVED = new Set(ZIP_OWN_NAMES.map((name) => name.toLowerCase()));

/**
 * What the photos' paths start from, as the user chose the inputs: one folder (paths relative
 * to it), one zip (paths inside it), one file (its own name), or several (each one's own name
 * first, a zip's without ".zip").
 */
export type PathRoot = { kind: "folder" | "zip" | "file"; name: string } | { kind: "several"; count: number };

/** "IMG_0001.JPG", 2 → "IMG_0001 (2).JPG"; "notes", 3 → "notes (3)"; a folder "DCIM.v2", 2 → "DCIM.v2 (2)". */
export function withCopyNumber(name: string, copy: number, isFile = true): string {
  const dot = isFile ? name.lastIndexOf(".") : -1;
  const cut = dot > 0 ? dot : name.length;
  return `${name.slice(0, cut)} (${copy})${name.slice(cut)}`;
}

/** `name`, else the first of "name (2)", "name (3)"… that is not taken. Ends: each step tries a new name, and only finitely many are taken. */
function firstFree(name: string, isFile: boolean, taken: (candidate: string) => boolean): string {
  let candidate = name;
  for (let copy = 2; taken(candidate); copy += 1) candidate = withCopyNumber(name, copy, isFile);
  return candidate;
}

/**
 * Hands out the photos' paths in the zip, each once. Case is ignored, because results are
 * unzipped on Windows and macOS, where IMG.JPG is img.jpg. A name that is taken gets the first
 * free " (n)": a photo's file name when another photo (or a folder) is there ("IMG_0001 (2).JPG"),
 * a folder's name when a file is there, or when it is one of the zip's own names
 * ("sorted/x.jpg" → "sorted (2)/x.jpg", "README.txt" → "README (2).txt").
 * Claiming a path that is already unique and free again returns it unchanged, so the inputs and
 * the pipeline can both claim. Memory grows with the photos' paths, which the input limits bound.
 */
export class ZipPaths {
  /** Lower-cased paths of the photos handed out. */
  readonly #files = new Set<string>();
  /** Lower-cased paths of the folders above them. */
  readonly #folders = new Set<string>();
  /** Lower-cased names of whole inputs, when several were given (claimInputName). */
  readonly #inputNames = new Set<string>();

  /**
   * The first path component of one of several inputs: its own name, or "name (2)" when an
   * earlier input has it (two cards both called SDcard01) or the zip keeps it for itself.
   */
  claimInputName(name: string, isFile: boolean): string {
    const free = firstFree(name, isFile, (candidate) => RESERVED.has(candidate.toLowerCase()) || this.#inputNames.has(candidate.toLowerCase()));
    this.#inputNames.add(free.toLowerCase());
    return free;
  }

  /** The zip path for a photo at `path` ("a/b/c.jpg", already safe: see core/safePath.ts). */
  claim(path: string): string {
    const parts = path.split("/");
    let parent = "";
    const claimed = parts.map((part, i) => {
      const isFile = i === parts.length - 1;
      const keyOf = (candidate: string) => (parent === "" ? candidate : `${parent}/${candidate}`).toLowerCase();
      const name = firstFree(part, isFile, (candidate) => {
        const key = keyOf(candidate);
        return (parent === "" && RESERVED.has(key)) || this.#files.has(key) || (isFile && this.#folders.has(key));
      });
      parent = keyOf(name);
      (isFile ? this.#files : this.#folders).add(parent);
      return name;
    });
    return claimed.join("/");
  }
}
