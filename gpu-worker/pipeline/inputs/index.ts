// Inputs: from the paths a user gives (folders, files, zips) to the pipeline's InputItems.
export { collectInputs, planInputs } from "./collectInputs.ts";
export type { InputPlan } from "./collectInputs.ts";
export { DEFAULT_INPUT_LIMITS, formatBytes, resolveInputLimits } from "./limits.ts";
export type { InputLimits } from "./limits.ts";
export { isOsJunk } from "./osJunk.ts";
export { sniffType } from "./sniffType.ts";
export type { ImageFormat, SniffedType } from "./sniffType.ts";
