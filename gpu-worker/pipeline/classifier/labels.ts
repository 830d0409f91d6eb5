// A classifier's labels, one per output class in output order, SpeciesNet style
// (`uuid;class;order;family;genus;species;common name`). They come from `<model>.labels.txt`
// beside the model (as SpeciesNet ships `<classifier>.labels.txt`), else from the model's own
// ONNX metadata under the key `labels` (the same lines, newline-separated).

import { readFile, stat } from "node:fs/promises";
import { labelProblem } from "./taxonomy.ts";

/** ONNX metadata_props key that may hold the labels. */
export const LABELS_METADATA_KEY = "labels";

/** Most labels a classifier may have (SpeciesNet has 2,498): a bound on what is read and kept. */
export const MAX_LABELS = 100_000;

/** Largest labels file read (SpeciesNet's is about 260 kB). */
export const MAX_LABELS_FILE_BYTES = 16 * 1024 * 1024;

/** `<model>.labels.txt`: the model's path with ".onnx" replaced. */
export function labelsPathBeside(modelPath: string): string {
  return `${modelPath.replace(/\.onnx$/i, "")}.labels.txt`;
}

/**
 * One label per line, trimmed (as SpeciesNet reads them); a final newline is fine, a blank
 * line inside would shift every later class and is refused. Errors name `origin` and the line.
 */
export function parseLabels(text: string, origin: string): string[] {
  const lines = text.replace(/^\uFEFF/, "").split("\n").map((line) => line.trim());
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length === 0) throw new Error(`${origin} holds no labels`);
  if (lines.length > MAX_LABELS) throw new Error(`${origin} holds ${lines.length} labels, more than the ${MAX_LABELS} allowed`);
  lines.forEach((label, i) => {
    if (label === "") throw new Error(`${origin}, line ${i + 1}: blank line (every line is the label of one output class)`);
    const problem = labelProblem(label);
    if (problem) throw new Error(`${origin}, line ${i + 1}: "${label}" ${problem}`);
  });
  return lines;
}

export interface LoadedLabels {
  labels: string[];
  /** The file they came from, or "ONNX metadata". */
  source: string;
}

/**
 * The labels for a model: `labelsPath` when given (it must be readable), else the file beside
 * the model when there is one, else the model's `labels` metadata.
 */
export async function loadLabels(
  modelPath: string,
  metadataProps: Readonly<Record<string, string>>,
  labelsPath?: string,
): Promise<LoadedLabels> {
  const path = labelsPath ?? labelsPathBeside(modelPath);
  let text: string | undefined;
  try {
    const { size } = await stat(path);
    if (size > MAX_LABELS_FILE_BYTES) throw new Error(`it is ${size} bytes, more than the ${MAX_LABELS_FILE_BYTES} a labels file may be`);
    text = await readFile(path, "utf8");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    if (labelsPath !== undefined || !missing) {
      throw new Error(`cannot read the labels file ${path}: ${(error as Error).message}`);
    }
  }
  if (text !== undefined) return { labels: parseLabels(text, `the labels file ${path}`), source: path };
  const fromMetadata = metadataProps[LABELS_METADATA_KEY];
  if (fromMetadata !== undefined) {
    return { labels: parseLabels(fromMetadata, `the "${LABELS_METADATA_KEY}" metadata of ${modelPath}`), source: "ONNX metadata" };
  }
  throw new Error(
    `the classifier ${modelPath} has no labels: put ${path} beside it (one SpeciesNet label per output class) ` +
      `or store them in its ONNX metadata under "${LABELS_METADATA_KEY}"`,
  );
}
