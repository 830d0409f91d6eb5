// The species classifier stage: what the pipeline calls. Open a SpeciesClassifier once per job
// (it checks the model, labels, taxonomy, geofence and the job's country), hand it each batch
// of decoded photos with their detections, and settle each event's species from the results.
//
//   classifier.ts    crops of animal boxes, batched on an ONNX Runtime worker thread
//   crop.ts          SpeciesNet's crop and resize, into NHWC or NCHW tensors
//   ensemble.ts      SpeciesNet's rules per box: human/vehicle/blank, thresholds, roll-up, geofence
//   geofence.ts      SpeciesNet's allow/block lists by country and US state
//   location.ts      the job's country, else the photo's GPS (through a countryOf lookup)
//   taxonomy.ts      labels, their taxa and the taxonomy roll-ups climb
//   eventSpecies.ts  a burst's species settled across frames, with MaxN counts
//   constants.ts     every number, with its source

export { SpeciesClassifier } from "./classifier.ts";
export type { ClassifierOptions, ClassifierPhoto, ClassifiedPhoto } from "./classifier.ts";
export type { RgbImage } from "./crop.ts";
export type { CountryOf, LocationOption } from "./location.ts";
export { checkLocationOption } from "./location.ts";
export { settleEventSpecies } from "./eventSpecies.ts";
export type { EventSpecies, EventSpeciesOptions } from "./eventSpecies.ts";
export { describeLabel } from "./taxonomy.ts";
export type { LabelDescription } from "./taxonomy.ts";
export { DEFAULT_CLASSIFICATION_THRESHOLD, MIN_CROP_SIDE_PX, SPECIESNET_LABELS } from "./constants.ts";
export { openClassifier } from "./openClassifier.ts";
export type { OpenClassifierOptions, OpenedClassifier } from "./openClassifier.ts";
