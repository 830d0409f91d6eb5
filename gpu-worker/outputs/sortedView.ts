// The sorted view: every processed image also under sorted/<category>/<its path>, where the
// category is what it shows at the render threshold (animal, person, vehicle, or empty, and
// combinations such as animal+person), the folders MegaDetector's and AddaxAI's users sort into.

import type { ImageResult, RunInfo } from "../pipeline/types.ts";

export const SORTED_ROOT = "sorted";
export const EMPTY_CATEGORY = "empty";

/** What sorting needs from the run: known before the run's report is written. */
export type SortRules = Pick<RunInfo, "categories" | "renderThreshold">;

/** Category ids joined in the model's order with "+", or "empty" when there are none. */
export function categoryLabel(ids: Iterable<string>, rules: SortRules): string {
  const present = new Set(ids);
  const names = Object.keys(rules.categories)
    .sort((a, b) => Number(a) - Number(b))
    .filter((id) => present.has(id))
    .map((id) => rules.categories[id] ?? `category ${id}`);
  return names.length > 0 ? names.join("+") : EMPTY_CATEGORY;
}

/** Category ids with at least one box at or above the render threshold (MD keeps conf >= threshold). */
export function drawnCategories(image: ImageResult, rules: SortRules): string[] {
  return [...new Set(image.detections.filter((d) => d.conf >= rules.renderThreshold).map((d) => d.category))];
}

/** Where the image's sorted copy goes; undefined for images that could not be processed. */
export function sortedPath(image: ImageResult, rules: SortRules): string | undefined {
  if (image.status !== "ok") return undefined;
  return `${SORTED_ROOT}/${categoryLabel(drawnCategories(image, rules), rules)}/${image.path}`;
}
