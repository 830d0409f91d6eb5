// detections.json in the MegaDetector batch output format
// (https://lila.science/megadetector-output-format, MD megadetector-output-format.md and
// run_detector_batch.py write_results_to_file), written as a stream so that a job of
// 100,000 images never holds the whole document in memory.

import { once } from "node:events";
import { finished } from "node:stream/promises";
import { TOP_CLASSIFICATIONS } from "../classifier/constants.ts";
import { describeLabel } from "../classifier/taxonomy.ts";
import { COORD_DIGITS, CONF_DIGITS } from "../detector/constants.ts";
import { truncate } from "../detector/postprocess.ts";
import type { ClassifierRunInfo, Detection, ImageResult, RunInfo } from "../types.ts";

/** MD run_detector_batch.py current_format_version: a string, required so since 1.6. */
export const MD_FORMAT_VERSION = "1.6";

/** MD run_detector.py FAILURE_IMAGE_OPEN: MD's tools know this failure text. */
export const MD_FAILURE_IMAGE_ACCESS = "image access failure";

/** Text is gathered into chunks of about this size before each write. */
const WRITE_CHUNK_CHARS = 64 * 1024;

/**
 * Writes detections.json to `out` and ends it. `images` must already be sorted by path (MD
 * sorts by file name). Waits for `out` to drain, so something must be reading it meanwhile.
 */
export async function writeDetectionsJson(
  images: AsyncIterable<ImageResult> | Iterable<ImageResult>,
  run: RunInfo,
  out: NodeJS.WritableStream,
): Promise<void> {
  // Settles when `out` finishes or fails; a failure must stop the writes, not hang on "drain".
  const outDone = finished(out);
  outDone.catch(() => {});
  const classes = run.classifier ? new ClassificationCategories(run.classifier) : undefined;
  let pending = '{"images":[';
  let first = true;
  for await (const image of images) {
    pending += (first ? "\n" : ",\n") + imageJson(image, classes);
    first = false;
    if (pending.length >= WRITE_CHUNK_CHARS) {
      await writeRespectingBackpressure(out, pending, outDone);
      pending = "";
    }
  }
  pending += `\n],\n"detection_categories":${JSON.stringify(run.categories)},\n`;
  if (classes) {
    pending += `"classification_categories":${JSON.stringify(classes.names())},\n`;
    pending += `"classification_category_descriptions":${JSON.stringify(classes.descriptions())},\n`;
  }
  pending += `"info":${JSON.stringify(infoFor(run))}\n}\n`;
  await writeRespectingBackpressure(out, pending, outDone);
  out.end();
  await outDone;
}

/** One entry of "images", as MD writes it. */
export function imageJson(image: ImageResult, classes?: ClassificationCategories): string {
  const file = JSON.stringify(image.path.replaceAll("\\", "/"));
  if (image.status === "failed") {
    // MD writes a failure string and null detections (never an empty list) for a failed image.
    return `{"file":${file},"failure":${JSON.stringify(MD_FAILURE_IMAGE_ACCESS)},"detections":null}`;
  }
  const detections = [...image.detections].sort((a, b) => b.conf - a.conf).map((detection) => detectionJson(detection, classes));
  return `{"file":${file},"detections":[${detections.join(",")}]}`;
}

/** The "info" object: MD's fields, plus what Trapline ran under custom_metadata (MD's place for extras). */
export function infoFor(run: RunInfo): Record<string, unknown> {
  return {
    detection_completion_time: mdTimestamp(run.completedAt),
    format_version: MD_FORMAT_VERSION,
    detector: run.detector,
    detector_metadata: {
      megadetector_version: megadetectorVersion(run.detector),
      // Timelapse and AddaxAI take this as their default threshold.
      typical_detection_threshold: run.renderThreshold,
      conf_digits: CONF_DIGITS,
      coord_digits: COORD_DIGITS,
    },
    custom_metadata: {
      generator: "Trapline",
      model_id: run.modelId ?? null,
      execution_provider: run.provider,
      output_confidence_threshold: run.outputThreshold,
      rendering_confidence_threshold: run.renderThreshold,
      detection_start_time: mdTimestamp(run.startedAt),
      ...(run.classifierAbsent ? { species_not_classified: run.classifierAbsent } : {}),
    },
    ...(run.classifier ? { classifier: run.classifier.model, classifier_metadata: classifierMetadata(run.classifier) } : {}),
  };
}

/** What ran to name species, in MD's snake_case (MD's run_md_and_speciesnet writes info.classifier too). */
function classifierMetadata(classifier: ClassifierRunInfo): Record<string, unknown> {
  return {
    model_id: classifier.modelId ?? null,
    labels_source: classifier.labelsSource,
    label_count: classifier.labels.length,
    input_size: [classifier.inputHeight, classifier.inputWidth],
    input_layout: classifier.inputLayout,
    classification_threshold: classifier.threshold,
    min_crop_side_px: classifier.minCropSide,
    geofence: classifier.geofence ?? null,
    taxonomy: classifier.taxonomy ?? null,
    // The job's country when it gave one; else each photo's GPS placed it, or nothing did.
    country: classifier.country ?? null,
    admin1_region: classifier.admin1Region ?? null,
    execution_provider: classifier.provider,
    // classifications[0] is SpeciesNet's ensemble choice for the box (rules, roll-up, geofence);
    // the rest are the classifier's own top classes scoring no higher, most likely first.
    classifications: "ensemble prediction first, then the classifier's top classes at or below its score",
  };
}

/**
 * Category ids for classifications: "0".."N-1" are the classifier's output classes (the ids
 * Detection.classifications already holds); a label only the ensemble chose (a higher taxon
 * from a roll-up, "animal", "no cv result") gets the next id when first seen. Bounded by the
 * labels plus the taxonomy's labels.
 */
export class ClassificationCategories {
  private readonly labels: string[];
  private readonly ids = new Map<string, string>();

  constructor(classifier: ClassifierRunInfo) {
    this.labels = [...classifier.labels];
    this.labels.forEach((label, i) => {
      if (!this.ids.has(label)) this.ids.set(label, String(i));
    });
  }

  idOf(label: string): string {
    let id = this.ids.get(label);
    if (id === undefined) {
      id = String(this.labels.length);
      this.labels.push(label);
      this.ids.set(label, id);
    }
    return id;
  }

  /** id -> common name, as Timelapse and AddaxAI show it. */
  names(): Record<string, string> {
    return Object.fromEntries(this.labels.map((label, i) => [String(i), describeLabel(label).commonName || label]));
  }

  /** id -> the full SpeciesNet label (uuid;class;order;family;genus;species;common name). */
  descriptions(): Record<string, string> {
    return Object.fromEntries(this.labels.map((label, i) => [String(i), label]));
  }
}

/**
 * A box's classifications: SpeciesNet's ensemble choice first, then the classifier's own top
 * classes whose score is not above it (the list stays in descending order, as MD's format
 * requires), at most TOP_CLASSIFICATIONS.
 */
export function classificationsOf(detection: Detection, classes: ClassificationCategories): [string, number][] {
  const raw = detection.classifications ?? [];
  if (!detection.species) return raw.slice(0, TOP_CLASSIFICATIONS);
  const chosen = classes.idOf(detection.species.label);
  const score = detection.species.score;
  const rest = raw.filter(([id, conf]) => id !== chosen && conf <= score);
  return [[chosen, score] as [string, number], ...rest].slice(0, TOP_CLASSIFICATIONS);
}

/**
 * MD writes datetime.now().strftime('%Y-%m-%d %H:%M:%S'), the server's local time; a server's
 * zone means nothing to the user, so Trapline writes the same layout in UTC.
 */
export function mdTimestamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}

/** "md_v5a.0.0.onnx" -> "v5a.0.0", "md_v1000.0.0-redwood.onnx" -> "v1000.0.0-redwood"; else "unknown". */
export function megadetectorVersion(detector: string): string {
  return /v\d+[a-z]?\.\d+\.\d+(?:-[a-z]+)?/i.exec(detector)?.[0] ?? "unknown";
}

function detectionJson(detection: Detection, classes?: ClassificationCategories): string {
  const bbox = detection.bbox.map(pythonFloat).join(",");
  const classifications = classes && (detection.species || detection.classifications) ? classificationsOf(detection, classes) : [];
  const classified =
    classifications.length > 0
      ? // Scores truncated to CONF_DIGITS like the detector's (order kept: truncation never swaps two).
        `,"classifications":[${classifications.map(([id, conf]) => `[${JSON.stringify(id)},${pythonFloat(truncate(conf, CONF_DIGITS))}]`).join(",")}]`
      : "";
  return `{"category":${JSON.stringify(detection.category)},"conf":${pythonFloat(detection.conf)},"bbox":[${bbox}]${classified}}`;
}

/**
 * A number as Python's json writes a float: 1 becomes "1.0". MD's validator requires conf to
 * parse back as a Python float, which "1" would not.
 */
function pythonFloat(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`detections.json: a detection holds ${n}, which JSON cannot store`);
  return Number.isInteger(n) ? n.toFixed(1) : String(n);
}

async function writeRespectingBackpressure(
  out: NodeJS.WritableStream,
  text: string,
  outDone: Promise<void>,
): Promise<void> {
  if (out.write(text)) return;
  const stopWaiting = new AbortController();
  try {
    await Promise.race([once(out, "drain", { signal: stopWaiting.signal }), outDone]);
  } finally {
    stopWaiting.abort();
  }
}
