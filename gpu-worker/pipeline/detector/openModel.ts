// One way to go from what a user named as the model (a manifest id or an .onnx path) to an
// open Detector, for the CLI and the queue worker alike: resolve it, download a manifest
// model's missing weights when asked to, open it with the manifest's hints.

import { basename } from "node:path";
import { fetchModelWithProgress } from "../../../models/fetchProgress.ts";
import { findModel, getManifest } from "../../../models/manifest.ts";
import { resolveModelArgument, type ResolvedModel } from "../../../models/resolveModel.ts";
import { Detector } from "./detector.ts";
import type { ExecutionProvider } from "./inferenceProtocol.ts";

/** An open detector and what the reports say about it. */
export interface OpenModel {
  detector: Detector;
  /** Model file name for detections.json's info.detector (e.g. "md_v5a.0.0.onnx"). */
  fileName: string;
  /** Manifest id, when the model is a known one. */
  id?: string;
  /** The model's typical render threshold, when known. */
  typicalThreshold?: number;
}

export interface OpenModelOptions {
  /** A manifest id or a path to an .onnx file; empty means the manifest's default. */
  model: string | undefined;
  provider: ExecutionProvider;
  /** Images per inference call; absent: sized to the provider, model and GPU memory (batchSize.ts). */
  batchSize?: number | undefined;
  /** Download a manifest model's weights once when they are missing (default false). */
  fetchMissing?: boolean;
  log?: (line: string) => void;
}

/** Opens the model or throws an error whose message says what to do (which command to run). */
export async function openModel(options: OpenModelOptions): Promise<OpenModel> {
  const log = options.log ?? ((line: string) => console.error(line));
  const resolved = await resolveOrFetch(options, log);
  const entry = resolved.entry;
  const detector = await Detector.open({
    modelPath: resolved.path,
    provider: options.provider,
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    hints: entry ? { inputSize: entry.inputSize, stride: entry.stride, layout: entry.outputLayout, classNames: entry.classNames } : {},
  });
  log(
    `Model ${basename(resolved.path)} on ${detector.provider.toUpperCase()}${detector.providerNote ? ` (${detector.providerNote})` : ""}; ` +
      `input ${detector.info.spec.size} px, ` +
      `batch ${detector.maxBatch}${detector.batchReason ? ` (${detector.batchReason})` : ""}`,
  );
  return {
    detector,
    fileName: entry?.fileName ?? basename(resolved.path),
    ...(entry ? { id: entry.id, typicalThreshold: entry.typicalDetectionThreshold } : {}),
  };
}

async function resolveOrFetch(options: OpenModelOptions, log: (line: string) => void): Promise<ResolvedModel> {
  try {
    return resolveModelArgument(options.model);
  } catch (error) {
    const entry = findModel(options.model?.trim() || getManifest().default);
    if (!entry || options.fetchMissing !== true) throw error;
    log(`The weights for ${entry.id} are not here yet; downloading them once (${entry.url}).`);
    await fetchModelWithProgress(entry);
    return resolveModelArgument(options.model);
  }
}
