// The image pipeline: photos, folders and zips in; detections, metadata, events and one
// results zip out. Needs no GPU and no cloud: the CLI, the queue worker and the bench all
// drive it through what this file offers.
//
// Stages, each a folder that imports only ./types.ts, ./categories.ts, ./zipLayout.ts and stages
// before it:
//   inputs/    folders and zips, safely, typed by content
//   metadata/  EXIF, GPS, camera-trap maker notes
//   detector/  letterbox, ONNX Runtime session, decoding, NMS
//   classifier/ species of animal boxes: SpeciesNet's crop, ensemble, roll-up and geofence
//   events/    bursts per camera
//   outputs/   boxes drawn, results.xlsx, detections.json, Camtrap DP, README.txt, the zip
//   run/       runPipeline, which overlaps the stages and spools results to disk

export { runPipeline } from "./run/runPipeline.ts";
export type { PipelineOptions, PipelineProgress, PipelineSummary, StageName } from "./run/runPipeline.ts";
export { processImages, type ImageSink } from "./run/processImages.ts";
export { collectInputs, planInputs, DEFAULT_INPUT_LIMITS, resolveInputLimits, isOsJunk } from "./inputs/index.ts";
export type { InputLimits, InputPlan } from "./inputs/index.ts";
export { Detector } from "./detector/detector.ts";
export { openModel } from "./detector/openModel.ts";
export type { OpenModel, OpenModelOptions } from "./detector/openModel.ts";
export { EXECUTION_PROVIDERS, type ExecutionProvider } from "./detector/inferenceProtocol.ts";
export { preprocessForDetector } from "./detector/preprocess.ts";
export { DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD, DEFAULT_RENDER_THRESHOLD } from "./detector/constants.ts";
export { DEFAULT_EVENT_GAP_SECONDS } from "./events/events.ts";
export * from "./classifier/index.ts";
export { checkUtcOffset, DEFAULT_UTC_OFFSET } from "./outputs/camtrapDp/timestamps.ts";
export type { CamtrapOptions } from "./outputs/camtrapDp/writePackage.ts";
export type * from "./types.ts";
export type { PathRoot } from "./zipLayout.ts";
