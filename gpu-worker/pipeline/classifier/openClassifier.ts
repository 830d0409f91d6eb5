// One way from what a user named as the species classifier (a manifest id, an .onnx path, or
// nothing) to an open SpeciesClassifier, for the CLI and the queue worker alike. Named
// explicitly, it must open (any fault is an error before the first photo). Not named, the
// manifest's first classifier is used when its weights are on this machine; otherwise the run
// goes on without species and says why.

import { existsSync, statSync } from "node:fs";
import { basename, isAbsolute, join, resolve } from "node:path";
import { defaultModelsDir } from "../../../models/fetch.ts";
import { findClassifier, getManifest, type ClassifierEntry } from "../../../models/manifest.ts";
import type { ExecutionProvider } from "../detector/inferenceProtocol.ts";
import { SpeciesClassifier } from "./classifier.ts";
import { checkLocationOption, type LocationOption } from "./location.ts";

export interface OpenClassifierOptions {
  /** A manifest classifier id or a path to an .onnx file; undefined: the default when present; false: none. */
  classifier: string | false | undefined;
  provider: ExecutionProvider;
  /** The job's country (ISO 3166-1 alpha-3), and US state. */
  location?: LocationOption;
  /** Animal boxes at or above this confidence are classified (default 0.1). */
  threshold?: number;
  /** Folder of the manifest's weights (default: models/weights or TRAPLINE_MODELS_DIR). */
  modelsDir?: string;
  log?: (line: string) => void;
}

/** Either an open classifier or the reason there is none (for README.txt and the logs). */
export type OpenedClassifier = { classifier: SpeciesClassifier; absent?: undefined } | { classifier?: undefined; absent: string };

function looksLikePath(arg: string): boolean {
  return /[/\\]/.test(arg) || isAbsolute(arg) || arg.toLowerCase().endsWith(".onnx");
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function entryPath(entry: ClassifierEntry, dir: string): string {
  return join(resolve(dir), entry.fileName);
}

/** How to get an entry's weights: its fetch command, or its export when no ONNX file is published. */
export function howToGet(entry: ClassifierEntry, dir: string): string {
  return entry.url !== null
    ? `download them with: npm run models:fetch -- ${entry.id}`
    : `no ONNX file is published; export one (${entry.export?.command ?? "see models/manifest.json"}) and put it with ${entry.labels.file} in ${resolve(dir)}`;
}

export async function openClassifier(options: OpenClassifierOptions): Promise<OpenedClassifier> {
  const log = options.log ?? ((line: string) => console.error(line));
  const dir = options.modelsDir ?? defaultModelsDir();
  if (options.classifier === false) {
    // Still a clear error now for a country that does not exist, rather than a silent no-op.
    checkLocationOption(options.location);
    return { absent: "species classification was turned off (--no-classifier, or CLASSIFIER=none)" };
  }
  const wanted = options.classifier?.trim();
  let modelPath: string;
  let entry: ClassifierEntry | undefined;
  if (wanted && looksLikePath(wanted)) {
    modelPath = resolve(wanted);
    if (!isFile(modelPath)) throw new Error(`classifier file not found: ${modelPath}`);
    entry = getManifest().classifiers.find((known) => known.fileName.toLowerCase() === basename(modelPath).toLowerCase());
  } else if (wanted) {
    entry = findClassifier(wanted);
    if (!entry) {
      const known = getManifest().classifiers.map((c) => c.id).join(", ") || "none";
      throw new Error(`unknown classifier "${wanted}". Known classifiers: ${known}. To use another, give the path to its .onnx file.`);
    }
    modelPath = entryPath(entry, dir);
    if (!isFile(modelPath)) throw new Error(`the weights for ${entry.id} are not on this machine (looked for ${modelPath}): ${howToGet(entry, dir)}`);
  } else {
    entry = getManifest().classifiers[0];
    if (!entry) {
      checkLocationOption(options.location);
      return { absent: "no species classifier is known (models/manifest.json lists none)" };
    }
    modelPath = entryPath(entry, dir);
    if (!existsSync(modelPath)) {
      checkLocationOption(options.location);
      return { absent: `the ${entry.id} weights are not on this machine (${modelPath}); ${howToGet(entry, dir)}` };
    }
  }
  const classifier = await SpeciesClassifier.open({
    modelPath,
    provider: options.provider,
    ...(entry ? { modelId: entry.id, hints: { inputSize: entry.inputSize, layout: entry.inputLayout, output: entry.output } } : {}),
    ...(options.location ? { location: options.location } : {}),
    ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
  });
  const info = classifier.runInfo;
  log(
    `Species classifier ${info.model} on ${info.provider.toUpperCase()}: ${info.labels.length} labels, input ${info.inputWidth} px ${info.inputLayout.toUpperCase()}, ` +
      `boxes at or above ${info.threshold}; ${info.country ? `country ${info.country}` : "country from each photo's GPS"}`,
  );
  return { classifier };
}
