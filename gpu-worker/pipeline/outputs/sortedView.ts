// The sorted view: every processed image also under sorted/<category>/<its path>, where the
// category is what it shows at the render threshold (animal, person, vehicle, or empty, and
// combinations such as animal+person), the folders MegaDetector's and AddaxAI's users sort into.

import { categoryLabel, drawnCategories, type CategoryRules } from "../categories.ts";
import type { ImageResult } from "../types.ts";
import { SORTED_FOLDER } from "../zipLayout.ts";

/** Where the image's sorted copy goes; undefined for images that could not be processed. */
export function sortedPath(image: ImageResult, rules: CategoryRules): string | undefined {
  if (image.status !== "ok") return undefined;
  return `${SORTED_FOLDER}/${categoryLabel(drawnCategories(image, rules), rules)}/${image.path}`;
}
