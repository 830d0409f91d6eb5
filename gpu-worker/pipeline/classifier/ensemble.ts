// SpeciesNet's ensemble for one box: the detector's category and confidence, the classifier's
// top labels for the crop, the taxonomy and the geofence in; one label, its score and why it
// was chosen ("prediction_source") out. Rules, thresholds and sources follow SpeciesNet
// ensemble_prediction_combiner.py (combine_predictions_for_single_item, applied to one box
// as its per-box successor does) and geofence_utils.py; the numbers are in constants.ts.

import {
  ENSEMBLE_THRESHOLDS as T,
  GEOFENCE_ROLL_UP_EPSILON,
  GEOFENCE_ROLL_UP_LEVELS,
  ROLL_UP_LEVELS,
  SPECIESNET_LABELS,
  type TaxonomyLevel,
} from "./constants.ts";
import { isFencedOut, type GeofenceLocation, type GeofenceMap } from "./geofence.ts";
import { ancestorAt, type TaxonomyMap } from "./taxonomy.ts";

/** The classifier's top labels for one crop, most likely first, with their scores. */
export interface TopClassifications {
  labels: readonly string[];
  scores: readonly number[];
}

/** What the ensemble chose, and why: "classifier", "detector", "classifier+rollup_to_family", "classifier+geofence+rollup_to_order"... */
export interface EnsemblePrediction {
  label: string;
  score: number;
  source: string;
}

/** SpeciesNet constants.py Detection: what the detector saw, by MegaDetector category. */
export type DetectorClass = "animal" | "human" | "vehicle";

/** SpeciesNet constants.py Detection.from_category: "1" animal, "2" human, "3" vehicle. */
export function detectorClassOf(category: string): DetectorClass | undefined {
  return ({ "1": "animal", "2": "human", "3": "vehicle" } as const)[category as "1" | "2" | "3"];
}

export interface EnsembleContext {
  taxonomy: TaxonomyMap;
  /** Absent: geofencing is off (SpeciesNet's enable_geofence=False). */
  geofence?: GeofenceMap;
  location: GeofenceLocation;
}

/**
 * SpeciesNet roll_up_labels_to_first_matching_level: at each level in turn, sum the scores of
 * the labels under each taxon; the best taxon that the geofence allows wins when its sum is
 * above `threshold`.
 */
export function rollUp(
  top: TopClassifications,
  levels: readonly TaxonomyLevel[],
  threshold: number,
  context: EnsembleContext,
): EnsemblePrediction | undefined {
  for (const level of levels) {
    const sums = new Map<string, number>();
    top.labels.forEach((label, i) => {
      const ancestor = ancestorAt(label, level, context.taxonomy);
      if (ancestor) sums.set(ancestor, (sums.get(ancestor) ?? 0) + top.scores[i]!);
    });
    let best: string | undefined;
    let bestScore = 0;
    for (const [label, score] of sums) {
      if (score > bestScore && !isFencedOut(label, context.location, context.geofence)) {
        best = label;
        bestScore = score;
      }
    }
    if (best !== undefined && bestScore > threshold) return { label: best, score: bestScore, source: `classifier+rollup_to_${level}` };
  }
  return undefined;
}

/**
 * SpeciesNet geofence_animal_classification: the top label when the geofence allows it,
 * else the first family, order, class or kingdom (allowed there) whose summed score reaches
 * the top score.
 */
export function geofenceTopLabel(top: TopClassifications, context: EnsembleContext): EnsemblePrediction {
  const label = top.labels[0]!;
  const score = top.scores[0]!;
  if (!isFencedOut(label, context.location, context.geofence)) return { label, score, source: "classifier" };
  const rolled = rollUp(top, GEOFENCE_ROLL_UP_LEVELS, score - GEOFENCE_ROLL_UP_EPSILON, context);
  if (rolled) return { ...rolled, source: `classifier+geofence+${rolled.source.slice("classifier+".length)}` };
  return { label: SPECIESNET_LABELS.unknown, score, source: "classifier+geofence+rollup_failed" };
}

/** SpeciesNet's rules for one box, in its order (#1a ... #5b). */
export function ensembleBox(
  top: TopClassifications,
  detection: { detectorClass: DetectorClass | undefined; conf: number },
  context: EnsembleContext,
): EnsemblePrediction {
  const topLabel = top.labels[0] ?? SPECIESNET_LABELS.unknown;
  const topScore = top.scores[0] ?? 0;
  const { detectorClass, conf } = detection;
  const { human, vehicle, blank, animal, unknown } = SPECIESNET_LABELS;

  if (detectorClass === "human") {
    if (conf > T.humanDetectionHigh) return { label: human, score: conf, source: "detector" };
    if (conf > T.detectionMid && (topLabel === human || topLabel === vehicle) && topScore > T.humanClassification) {
      return { label: human, score: topScore, source: "classifier" };
    }
  }
  if (detectorClass === "vehicle") {
    if (conf > T.detectionMid && topLabel === human && topScore > T.humanClassification) {
      return { label: human, score: topScore, source: "classifier" };
    }
    if (conf > T.vehicleDetectionHigh) return { label: vehicle, score: conf, source: "detector" };
    if (conf > T.detectionMid && topLabel === vehicle && topScore > T.vehicleClassification) {
      return { label: vehicle, score: topScore, source: "classifier" };
    }
  }
  if (conf < T.blankDetectionMax && topLabel === blank && topScore > T.blankClassification) {
    return { label: blank, score: topScore, source: "classifier" };
  }
  if (topLabel === blank && topScore > T.blankClassificationExtraHigh) return { label: blank, score: topScore, source: "classifier" };
  if (topLabel !== blank && topLabel !== human && topLabel !== vehicle) {
    if (topScore > T.animalClassificationExtraHigh) return geofenceTopLabel(top, context);
    if (topScore > T.animalClassificationHigh && detectorClass === "animal" && conf > T.detectionMid) {
      return geofenceTopLabel(top, context);
    }
  }
  const rolled = rollUp(top, ROLL_UP_LEVELS, T.rollUp, context);
  if (rolled) return rolled;
  if (detectorClass === "animal" && conf > T.animalDetectionMid) return { label: animal, score: conf, source: "detector" };
  return { label: unknown, score: topScore, source: "classifier" };
}
