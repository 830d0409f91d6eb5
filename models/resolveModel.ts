// Turns what a user typed for "model" (a manifest id, a path to an .onnx file, or nothing)
// into a file on disk, with an error that says what to run when it is not there.

import { existsSync, statSync } from "node:fs";
import { basename, isAbsolute, resolve } from "node:path";
import { defaultModelsDir, modelPath } from "./fetch.ts";
import { findModel, getManifest } from "./manifest.ts";
import type { Manifest, ManifestEntry } from "./manifest.ts";

export interface ResolvedModel {
  path: string;
  /** The manifest entry, when the model is a known one (by id, or by its file name). */
  entry?: ManifestEntry;
}

export class ModelResolutionError extends Error {
  override name = "ModelResolutionError";
}

export function resolveModelArgument(
  arg: string | undefined,
  dir?: string,
  manifest: Manifest = getManifest(),
): ResolvedModel {
  const wanted = arg?.trim() || manifest.default;
  if (looksLikePath(wanted)) return resolveModelFile(wanted, manifest);

  const entry = findModel(wanted, manifest);
  if (!entry) {
    throw new ModelResolutionError(
      `Unknown model "${wanted}". Known models: ${manifest.models.map((known) => known.id).join(", ")}. ` +
        `To use another detector, pass the path to its .onnx file instead.`,
    );
  }
  const path = modelPath(entry, dir ?? defaultModelsDir());
  if (!isFile(path)) {
    const dirFlag = dir === undefined ? "" : ` --dir ${quoteForShell(dir)}`;
    throw new ModelResolutionError(
      `The weights for ${entry.id} are not on this machine (looked for ${path}). ` +
        `Download them with:\n  npm run models:fetch -- ${entry.id}${dirFlag}\n` +
        `or pass the path to an .onnx file you already have.`,
    );
  }
  return { path, entry };
}

/** Ids never contain a slash and never end in .onnx; anything that does is meant as a file. */
function looksLikePath(arg: string): boolean {
  return /[/\\]/.test(arg) || isAbsolute(arg) || arg.toLowerCase().endsWith(".onnx") || isFile(arg);
}

function resolveModelFile(arg: string, manifest: Manifest): ResolvedModel {
  const path = resolve(arg);
  if (!existsSync(path)) {
    throw new ModelResolutionError(`Model file not found: ${path}. Check the path, or give a model id such as ${manifest.default}.`);
  }
  if (!isFile(path)) {
    throw new ModelResolutionError(`${path} is a folder; give the path to an .onnx file inside it.`);
  }
  if (!path.toLowerCase().endsWith(".onnx")) {
    throw new ModelResolutionError(`${path} is not an .onnx file. Trapline runs ONNX exports of MegaDetector.`);
  }
  // A manifest file placed by hand keeps its thresholds and layout.
  const name = basename(path).toLowerCase();
  const entry = manifest.models.find((known) => known.fileName.toLowerCase() === name);
  return entry ? { path, entry } : { path };
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function quoteForShell(text: string): string {
  return /^[\w./:-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
