// Counts over a whole job (and per folder) that the workbook's Summary sheet and README.txt
// report. Small maps only: memory grows with the number of folders, not of images.

import { categoryIds, folderOf, isDrawn } from "../categories.ts";
import type { ImageResult, RunInfo } from "../types.ts";

export interface ResultCounts {
  images: number;
  ok: number;
  failed: number;
  /** Category id -> images with at least one detection of it at or above the render threshold. */
  imagesWith: Record<string, number>;
  /** Processed images with no detection at or above the render threshold. */
  empty: number;
  /** Category id -> detections at or above the render threshold (drawn and counted). */
  drawnDetections: Record<string, number>;
  /** Every detection above the output threshold (what detections.json holds). */
  allDetections: number;
}

export interface ResultTotals extends ResultCounts {
  /** Folder (see folderOf) -> its counts. */
  folders: Map<string, ResultCounts>;
}

/** Category id -> detections at or above the render threshold, every known category present. */
export function drawnCountsByCategory(image: ImageResult, run: RunInfo): Record<string, number> {
  const counts = zeroPerCategory(run);
  for (const detection of image.detections) {
    if (isDrawn(detection, run)) counts[detection.category] = (counts[detection.category] ?? 0) + 1;
  }
  return counts;
}

export function createTotals(run: RunInfo): ResultTotals {
  return { ...createCounts(run), folders: new Map() };
}

/** Adds one image to the job totals and to its folder's. */
export function tallyImage(totals: ResultTotals, image: ImageResult, run: RunInfo): void {
  const folder = folderOf(image.path);
  let folderCounts = totals.folders.get(folder);
  if (!folderCounts) {
    folderCounts = createCounts(run);
    totals.folders.set(folder, folderCounts);
  }
  const drawn = drawnCountsByCategory(image, run);
  addImage(totals, image, drawn);
  addImage(folderCounts, image, drawn);
}

function addImage(counts: ResultCounts, image: ImageResult, drawn: Record<string, number>): void {
  counts.images += 1;
  if (image.status === "failed") {
    counts.failed += 1;
    return;
  }
  counts.ok += 1;
  counts.allDetections += image.detections.length;
  let anyDrawn = false;
  for (const [category, n] of Object.entries(drawn)) {
    if (n === 0) continue;
    anyDrawn = true;
    counts.imagesWith[category] = (counts.imagesWith[category] ?? 0) + 1;
    counts.drawnDetections[category] = (counts.drawnDetections[category] ?? 0) + n;
  }
  if (!anyDrawn) counts.empty += 1;
}

function createCounts(run: RunInfo): ResultCounts {
  return {
    images: 0,
    ok: 0,
    failed: 0,
    imagesWith: zeroPerCategory(run),
    empty: 0,
    drawnDetections: zeroPerCategory(run),
    allDetections: 0,
  };
}

function zeroPerCategory(run: RunInfo): Record<string, number> {
  return Object.fromEntries(categoryIds(run).map((id) => [id, 0]));
}
