// The category and threshold rules every stage applies the same way: which detections count
// (are drawn), how categories are named and ordered, and which folder an image belongs to.
// Here, not in a stage, so that events, outputs and the Camtrap DP export share one rule.

import type { Detection, ImageResult, RunInfo } from "./types.ts";

/** How the top-level folder is named in the sheets (a path with no folder part). */
export const TOP_LEVEL_FOLDER = "(top level)";

/** The label of an image with nothing drawn (the sorted view's folder, the Events sheet). */
export const EMPTY_CATEGORY = "empty";

/** What the category rules need from the run: known before the run's report is written. */
export type CategoryRules = Pick<RunInfo, "categories" | "renderThreshold">;

/**
 * MD's postprocessing and rendering keep a detection when conf >= threshold
 * (postprocess_batch_results.py, visualization_utils.py); the output threshold instead is
 * a strict ">" in the detector itself.
 */
export function isDrawn(detection: Detection, rules: CategoryRules): boolean {
  return detection.conf >= rules.renderThreshold;
}

/** The folder part of a result path, or TOP_LEVEL_FOLDER. */
export function folderOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash > 0 ? path.slice(0, slash) : TOP_LEVEL_FOLDER;
}

/** Category ids in the model's order ("1", "2", "3"...). */
export function categoryIds(rules: Pick<RunInfo, "categories">): string[] {
  return Object.keys(rules.categories).sort((a, b) => Number(a) - Number(b));
}

/** Category ids joined in the model's order with "+", or "empty" when there are none. */
export function categoryLabel(ids: Iterable<string>, rules: Pick<RunInfo, "categories">): string {
  const present = new Set(ids);
  const names = categoryIds(rules)
    .filter((id) => present.has(id))
    .map((id) => rules.categories[id] ?? `category ${id}`);
  return names.length > 0 ? names.join("+") : EMPTY_CATEGORY;
}

/** Category ids with at least one drawn box. */
export function drawnCategories(image: ImageResult, rules: CategoryRules): string[] {
  return [...new Set(image.detections.filter((d) => isDrawn(d, rules)).map((d) => d.category))];
}
