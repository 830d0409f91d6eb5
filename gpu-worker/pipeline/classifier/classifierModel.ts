// What the classifier stage needs to know about an ONNX classifier, from the model first
// (input and output shapes, metadata), then from hints (manifest or caller), then SpeciesNet's
// defaults. SpeciesNet's exports take NHWC [batch, 480, 480, 3] (it was trained in Keras);
// exports made through PyTorch tools often take NCHW [batch, 3, 480, 480]: both work.

import { SPECIESNET_INPUT_SIZE } from "./constants.ts";
import type { InputLayout } from "./crop.ts";
import type { Dimension } from "../detector/inferenceThread.ts";

/** "logits": scores go through softmax (SpeciesNet's models); "probabilities": taken as they are. */
export type OutputKind = "logits" | "probabilities";

/** ONNX metadata_props key saying what the output holds: "logits" (default) or "probabilities". */
export const OUTPUT_KIND_METADATA_KEY = "classifier_output";

/** ONNX metadata_props key for the input size of a model whose height and width are symbolic (Ultralytics writes "imgsz"). */
export const INPUT_SIZE_METADATA_KEY = "imgsz";

export interface ClassifierHints {
  inputSize?: number;
  layout?: InputLayout;
  output?: OutputKind;
}

export interface ClassifierModelInfo {
  layout: InputLayout;
  inputWidth: number;
  inputHeight: number;
  /** Batch size the model insists on, when its batch dimension is fixed. */
  fixedBatch?: number;
  /** Number of output classes, when the model's output shape says it. */
  classCount?: number;
  output: OutputKind;
}

const isFixed = (dimension: Dimension | undefined): dimension is number => typeof dimension === "number" && dimension > 0;

export function describeClassifier(
  inputShape: readonly Dimension[],
  outputShape: readonly Dimension[],
  metadataProps: Readonly<Record<string, string>>,
  hints: ClassifierHints = {},
): ClassifierModelInfo {
  const shown = `[${inputShape.join(", ")}]`;
  if (inputShape.length !== 4) throw new Error(`the classifier's input has shape ${shown}; expected [batch, height, width, 3] or [batch, 3, height, width]`);
  const layout = hints.layout ?? (inputShape[3] === 3 ? "nhwc" : inputShape[1] === 3 ? "nchw" : undefined);
  if (!layout) throw new Error(`cannot tell the channel axis of the classifier's input ${shown}: neither axis 1 nor axis 3 is 3 (give the layout in the manifest)`);
  const channels = layout === "nhwc" ? inputShape[3] : inputShape[1];
  if (isFixed(channels) && channels !== 3) throw new Error(`the classifier's input ${shown} has ${channels} channels in ${layout.toUpperCase()}; it needs 3 (RGB)`);
  const [height, width] = layout === "nhwc" ? [inputShape[1], inputShape[2]] : [inputShape[2], inputShape[3]];
  const metadataSize = Number(metadataProps[INPUT_SIZE_METADATA_KEY]?.match(/\d+/)?.[0]);
  const size = hints.inputSize ?? (metadataSize > 0 ? metadataSize : SPECIESNET_INPUT_SIZE);

  const declared = metadataProps[OUTPUT_KIND_METADATA_KEY];
  if (declared !== undefined && declared !== "logits" && declared !== "probabilities") {
    throw new Error(`the classifier's "${OUTPUT_KIND_METADATA_KEY}" metadata is "${declared}"; expected "logits" or "probabilities"`);
  }
  if (outputShape.length > 0 && outputShape.length !== 2) {
    throw new Error(`the classifier's output has shape [${outputShape.join(", ")}]; expected [batch, classes]`);
  }
  const classCount = outputShape[1];
  return {
    layout,
    inputWidth: isFixed(width) ? width : size,
    inputHeight: isFixed(height) ? height : size,
    ...(isFixed(inputShape[0]) ? { fixedBatch: inputShape[0] } : {}),
    ...(isFixed(classCount) ? { classCount } : {}),
    output: hints.output ?? declared ?? "logits",
  };
}
