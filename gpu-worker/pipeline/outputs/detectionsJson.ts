// detections.json in the MegaDetector batch output format
// (https://lila.science/megadetector-output-format, MD megadetector-output-format.md and
// run_detector_batch.py write_results_to_file), written as a stream so that a job of
// 100,000 images never holds the whole document in memory.

import { once } from "node:events";
import { finished } from "node:stream/promises";
import { COORD_DIGITS, CONF_DIGITS } from "../detector/constants.ts";
import type { Detection, ImageResult, RunInfo } from "../types.ts";

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
  let pending = '{"images":[';
  let first = true;
  for await (const image of images) {
    pending += (first ? "\n" : ",\n") + imageJson(image);
    first = false;
    if (pending.length >= WRITE_CHUNK_CHARS) {
      await writeRespectingBackpressure(out, pending, outDone);
      pending = "";
    }
  }
  pending += `\n],\n"detection_categories":${JSON.stringify(run.categories)},\n"info":${JSON.stringify(infoFor(run))}\n}\n`;
  await writeRespectingBackpressure(out, pending, outDone);
  out.end();
  await outDone;
}

/** One entry of "images", as MD writes it. */
export function imageJson(image: ImageResult): string {
  const file = JSON.stringify(image.path.replaceAll("\\", "/"));
  if (image.status === "failed") {
    // MD writes a failure string and null detections (never an empty list) for a failed image.
    return `{"file":${file},"failure":${JSON.stringify(MD_FAILURE_IMAGE_ACCESS)},"detections":null}`;
  }
  const detections = [...image.detections].sort((a, b) => b.conf - a.conf).map(detectionJson);
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
    },
  };
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

function detectionJson(detection: Detection): string {
  const bbox = detection.bbox.map(pythonFloat).join(",");
  return `{"category":${JSON.stringify(detection.category)},"conf":${pythonFloat(detection.conf)},"bbox":[${bbox}]}`;
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
