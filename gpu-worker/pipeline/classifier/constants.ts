// Every number that shapes species classification lives here, with where it comes from.
// "SpeciesNet" is google/cameratrapai (speciesnet/); "MD" is agentmorris/MegaDetector, whose
// detection/run_md_and_speciesnet.py runs SpeciesNet on MegaDetector's boxes as we do.

/** SpeciesNet classifier.py SpeciesNetClassifier.IMG_SIZE: crops are resized to 480x480. */
export const SPECIESNET_INPUT_SIZE = 480;

/**
 * MD run_md_and_speciesnet.py DEFAULT_DETECTION_CONFIDENCE_THRESHOLD_FOR_CLASSIFICATION:
 * animal boxes at or above this confidence are classified (the script keeps conf >= threshold).
 */
export const DEFAULT_CLASSIFICATION_THRESHOLD = 0.1;

/** MD run_md_and_speciesnet.py DEFAULT_CLASSIFIER_BATCH_SIZE: crops per inference call. */
export const DEFAULT_CLASSIFIER_BATCH_SIZE = 8;

/** SpeciesNet classifier.py batch_predict: torch.topk(scores, k=5), most likely first. */
export const TOP_CLASSIFICATIONS = 5;

/**
 * Trapline's own rule, not SpeciesNet's: a crop narrower or shorter than this many pixels of
 * the decoded photo is not classified (stretched to 480 px it holds nothing a classifier can
 * use, and a 0-pixel crop cannot be resized at all). The box keeps its detector category.
 */
export const MIN_CROP_SIDE_PX = 8;

/**
 * Trapline's own bound, not SpeciesNet's: with a classifier, each photo is decoded once as
 * displayed and kept (next to the detector's letterbox) until its batch is classified, shrunk
 * to at most this many pixels. 16 MP is the native size of most camera traps (SpeciesNet crops
 * from the full photo; above this a crop loses some resolution before its resize to 480 px)
 * and costs 48 MB per photo held, so the prefetch window of about three detector batches
 * holds at most 3 x batch x 48 MB of them.
 */
export const CLASSIFIER_SOURCE_MAX_PIXELS = 16_000_000;

/**
 * torchvision convert_image_dtype(float -> uint8), which SpeciesNet classifier.py preprocess
 * calls after the resize: uint8 = trunc(value * (255 + 1 - 0.001)). The classifier then
 * divides by 255 again (batch_predict: img.arr / 255).
 */
export const FLOAT_TO_UINT8_SCALE = 255 + 1 - 1e-3;

/** SpeciesNet constants.py Classification: the labels the ensemble treats specially. */
export const SPECIESNET_LABELS = {
  blank: "f1856211-cfb7-4a5b-9158-c0f72fd09ee6;;;;;;blank",
  animal: "1f689929-883d-4dae-958c-3d57ab5b6c16;;;;;;animal",
  human: "990ae9dd-7a59-4344-afcb-1b7b21368000;mammalia;primates;hominidae;homo;sapiens;human",
  vehicle: "e2895ed5-780b-48f6-8a11-9e27cb594511;;;;;;vehicle",
  unknown:
    "f2efdae9-efb8-48fb-8a91-eccf79ab4ffb;no cv result;no cv result;no cv result;no cv result;no cv result;no cv result",
} as const;

/**
 * SpeciesNet ensemble_prediction_combiner.py combine_predictions_for_single_item: the
 * thresholds of its rules, by the rule numbers its comments give. Every comparison there is
 * strict (">" or "<").
 */
export const ENSEMBLE_THRESHOLDS = {
  /** #1a: a human box above this is "human" from the detector alone. */
  humanDetectionHigh: 0.7,
  /** #1b, #2a, #2c: a human or vehicle box above this lets a confident classifier decide. */
  detectionMid: 0.2,
  /** #1b, #2a: classifier says human (or vehicle, for #1b) above this. */
  humanClassification: 0.5,
  /** #2b: a vehicle box above this is "vehicle" from the detector alone. */
  vehicleDetectionHigh: 0.7,
  /** #2c: classifier says vehicle above this. */
  vehicleClassification: 0.4,
  /** #3a: a box below this with the classifier saying blank above `blankClassification`. */
  blankDetectionMax: 0.2,
  blankClassification: 0.5,
  /** #3b: the classifier says blank above this, whatever the detector says. */
  blankClassificationExtraHigh: 0.99,
  /** #4a: an animal label above this is taken (through the geofence). */
  animalClassificationExtraHigh: 0.8,
  /** #4b: an animal label above this, with an animal box above `detectionMid`. */
  animalClassificationHigh: 0.65,
  /** #5a: roll-up succeeds at the first level whose summed score is above this. */
  rollUp: 0.65,
  /** #5b: otherwise an animal box above this is "animal" from the detector. */
  animalDetectionMid: 0.5,
} as const;

export type TaxonomyLevel = "species" | "genus" | "family" | "order" | "class" | "kingdom";

/** SpeciesNet ensemble_prediction_combiner.py, rule #5a: the levels tried, in order. */
export const ROLL_UP_LEVELS: readonly TaxonomyLevel[] = ["genus", "family", "order", "class", "kingdom"];

/** SpeciesNet geofence_utils.py geofence_animal_classification: levels tried when the top label is fenced out. */
export const GEOFENCE_ROLL_UP_LEVELS: readonly TaxonomyLevel[] = ["family", "order", "class", "kingdom"];

/**
 * SpeciesNet geofence_utils.py geofence_animal_classification: a fenced-out label rolls up to
 * the first level whose summed score passes the top score minus this ("force the rollup to
 * pass the top classification score").
 */
export const GEOFENCE_ROLL_UP_EPSILON = 1e-10;

/**
 * SpeciesNet geolocation.py ADMIN1_REGION_SUPPORTED_COUNTRIES: first-level regions (US
 * states, two-letter codes) are used for the USA only.
 */
export const ADMIN1_COUNTRY = "USA";
