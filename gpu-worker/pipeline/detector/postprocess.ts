// From raw network output to MegaDetector detections: decode the layout, filter by
// confidence, per-class NMS, map back through the letterbox, round, normalise, truncate.
import {
  CONF_DIGITS,
  COORD_DIGITS,
  MAX_BOXES_INTO_NMS,
  MAX_DETECTIONS_PER_IMAGE,
  NMS_IOU_THRESHOLD,
} from "./constants.ts";
import { mapBoxToSource, roundHalfEven, type LetterboxGeometry, type PixelBox } from "./letterbox.ts";
import type { Detection } from "../types.ts";

/** YOLOv5: [B, N, 5+C] with objectness. YOLOv8/9/11: [B, 4+C, N], no objectness. */
export type OutputLayout = "yolov5" | "yolov8";

/** A box in network-input pixels before NMS. */
export interface Candidate {
  box: PixelBox;
  conf: number;
  classIndex: number;
}

/**
 * Tell the two layouts apart by shape. With C known, YOLOv5's last axis is 5+C and YOLOv8's
 * middle axis is 4+C; without it, the prediction axis is the long one.
 */
export function inferOutputLayout(dims: readonly number[], classCount?: number): OutputLayout {
  if (dims.length !== 3) throw new Error(`detector output has shape [${dims.join(", ")}]; expected 3 axes`);
  const [, middle, last] = dims as [number, number, number];
  if (classCount !== undefined) {
    if (last === 5 + classCount) return "yolov5";
    if (middle === 4 + classCount) return "yolov8";
  }
  return last < middle ? "yolov5" : "yolov8";
}

/** Candidates of one image of the batch whose confidence is strictly above `threshold` (as YOLOv5's NMS filters). */
export function decodeCandidates(
  output: Float32Array,
  dims: readonly number[],
  layout: OutputLayout,
  imageIndex: number,
  threshold: number,
): Candidate[] {
  const [, middle, last] = dims as [number, number, number];
  const candidates: Candidate[] = [];
  const imageOffset = imageIndex * middle * last;
  if (layout === "yolov5") {
    const classCount = last - 5;
    for (let row = 0; row < middle; row++) {
      const at = imageOffset + row * last;
      const objectness = output[at + 4]!;
      if (!(objectness > threshold)) continue;
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < classCount; c++) {
        const score = output[at + 5 + c]! * objectness;
        if (score > bestScore) [best, bestScore] = [c, score];
      }
      if (bestScore > threshold) candidates.push({ box: centreToCorners(output, at, 1), conf: bestScore, classIndex: best });
    }
  } else {
    const classCount = middle - 4;
    for (let column = 0; column < last; column++) {
      const at = imageOffset + column;
      let best = 0;
      let bestScore = -Infinity;
      for (let c = 0; c < classCount; c++) {
        const score = output[at + (4 + c) * last]!;
        if (score > bestScore) [best, bestScore] = [c, score];
      }
      if (bestScore > threshold) candidates.push({ box: centreToCorners(output, at, last), conf: bestScore, classIndex: best });
    }
  }
  return candidates;
}

function centreToCorners(output: Float32Array, at: number, step: number): PixelBox {
  const cx = output[at]!;
  const cy = output[at + step]!;
  const halfW = output[at + 2 * step]! / 2;
  const halfH = output[at + 3 * step]! / 2;
  return [cx - halfW, cy - halfH, cx + halfW, cy + halfH];
}

function intersectionOverUnion(a: PixelBox, b: PixelBox): number {
  const width = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const height = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (width <= 0 || height <= 0) return 0;
  const intersection = width * height;
  const areaA = (a[2] - a[0]) * (a[3] - a[1]);
  const areaB = (b[2] - b[0]) * (b[3] - b[1]);
  return intersection / (areaA + areaB - intersection);
}

/** Greedy NMS per class (boxes of different classes never suppress each other), most confident first. */
export function nonMaxSuppression(
  candidates: Candidate[],
  iouThreshold = NMS_IOU_THRESHOLD,
  maxDetections = MAX_DETECTIONS_PER_IMAGE,
): Candidate[] {
  const sorted = [...candidates].sort((a, b) => b.conf - a.conf).slice(0, MAX_BOXES_INTO_NMS);
  const kept: Candidate[] = [];
  for (const candidate of sorted) {
    if (kept.length >= maxDetections) break;
    const suppressed = kept.some(
      (k) => k.classIndex === candidate.classIndex && intersectionOverUnion(k.box, candidate.box) > iouThreshold,
    );
    if (!suppressed) kept.push(candidate);
  }
  return kept;
}

/** MD ct_utils.truncate_float: drop digits, never round up. */
export function truncate(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.floor(value * factor) / factor;
}

/**
 * Map kept boxes back to the image as displayed, as MD does: scale_coords, .round(), then
 * xyxy -> normalised centre form in float32 (torch) -> [x_min, y_min, w, h] -> truncate.
 */
export function toDetections(kept: Candidate[], geometry: LetterboxGeometry): Detection[] {
  const f = Math.fround;
  const width = geometry.sourceWidth;
  const height = geometry.sourceHeight;
  return kept.map(({ box, conf, classIndex }) => {
    const [x1, y1, x2, y2] = mapBoxToSource(box, geometry).map(roundHalfEven) as PixelBox;
    const cx = f(f(f(x1 + x2) / 2) / width);
    const cy = f(f(f(y1 + y2) / 2) / height);
    const w = f(f(x2 - x1) / width);
    const h = f(f(y2 - y1) / height);
    const bbox = [cx - w / 2, cy - h / 2, w, h].map((v) => Math.max(0, truncate(v, COORD_DIGITS)));
    return {
      category: String(classIndex + 1),
      conf: truncate(f(conf), CONF_DIGITS),
      bbox: bbox as Detection["bbox"],
    };
  });
}
