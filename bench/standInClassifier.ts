// A stand-in for SpeciesNet's "always crop" classifier that the bench builds itself (no weights
// can be downloaded here): the same input ([batch, 480, 480, 3], NHWC, as SpeciesNet v4's
// EfficientNetV2-M export), 2,498 output logits as its labels file has, and roughly its compute
// (EfficientNetV2-M at 480 px is about 24 GFLOPs per image: Tan & Le 2021, table 7 — 24B FLOPs
// at 480), with random weights: seconds per crop mean something, species do not.
import { writeFile } from "node:fs/promises";
import { seededUniform } from "../test/helpers/seededRandom.ts";
import { floatValueInfo } from "../test/helpers/tinyModels.ts";
import { ints, OnnxGraph } from "./onnxGraph.ts";

export const STAND_IN_CLASSIFIER_INPUT = 480;
/** SpeciesNet v4.0.x's label count. */
export const STAND_IN_CLASSES = 2498;

/** [output channels, repeats of a same-size 3x3 conv after the stride-2 one], each stage halving the side. */
const STAGES: readonly [channels: number, repeats: number][] = [
  [64, 3], // 120 px
  [144, 4], // 60 px
  [288, 5], // 30 px
  [512, 5], // 15 px
  [640, 2], // 8 px
];
const STEM = { channels: 24, stride: 2 };

interface Conv {
  inChannels: number;
  outChannels: number;
  stride: number;
  side: number;
}

function plan(): Conv[] {
  const convs: Conv[] = [];
  let side = STAND_IN_CLASSIFIER_INPUT / STEM.stride;
  convs.push({ inChannels: 3, outChannels: STEM.channels, stride: STEM.stride, side });
  let channels = STEM.channels;
  for (const [outChannels, repeats] of STAGES) {
    side = Math.ceil(side / 2);
    convs.push({ inChannels: channels, outChannels, stride: 2, side });
    for (let r = 0; r < repeats; r++) convs.push({ inChannels: outChannels, outChannels, stride: 1, side });
    channels = outChannels;
  }
  return convs;
}

const PLAN = plan();
const FEATURES = PLAN.at(-1)!.outChannels;
/** This graph's compute per crop (3x3 convs and the classifier layer; multiply-adds count twice). */
export const STAND_IN_CLASSIFIER_GFLOPS =
  PLAN.reduce((sum, c) => sum + (2 * c.inChannels * c.outChannels * 9 * c.side * c.side) / 1e9, 0) + (2 * FEATURES * STAND_IN_CLASSES) / 1e9;

/** SpeciesNet-shaped labels for the stand-in (uuid;class;order;family;genus;species;common name). */
export function standInLabels(): string[] {
  return Array.from({ length: STAND_IN_CLASSES }, (_, i) => {
    const hex = i.toString(16).padStart(12, "0");
    return `00000000-0000-4000-8000-${hex};mammalia;order${i % 27};family${i % 150};genus${i};species${i};stand-in species ${i}`;
  });
}

export async function writeStandInClassifier(path: string): Promise<void> {
  await writeFile(path, buildStandInClassifier());
  await writeFile(path.replace(/\.onnx$/, ".labels.txt"), `${standInLabels().join("\n")}\n`);
}

function buildStandInClassifier(seed = 7): Uint8Array {
  const next = seededUniform(seed);
  const uniform = () => next() - 0.5;
  const g = new OnnxGraph();
  const random = (count: number, scale: number) => Float32Array.from({ length: count }, () => uniform() * scale);

  // NHWC in, as SpeciesNet's export; the convs run NCHW.
  let x = g.node("Transpose", ["images"], [ints("perm", [0, 3, 1, 2])]);
  for (const conv of PLAN) {
    const fanIn = conv.inChannels * 9;
    const weights = g.tensor([conv.outChannels, conv.inChannels, 3, 3], random(conv.outChannels * fanIn, Math.sqrt(6 / fanIn)));
    const bias = g.tensor([conv.outChannels], new Float32Array(conv.outChannels));
    x = g.node("Conv", [x, weights, bias], [ints("kernel_shape", [3, 3]), ints("strides", [conv.stride, conv.stride]), ints("pads", [1, 1, 1, 1])]);
    x = g.node("Relu", [x]);
  }
  const pooled = g.node("Flatten", [g.node("GlobalAveragePool", [x])]);
  const logits = g.node("MatMul", [pooled, g.tensor([FEATURES, STAND_IN_CLASSES], random(FEATURES * STAND_IN_CLASSES, 0.01))]);
  g.node("Add", [logits, g.tensor([STAND_IN_CLASSES], new Float32Array(STAND_IN_CLASSES))], [], "output");

  return g.encode({
    name: "speciesnet-stand-in",
    input: [floatValueInfo("images", ["batch", STAND_IN_CLASSIFIER_INPUT, STAND_IN_CLASSIFIER_INPUT, 3])],
    output: [floatValueInfo("output", ["batch", STAND_IN_CLASSES])],
  });
}
