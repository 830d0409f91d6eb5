// What the pipeline needs to know about a detector, from the model itself first (input
// shape, Ultralytics metadata), then from the manifest, then MegaDetector's defaults.
import { MD_V5_INPUT_SIZE, MD_V5_STRIDE, MEGADETECTOR_CATEGORIES, P5_STRIDE } from "./constants.ts";
import type { InputSpec } from "./letterbox.ts";
import type { OutputLayout } from "./postprocess.ts";

export type Dimension = number | string;

export interface ModelHints {
  inputSize?: number;
  stride?: number;
  layout?: OutputLayout;
  classNames?: string[];
}

export interface ModelInfo {
  spec: InputSpec;
  /** True when the model takes any batch size. */
  dynamicBatch: boolean;
  /** Known layout (manifest), else inferred from the first output's shape. */
  layout?: OutputLayout;
  classNames: string[];
}

const isFixed = (dimension: Dimension | undefined): dimension is number => typeof dimension === "number" && dimension > 0;

/** Parses Ultralytics' `names` metadata, a Python dict literal: "{0: 'animal', 1: 'person'}". */
export function parseClassNames(text: string | undefined): string[] | undefined {
  if (!text) return undefined;
  const names: string[] = [];
  for (const match of text.matchAll(/(\d+)\s*:\s*(['"])(.*?)\2/g)) names[Number(match[1])] = match[3]!;
  return names.length > 0 && !names.includes(undefined as unknown as string) ? names : undefined;
}

/** Parses Ultralytics' `imgsz` metadata: "[1280, 1280]" or "640". */
function parseImageSize(text: string | undefined): number | undefined {
  const sizes = text?.match(/\d+/g)?.map(Number);
  return sizes && sizes.length > 0 ? Math.max(...sizes) : undefined;
}

export function describeModel(
  inputShape: readonly Dimension[],
  metadataProps: Record<string, string>,
  hints: ModelHints = {},
): ModelInfo {
  if (inputShape.length !== 4) {
    throw new Error(`the model's input has shape [${inputShape.join(", ")}]; a detector takes [batch, 3, height, width]`);
  }
  const [batch, channels, height, width] = inputShape;
  if (isFixed(channels) && channels !== 3) throw new Error(`the model takes ${channels} channels; a detector takes 3 (RGB)`);
  const classNames =
    hints.classNames ?? parseClassNames(metadataProps.names) ?? Object.values(MEGADETECTOR_CATEGORIES);
  const base = { dynamicBatch: !isFixed(batch), classNames, ...(hints.layout ? { layout: hints.layout } : {}) };

  if (isFixed(height) && isFixed(width)) {
    if (height !== width) throw new Error(`the model's fixed input is ${width}x${height}; only square fixed inputs are supported`);
    return { ...base, spec: { size: height, stride: hints.stride ?? P5_STRIDE, fixedSquare: true } };
  }
  const size = hints.inputSize ?? parseImageSize(metadataProps.imgsz) ?? MD_V5_INPUT_SIZE;
  const metadataStride = Number(metadataProps.stride);
  const stride = hints.stride ?? (metadataStride > 0 ? metadataStride : size >= MD_V5_INPUT_SIZE ? MD_V5_STRIDE : P5_STRIDE);
  return { ...base, spec: { size, stride, fixedSquare: false } };
}
