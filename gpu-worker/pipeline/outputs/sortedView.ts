// The sorted view: every processed image also under sorted/<category>/<its path>, where the
// category is what it shows at the render threshold (animal, person, vehicle, or empty, and
// combinations such as animal+person), the folders MegaDetector's and AddaxAI's users sort into.
// Where species were classified, the animals' species add a level: sorted/animal/<species>/…
// (AddaxAI's "by species" folders), so one tree serves both ways of looking.

import { categoryLabel, drawnCategories, isDrawn, type CategoryRules } from "../categories.ts";
import { describeLabel } from "../classifier/taxonomy.ts";
import type { ImageResult } from "../types.ts";
import { SORTED_FOLDER } from "../zipLayout.ts";

/** Most species named in one folder name; a photo with more goes under "several species". */
const MAX_SPECIES_IN_NAME = 3;

/** Where the image's sorted copy goes; undefined for images that could not be processed. */
export function sortedPath(image: ImageResult, rules: CategoryRules): string | undefined {
  if (image.status !== "ok") return undefined;
  const category = categoryLabel(drawnCategories(image, rules), rules);
  const species = speciesFolder(image, rules);
  return species ? `${SORTED_FOLDER}/${category}/${species}/${image.path}` : `${SORTED_FOLDER}/${category}/${image.path}`;
}

/** The drawn boxes' species as one folder name ("impala+leopard"), or undefined when none was classified. */
function speciesFolder(image: ImageResult, rules: CategoryRules): string | undefined {
  const names = new Set<string>();
  for (const detection of image.detections) {
    if (!detection.species || !isDrawn(detection, rules)) continue;
    const { commonName, scientificName } = describeLabel(detection.species.label);
    const name = (commonName || scientificName || "").trim();
    // A species name is data from a labels file: never a path separator or a name Windows refuses.
    if (name) names.add(name.replace(/[\\/:*?"<>|\u0000-\u001f]/g, "_").replace(/^\.+/, "_"));
  }
  if (names.size === 0) return undefined;
  if (names.size > MAX_SPECIES_IN_NAME) return "several species";
  return [...names].sort().join("+");
}
