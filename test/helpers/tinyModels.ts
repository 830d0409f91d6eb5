// Tiny ONNX "detectors" (and species classifiers, buildTinyClassifier below) that tests build on
// the fly, so the real onnxruntime-node session, letterboxing, output decoding and NMS can be
// checked end to end without MegaDetector's weights. Each model computes a known function of its input, so a test can paint a picture
// and know the exact box the model must report:
//
// - a target pixel is "pure-ish red": R > 0.5, G < 0.5 and B < R (all in 0..1). The last rule
//   makes a BGR-swapped target (blue is now brighter than red) find nothing, so a channel-order
//   bug shows up as a missing detection. Letterbox grey (114/255 ≈ 0.447) is never a target.
// - the box is the axis-aligned extent of the target pixels in input-tensor pixels, YOLO style:
//   x_min = first column with a target pixel, x_max = last column + 1 (likewise y).
// - the confidence is the largest B value among target pixels, so painting the target as
//   (255, 0, round(0.9 * 255)) gives confidence 0.9 (it must stay below 1: B < R).
// - row 0 holds that box and confidence, row 1 the same box at half the confidence (a duplicate
//   that per-class NMS must suppress), row 2 is all zeros. Without a target every value is 0.

import { writeFile } from "node:fs/promises";
import onnxProto from "onnx-proto";
import type { onnx as Onnx } from "onnx-proto";

const { onnx } = onnxProto;

export type TinyModelLayout = "yolov5" | "yolov8";

export interface TinyModelOptions {
  /** "yolov5": output [B, 3, 5 + C] (cx, cy, w, h, objectness, class scores);
   *  "yolov8": output [B, 4 + C, 3] (cx, cy, w, h, class scores), channels first. */
  layout: TinyModelLayout;
  /** Side of the square input the metadata advertises, and of the fixed input shape. Default 64. */
  inputSize?: number;
  /** Batch dimension symbolic ("batch") instead of fixed 1. Default true. */
  dynamicBatch?: boolean;
  /** Height and width symbolic ("height", "width") instead of fixed inputSize. Default false. */
  dynamicSpatial?: boolean;
  /** Class index the target is reported as (0 animal, 1 person, 2 vehicle). Default 0. */
  classIndex?: number;
  /** Stride written to the metadata. Default 64 for yolov5 (MD v5 is a P6 model), 32 for yolov8. */
  stride?: number;
  /** Write Ultralytics-style metadata_props (imgsz, stride, names). Default true. */
  withMetadata?: boolean;
  /**
   * Two targets: row 0 is the box of the target pixels in the left half of the input, row 2
   * (empty otherwise) the box of those in the right half, each with its own confidence; row 1
   * stays the left box's half-confidence duplicate. Default false.
   */
  splitHalves?: boolean;
}

/** Name of the model input, as in MegaDetector and Ultralytics exports. */
export const TINY_MODEL_INPUT_NAME = "images";

/** Output names as the real exports use them: MD v5 says "output", Ultralytics says "output0". */
export const TINY_MODEL_OUTPUT_NAMES: Readonly<Record<TinyModelLayout, string>> = {
  yolov5: "output",
  yolov8: "output0",
};

/** The three MegaDetector classes, in model index order. */
export const TINY_MODEL_CLASS_NAMES = ["animal", "person", "vehicle"] as const;

/** Rows per image in the output: the box, its half-confidence duplicate, and an empty row. */
export const TINY_MODEL_ROWS = 3;

const CLASS_COUNT = TINY_MODEL_CLASS_NAMES.length;

// ONNX 1.12 pairs IR version 8 with opset 17; ReduceMax still takes `axes` as an attribute there.
const IR_VERSION = 8;
const OPSET_VERSION = 17;

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

/** Builds the model and returns its serialised bytes (a complete .onnx file). */
export function buildTinyDetector(options: TinyModelOptions): Uint8Array {
  const inputSize = options.inputSize ?? 64;
  const dynamicBatch = options.dynamicBatch ?? true;
  const dynamicSpatial = options.dynamicSpatial ?? false;
  const classIndex = options.classIndex ?? 0;
  const stride = options.stride ?? (options.layout === "yolov5" ? 64 : 32);
  if (!Number.isInteger(classIndex) || classIndex < 0 || classIndex >= CLASS_COUNT) {
    throw new Error(`classIndex must be 0..${CLASS_COUNT - 1}, got ${classIndex}`);
  }
  if (!Number.isInteger(inputSize) || inputSize < 1) {
    throw new Error(`inputSize must be a positive integer, got ${inputSize}`);
  }

  const graph = new GraphBuilder();
  const output = detectorGraph(graph, options.layout, classIndex, options.splitHalves ?? false);

  const batch = dynamicBatch ? "batch" : 1;
  const height = dynamicSpatial ? "height" : inputSize;
  const width = dynamicSpatial ? "width" : inputSize;
  const rowLength = options.layout === "yolov5" ? 5 + CLASS_COUNT : 4 + CLASS_COUNT;
  const outputShape =
    options.layout === "yolov5" ? [batch, TINY_MODEL_ROWS, rowLength] : [batch, rowLength, TINY_MODEL_ROWS];
  const outputName = TINY_MODEL_OUTPUT_NAMES[options.layout];
  graph.node("Identity", [output], {}, outputName);

  const metadataProps = (options.withMetadata ?? true)
    ? [
        { key: "imgsz", value: `[${inputSize}, ${inputSize}]` },
        { key: "stride", value: String(stride) },
        { key: "names", value: `{${TINY_MODEL_CLASS_NAMES.map((name, i) => `${i}: '${name}'`).join(", ")}}` },
      ]
    : [];

  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET_VERSION }],
    producerName: "trapline-test-tiny-models",
    metadataProps,
    graph: {
      name: `tiny_${options.layout}_detector`,
      node: graph.nodes,
      initializer: graph.initializers,
      input: [floatValueInfo(TINY_MODEL_INPUT_NAME, [batch, 3, height, width])],
      output: [floatValueInfo(outputName, outputShape)],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Builds the model and writes it as an .onnx file at `path`. */
export async function writeTinyDetector(path: string, options: TinyModelOptions): Promise<void> {
  await writeFile(path, buildTinyDetector(options));
}

/** Adds the detector's nodes and returns the name of the finished output tensor. */
function detectorGraph(g: GraphBuilder, layout: TinyModelLayout, classIndex: number, splitHalves: boolean): string {
  const images = TINY_MODEL_INPUT_NAME;
  const channel = (index: number): string => g.node("Gather", [images, g.int64Scalar(index)], { axis: 1 });
  const red = channel(0);
  const green = channel(1);
  const blue = channel(2);

  // mask [B, H, W]: 1 where the pixel is a target, else 0.
  const half = g.floatScalar(0.5);
  const isTarget = g.node("And", [
    g.node("And", [g.node("Greater", [red, half]), g.node("Less", [green, half])]),
    g.node("Less", [blue, red]),
  ]);
  const mask = g.node("Cast", [isTarget], { to: FLOAT });
  const column = (value: string): string => g.node("Unsqueeze", [value, g.int64Vector([1])]); // [B] -> [B, 1]
  const oneHot = g.floatVector(TINY_MODEL_CLASS_NAMES.map((_, i) => (i === classIndex ? 1 : 0)));

  /** One output row for the target pixels of `targets` ([B, H, W]), at `scale` times their confidence. */
  const rowFor = (targets: string, scale?: string): string => {
    const columnHasTarget = g.node("ReduceMax", [targets], { axes: [1], keepdims: 0 }); // [B, W]
    const rowHasTarget = g.node("ReduceMax", [targets], { axes: [2], keepdims: 0 }); // [B, H]
    const found = g.node("ReduceMax", [columnHasTarget], { axes: [1], keepdims: 0 }); // [B]: 1 or 0
    const [xMin, xMax] = targetExtent(g, columnHasTarget, 3);
    const [yMin, yMax] = targetExtent(g, rowHasTarget, 2);
    const two = g.floatScalar(2);
    // An image without a target gets a zero box, not the (W, 0) extent the min trick leaves.
    const box = g.node("Where", [
      g.node("Greater", [column(found), half]),
      g.node("Concat", [
        column(g.node("Div", [g.node("Add", [xMin, xMax]), two])),
        column(g.node("Div", [g.node("Add", [yMin, yMax]), two])),
        column(g.node("Sub", [xMax, xMin])),
        column(g.node("Sub", [yMax, yMin])),
      ], { axis: 1 }),
      g.floatScalar(0),
    ]); // [B, 4]
    const best = column(g.node("ReduceMax", [g.node("Mul", [targets, blue])], { axes: [1, 2], keepdims: 0 })); // [B, 1]
    const conf = scale ? g.node("Mul", [best, scale]) : best;
    return layout === "yolov5"
      ? // objectness = conf, class score 1 for the chosen class (0 when nothing was found)
        g.node("Concat", [box, conf, g.node("Mul", [column(found), oneHot])], { axis: 1 })
      : // no objectness: the chosen class score is the confidence
        g.node("Concat", [box, g.node("Mul", [conf, oneHot])], { axis: 1 });
  };

  let first = mask;
  let third: string | undefined;
  if (splitHalves) {
    // isLeft [W]: 1 for columns left of the middle; the right half is 1 - isLeft.
    const width = g.node("Gather", [g.node("Shape", [images]), g.int64Scalar(3)]);
    const columns = g.node("Cast", [g.node("Range", [g.int64Scalar(0), width, g.int64Scalar(1)])], { to: FLOAT });
    const middle = g.node("Div", [g.node("Cast", [width], { to: FLOAT }), g.floatScalar(2)]);
    const isLeft = g.node("Cast", [g.node("Less", [columns, middle])], { to: FLOAT });
    first = g.node("Mul", [mask, isLeft]);
    third = g.node("Mul", [mask, g.node("Sub", [g.floatScalar(1), isLeft])]);
  }
  const best = rowFor(first);
  const duplicate = rowFor(first, half);
  const empty = third ? rowFor(third) : g.node("Mul", [best, g.floatScalar(0)]);

  // yolov5 stacks rows as [B, N, 5+C]; yolov8 stacks them as columns, [B, 4+C, N].
  const stackAxis = layout === "yolov5" ? 1 : 2;
  const stackable = (row: string): string => g.node("Unsqueeze", [row, g.int64Vector([stackAxis])]);
  return g.node("Concat", [best, duplicate, empty].map(stackable), { axis: stackAxis });
}

/** Name of the tiny classifier's input and output (SpeciesNet's ONNX exports say "images" and "logits" too). */
export const TINY_CLASSIFIER_INPUT_NAME = "images";
export const TINY_CLASSIFIER_OUTPUT_NAME = "logits";

export interface TinyClassifierOptions {
  /** "nhwc": input [B, S, S, 3] as SpeciesNet's Keras-born model; "nchw": [B, 3, S, S]. */
  layout: "nhwc" | "nchw";
  /** Side of the square input. Default 32. */
  inputSize?: number;
  /** Batch dimension symbolic ("batch") instead of fixed 1. Default true. */
  dynamicBatch?: boolean;
  /** Height and width symbolic instead of fixed inputSize. Default false. */
  dynamicSpatial?: boolean;
  /** Output classes. Classes 0, 1, 2 follow the crop's mean red, green, blue; the rest get `restLogit`. Default 3. */
  classCount?: number;
  /** logit of class c < 3 = gain * mean of channel c (0..1). Default 20. */
  gain?: number;
  /** Logit of every class from 3 on. Default 0. */
  restLogit?: number;
  /** Output symbolic in its class dimension ("classes"), so only a run tells the count. Default false. */
  dynamicClasses?: boolean;
  /** "probabilities": softmax inside the graph, and metadata "classifier_output" says so. Default "logits". */
  output?: "logits" | "probabilities";
  /** Labels to store in the "labels" metadata, newline-separated. */
  labels?: readonly string[];
}

/**
 * A tiny ONNX species classifier whose output is a known function of its input: the logit of
 * class c (c < 3) is gain * (mean of channel c over the crop), so a red crop is class 0, a
 * green one class 1, a blue one class 2, and a BGR swap or a wrong layout shows up as the
 * wrong class. Classes from 3 on have the constant logit `restLogit`.
 */
export function buildTinyClassifier(options: TinyClassifierOptions): Uint8Array {
  const inputSize = options.inputSize ?? 32;
  const classCount = options.classCount ?? 3;
  const gain = options.gain ?? 20;
  const restLogit = options.restLogit ?? 0;
  if (!Number.isInteger(classCount) || classCount < 3) throw new Error(`classCount must be an integer >= 3, got ${classCount}`);

  const g = new GraphBuilder();
  const spatialAxes = options.layout === "nhwc" ? [1, 2] : [2, 3];
  const means = g.node("ReduceMean", [TINY_CLASSIFIER_INPUT_NAME], { axes: spatialAxes, keepdims: 0 }); // [B, 3]
  const weights = onnx.TensorProto.create({
    name: "class_weights",
    dims: [3, classCount],
    dataType: FLOAT,
    floatData: Array.from({ length: 3 * classCount }, (_, i) => (Math.floor(i / classCount) === i % classCount ? gain : 0)),
  });
  g.initializers.push(weights);
  const bias = g.floatVector(Array.from({ length: classCount }, (_, c) => (c < 3 ? 0 : restLogit)));
  const logits = g.node("Add", [g.node("MatMul", [means, "class_weights"]), bias]);
  const probabilities = options.output === "probabilities";
  g.node(probabilities ? "Softmax" : "Identity", [logits], probabilities ? { axis: 1 } : {}, TINY_CLASSIFIER_OUTPUT_NAME);

  const batch = (options.dynamicBatch ?? true) ? "batch" : 1;
  const side = (name: string): Dimension => (options.dynamicSpatial ? name : inputSize);
  const inputShape =
    options.layout === "nhwc" ? [batch, side("height"), side("width"), 3] : [batch, 3, side("height"), side("width")];
  const metadataProps = [
    ...(probabilities ? [{ key: "classifier_output", value: "probabilities" }] : []),
    ...(options.labels ? [{ key: "labels", value: options.labels.join("\n") }] : []),
    ...(options.dynamicSpatial ? [{ key: "imgsz", value: `[${inputSize}, ${inputSize}]` }] : []),
  ];
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: OPSET_VERSION }],
    producerName: "trapline-test-tiny-models",
    metadataProps,
    graph: {
      name: `tiny_${options.layout}_classifier`,
      node: g.nodes,
      initializer: g.initializers,
      input: [floatValueInfo(TINY_CLASSIFIER_INPUT_NAME, inputShape)],
      output: [floatValueInfo(TINY_CLASSIFIER_OUTPUT_NAME, [batch, options.dynamicClasses ? "classes" : classCount])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Builds the classifier and writes it as an .onnx file at `path`. */
export async function writeTinyClassifier(path: string, options: TinyClassifierOptions): Promise<void> {
  await writeFile(path, buildTinyClassifier(options));
}

/**
 * First index and last index + 1 where `hasTarget` ([B, L], 0/1 along input axis `axis`) is 1.
 * max(hasTarget * (i + 1)) is the end; max(hasTarget * (L - i)) is L - start.
 */
function targetExtent(g: GraphBuilder, hasTarget: string, axis: number): [string, string] {
  const length = g.node("Gather", [g.node("Shape", [TINY_MODEL_INPUT_NAME]), g.int64Scalar(axis)]);
  const indices = g.node("Cast", [g.node("Range", [g.int64Scalar(0), length, g.int64Scalar(1)])], { to: FLOAT });
  const lengthFloat = g.node("Cast", [length], { to: FLOAT });
  const maxOver = (weights: string): string =>
    g.node("ReduceMax", [g.node("Mul", [hasTarget, weights])], { axes: [1], keepdims: 0 });
  const end = maxOver(g.node("Add", [indices, g.floatScalar(1)]));
  const start = g.node("Sub", [lengthFloat, maxOver(g.node("Sub", [lengthFloat, indices]))]);
  return [start, end];
}

type Dimension = number | string;

/** A float tensor's declaration; a string dimension is symbolic (e.g. "batch"). The bench's stand-in models use it too. */
export function floatValueInfo(name: string, shape: readonly Dimension[]): Onnx.IValueInfoProto {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

type AttributeValue = number | number[];

/** Collects nodes and constants, naming every intermediate tensor so calls can nest. */
class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];
  private count = 0;

  node(opType: string, inputs: string[], attributes: Record<string, AttributeValue> = {}, output?: string): string {
    const name = output ?? `${opType.toLowerCase()}_${this.count}`;
    this.count += 1;
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        name: `${name}_node`,
        input: inputs,
        output: [name],
        attribute: Object.entries(attributes).map(([key, value]) => intAttribute(key, value)),
      }),
    );
    return name;
  }

  floatScalar(value: number): string {
    return this.constant({ dims: [], dataType: FLOAT, floatData: [value] });
  }

  floatVector(values: number[]): string {
    return this.constant({ dims: [values.length], dataType: FLOAT, floatData: values });
  }

  int64Scalar(value: number): string {
    return this.constant({ dims: [], dataType: INT64, int64Data: [value] });
  }

  int64Vector(values: number[]): string {
    return this.constant({ dims: [values.length], dataType: INT64, int64Data: values });
  }

  private constant(tensor: Onnx.ITensorProto): string {
    const name = `const_${this.count}`;
    this.count += 1;
    this.initializers.push({ ...tensor, name });
    return name;
  }
}

/** Every attribute this graph uses is an int or a list of ints (axis, axes, keepdims, to). */
function intAttribute(name: string, value: AttributeValue): Onnx.IAttributeProto {
  return Array.isArray(value)
    ? onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: value })
    : onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });
}
