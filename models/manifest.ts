// The detectors (and species classifiers) Trapline knows by name: where each ONNX file comes
// from, how to check it, and what the detector or classifier needs to run it. The data lives
// in manifest.json; this file validates it once and answers look-ups.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";

const SHA256_HEX = /^[0-9a-f]{64}$/;
const MD5_HEX = /^[0-9a-f]{32}$/;

export const ManifestEntrySchema = z
  .object({
    /** Manifest id, also what MD tools recognise in a file name (e.g. "md_v5a.0.0"). */
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only"),
    name: z.string().min(1),
    description: z.string().min(1),
    /** Where the ONNX file is published. */
    url: z.url({ protocol: /^https?$/ }),
    /** Name of the file on disk; MD's tools read the model version from it, so keep the id in it. */
    fileName: z.string().regex(/^[^/\\]+\.onnx$/, "a plain file name ending in .onnx"),
    /** Lower-case hex sha256 of the file, or null when nobody has published one yet. */
    sha256: z.string().regex(SHA256_HEX, "64 lower-case hex digits").nullable(),
    /** Lower-case hex md5, for hosts (Zenodo) that publish only md5. */
    md5: z.string().regex(MD5_HEX, "32 lower-case hex digits").nullable().default(null),
    sizeBytes: z.number().int().positive().nullable(),
    /** Where the checksums and size come from, so a reader can judge them. */
    checksumSource: z.string().optional(),
    /** Long side of the network input, in pixels. */
    inputSize: z.number().int().positive(),
    /** Largest stride of the network: letterboxed sides are multiples of it. */
    stride: z.number().int().positive(),
    /** True when the ONNX input accepts any height and width (MD's minimal letterbox), false when it is fixed square. */
    dynamicInput: z.boolean(),
    /** "yolov5": output [B, N, 5 + C] with objectness; "yolov8": output [B, 4 + C, N] without. */
    outputLayout: z.enum(["yolov5", "yolov8"]),
    /** Class index i is MD category String(i + 1). */
    classNames: z.array(z.string().min(1)).min(1),
    /** The threshold the model's authors suggest for drawing and counting boxes. */
    typicalDetectionThreshold: z.number().gt(0).lt(1),
    licence: z.string().min(1),
    source: z.string().min(1),
  })
  .refine((entry) => entry.inputSize % entry.stride === 0, {
    message: "inputSize must be a multiple of stride",
    path: ["inputSize"],
  });

const PLAIN_FILE_NAME = /^[^/\\]+$/;

/** A species classifier run on MegaDetector's animal boxes (gpu-worker/pipeline/classifier/). */
export const ClassifierEntrySchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only"),
    name: z.string().min(1),
    description: z.string().min(1),
    /** Where a ready ONNX file is published, or null when none is and it must be exported (`export`). */
    url: z.url({ protocol: /^https?$/ }).nullable(),
    /** How to make the ONNX file from the published weights, when no ONNX file is published. */
    export: z
      .object({
        /** Where the published weights (and the labels, taxonomy and geofence that come with them) are. */
        weights: z.url({ protocol: /^https?$/ }),
        /** The one command that writes the ONNX file from them. */
        command: z.string().min(1),
        /** Who documented this conversion, so a reader can judge it. */
        source: z.string().min(1),
      })
      .optional(),
    /** Name of the ONNX file in the weights folder; the labels, taxonomy and geofence sit beside it as `<name>.labels.txt` etc. */
    fileName: z.string().regex(/^[^/\\]+\.onnx$/, "a plain file name ending in .onnx"),
    sha256: z.string().regex(SHA256_HEX, "64 lower-case hex digits").nullable(),
    md5: z.string().regex(MD5_HEX, "32 lower-case hex digits").nullable().default(null),
    sizeBytes: z.number().int().positive().nullable(),
    checksumSource: z.string().optional(),
    /** Side of the square input, in pixels. */
    inputSize: z.number().int().positive(),
    /** "nhwc": [batch, height, width, 3] (SpeciesNet's Keras-born exports); "nchw": [batch, 3, height, width]. */
    inputLayout: z.enum(["nhwc", "nchw"]),
    /** "logits": the stage applies softmax, as SpeciesNet does; "probabilities": taken as they are. */
    output: z.enum(["logits", "probabilities"]),
    /** The labels: one per output class, `uuid;class;order;family;genus;species;common name`. */
    labels: z.object({
      count: z.number().int().positive(),
      /** Kept beside the model under this name. */
      file: z.string().regex(PLAIN_FILE_NAME, "a plain file name").endsWith(".labels.txt"),
      /** Which file of the published download it is. */
      from: z.string().min(1),
    }),
    /** SpeciesNet's taxonomy (roll-ups reach every higher taxon in it), beside the model. */
    taxonomy: z.object({ file: z.string().regex(PLAIN_FILE_NAME).endsWith(".taxonomy.txt"), from: z.string().min(1) }).optional(),
    /** SpeciesNet's geofence JSON, beside the model. */
    geofence: z.object({ file: z.string().regex(PLAIN_FILE_NAME).endsWith(".geofence.json"), from: z.string().min(1) }).optional(),
    licence: z.string().min(1),
    source: z.string().min(1),
  })
  .refine((entry) => entry.url !== null || entry.export !== undefined, {
    message: "give either a url to an ONNX file or the export that makes one",
    path: ["url"],
  })
  .refine(
    (entry) => [entry.labels.file, entry.taxonomy?.file, entry.geofence?.file].every(
      (file) => file === undefined || file.startsWith(entry.fileName.replace(/\.onnx$/, ".")),
    ),
    { message: "the labels, taxonomy and geofence files are named after the model file (<model>.labels.txt...)", path: ["labels"] },
  );

export const ManifestSchema = z
  .object({
    default: z.string(),
    models: z.array(ManifestEntrySchema).min(1),
    classifiers: z.array(ClassifierEntrySchema).default([]),
  })
  .superRefine((manifest, ctx) => {
    const seenIds = new Set<string>();
    const seenFiles = new Set<string>();
    manifest.models.forEach((entry, index) => {
      // Ids are matched case-insensitively, and files may sit on case-insensitive disks.
      const id = entry.id.toLowerCase();
      const file = entry.fileName.toLowerCase();
      if (seenIds.has(id)) ctx.addIssue({ code: "custom", message: `duplicate id "${entry.id}"`, path: ["models", index, "id"] });
      if (seenFiles.has(file)) ctx.addIssue({ code: "custom", message: `duplicate fileName "${entry.fileName}"`, path: ["models", index, "fileName"] });
      seenIds.add(id);
      seenFiles.add(file);
    });
    manifest.classifiers.forEach((entry, index) => {
      const id = entry.id.toLowerCase();
      const file = entry.fileName.toLowerCase();
      if (seenIds.has(id)) ctx.addIssue({ code: "custom", message: `duplicate id "${entry.id}"`, path: ["classifiers", index, "id"] });
      if (seenFiles.has(file)) ctx.addIssue({ code: "custom", message: `duplicate fileName "${entry.fileName}"`, path: ["classifiers", index, "fileName"] });
      seenIds.add(id);
      seenFiles.add(file);
    });
    if (!manifest.models.some((entry) => entry.id === manifest.default)) {
      ctx.addIssue({ code: "custom", message: `default "${manifest.default}" is not one of the models`, path: ["default"] });
    }
  });

export type ManifestEntry = z.infer<typeof ManifestEntrySchema>;
export type ClassifierEntry = z.infer<typeof ClassifierEntrySchema>;
export type Manifest = z.infer<typeof ManifestSchema>;

export const MANIFEST_PATH = join(import.meta.dirname, "manifest.json");

/** Validates manifest data, with an error that names the file and each problem. */
export function parseManifest(data: unknown, origin = "the model manifest"): Manifest {
  const result = ManifestSchema.safeParse(data);
  if (!result.success) {
    throw new Error(`${origin} is not valid:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

export function loadManifest(path = MANIFEST_PATH): Manifest {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new Error(`Cannot read the model manifest ${path}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`The model manifest ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseManifest(data, path);
}

let bundledManifest: Manifest | undefined;

/** The manifest shipped in this folder, read and validated on first use. */
export function getManifest(): Manifest {
  bundledManifest ??= loadManifest();
  return bundledManifest;
}

/** The entry with this id (case-insensitive), or undefined. */
export function findModel(id: string, manifest: Manifest = getManifest()): ManifestEntry | undefined {
  const wanted = id.trim().toLowerCase();
  return manifest.models.find((entry) => entry.id.toLowerCase() === wanted);
}

export function defaultModel(manifest: Manifest = getManifest()): ManifestEntry {
  const entry = findModel(manifest.default, manifest);
  if (!entry) throw new Error(`The manifest's default model "${manifest.default}" is not listed`);
  return entry;
}

export function knownModelIds(manifest: Manifest = getManifest()): string[] {
  return manifest.models.map((entry) => entry.id);
}

/** The species classifier with this id (case-insensitive), or undefined. */
export function findClassifier(id: string, manifest: Manifest = getManifest()): ClassifierEntry | undefined {
  const wanted = id.trim().toLowerCase();
  return manifest.classifiers.find((entry) => entry.id.toLowerCase() === wanted);
}
