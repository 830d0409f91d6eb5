// A stand-in for MegaDetector v5a that the bench builds itself (no weights can be downloaded
// here): the same input ([batch, 3, 1280, 1280], "images"), the same output layout and size
// ([batch, 102000, 8], "output": YOLOv5 P6 heads at strides 8/16/32/64, 3 anchors each, 5 + 3
// classes), and roughly the same compute, with random weights. images/s with it mean something
// on a CPU or a GPU; its detections mean nothing (its objectness sits far below any threshold).
//
// Compute: YOLOv5x6 at 1280 px is about 210 GFLOPs per image (Ultralytics' model table); this
// graph is a plain conv stack at the same resolutions (see STAND_IN_GFLOPS, computed below).

import { writeFile } from "node:fs/promises";
import { seededUniform } from "../test/helpers/seededRandom.ts";
import { floatValueInfo } from "../test/helpers/tinyModels.ts";
import { int, INT64, ints, OnnxGraph } from "./onnxGraph.ts";

/** MegaDetector v5a's input side (md_v5a.0.0 in models/manifest.json). */
export const STAND_IN_INPUT_SIZE = 1280;
/** 5 + 3 classes (animal, person, vehicle), as MD v5. */
const OUTPUTS_PER_ANCHOR = 8;
const ANCHORS_PER_CELL = 3;
/** sigmoid(-9) ≈ 0.0001: below MegaDetector's 0.005 output threshold, so NMS sees nothing, as on an empty photo. */
const OBJECTNESS_BIAS = -9;

/**
 * The backbone: [output channels, stride of this conv, repeats of a same-size 3x3 conv after it].
 * Each stage halves the side; the last four stages' outputs feed the heads (P3..P6).
 */
const STAGES: readonly [channels: number, repeats: number][] = [
  [64, 4], // 320 px
  [128, 7], // 160 px, P3 (stride 8)
  [256, 7], // 80 px, P4 (stride 16)
  [512, 7], // 40 px, P5 (stride 32)
  [512, 0], // 20 px, P6 (stride 64)
];
const STEM_CHANNELS = 32;

interface Conv {
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  /** Output side in pixels at a 1280-px input. */
  side: number;
}

/** Every conv of the graph, in order, with its output side: the single source for the graph and its FLOPs. */
function convPlan(): { backbone: Conv[]; heads: Conv[] } {
  const backbone: Conv[] = [{ inChannels: 3, outChannels: STEM_CHANNELS, kernel: 6, stride: 2, side: STAND_IN_INPUT_SIZE / 2 }];
  const heads: Conv[] = [];
  let channels = STEM_CHANNELS;
  let side = STAND_IN_INPUT_SIZE / 2;
  STAGES.forEach(([outChannels, repeats], index) => {
    side /= 2;
    backbone.push({ inChannels: channels, outChannels, kernel: 3, stride: 2, side });
    for (let r = 0; r < repeats; r++) backbone.push({ inChannels: outChannels, outChannels, kernel: 3, stride: 1, side });
    channels = outChannels;
    if (index >= 1) heads.push({ inChannels: channels, outChannels: ANCHORS_PER_CELL * OUTPUTS_PER_ANCHOR, kernel: 1, stride: 1, side });
  });
  return { backbone, heads };
}

/** Multiply-adds count twice, as in the published GFLOPs figures. */
function convGflops(conv: Conv): number {
  return (2 * conv.inChannels * conv.outChannels * conv.kernel * conv.kernel * conv.side * conv.side) / 1e9;
}

const PLAN = convPlan();
/** This graph's compute per image at 1280 px (≈ YOLOv5x6's 210). */
export const STAND_IN_GFLOPS = [...PLAN.backbone, ...PLAN.heads].reduce((sum, conv) => sum + convGflops(conv), 0);
/** Rows of the output: 3 anchors per cell of the four heads (102,000 at 1280 px, as MD v5a). */
export const STAND_IN_ROWS = PLAN.heads.reduce((sum, head) => sum + ANCHORS_PER_CELL * head.side * head.side, 0);

/** Builds the stand-in (about 90 MB of float32 weights) and writes it to `path`. */
export async function writeStandInDetector(path: string, seed = 1): Promise<void> {
  await writeFile(path, buildStandInDetector(seed));
}

export function buildStandInDetector(seed = 1): Uint8Array {
  const random = gaussian(seed);
  const g = new OnnxGraph();

  const conv = (input: string, spec: Conv, weightScale: number, bias: number[] | number): string => {
    const fanIn = spec.inChannels * spec.kernel * spec.kernel;
    const weights = new Float32Array(spec.outChannels * fanIn);
    // He initialisation keeps activations in range through the stack.
    for (let i = 0; i < weights.length; i++) weights[i] = random() * weightScale * Math.sqrt(2 / fanIn);
    const biases = Array.isArray(bias) ? bias : new Array<number>(spec.outChannels).fill(bias);
    const pad = Math.floor((spec.kernel - spec.stride + 1) / 2);
    return g.node(
      "Conv",
      [input, g.tensor([spec.outChannels, spec.inChannels, spec.kernel, spec.kernel], weights), g.tensor([spec.outChannels], biases)],
      [ints("kernel_shape", [spec.kernel, spec.kernel]), ints("strides", [spec.stride, spec.stride]), ints("pads", [pad, pad, pad, pad])],
    );
  };
  const silu = (x: string) => g.node("Mul", [x, g.node("Sigmoid", [x])]);

  let x = "images";
  const features: string[] = [];
  const headInputs = new Set(PLAN.heads.map((head) => head.side));
  PLAN.backbone.forEach((spec, i) => {
    x = silu(conv(x, spec, 1, 0));
    const next = PLAN.backbone[i + 1];
    const lastAtThisSide = next === undefined || next.side !== spec.side;
    if (lastAtThisSide && headInputs.has(spec.side)) features.push(x);
  });

  const headBias = Array.from({ length: ANCHORS_PER_CELL * OUTPUTS_PER_ANCHOR }, (_, c) => (c % OUTPUTS_PER_ANCHOR === 4 ? OBJECTNESS_BIAS : 0));
  const rows = PLAN.heads.map((spec, i) => {
    const raw = conv(features[i]!, spec, 0.01, headBias);
    // [B, 24, H, W] -> [B, 3, 8, H, W] -> [B, 3, H, W, 8] -> [B, 3*H*W, 8], as YOLOv5's Detect layer lays it out.
    const split = g.node("Reshape", [raw, g.tensor([5], [0, ANCHORS_PER_CELL, OUTPUTS_PER_ANCHOR, spec.side, spec.side], INT64)]);
    const channelsLast = g.node("Transpose", [split], [ints("perm", [0, 1, 3, 4, 2])]);
    return g.node("Reshape", [channelsLast, g.tensor([3], [0, -1, OUTPUTS_PER_ANCHOR], INT64)]);
  });
  const joined = g.node("Concat", rows, [int("axis", 1)]);
  g.node("Sigmoid", [joined], [], "output");

  return g.encode(
    {
      name: "megadetector-v5a-stand-in",
      input: [floatValueInfo("images", ["batch", 3, STAND_IN_INPUT_SIZE, STAND_IN_INPUT_SIZE])],
      output: [floatValueInfo("output", ["batch", STAND_IN_ROWS, OUTPUTS_PER_ANCHOR])],
    },
    [
      { key: "imgsz", value: `[${STAND_IN_INPUT_SIZE}, ${STAND_IN_INPUT_SIZE}]` },
      { key: "stride", value: "64" },
      { key: "names", value: "{0: 'animal', 1: 'person', 2: 'vehicle'}" },
    ],
  );
}

/** A seeded standard-normal generator (Box-Muller over seededUniform): the same model on every machine. */
function gaussian(seed: number): () => number {
  const uniform = seededUniform(seed);
  return () => Math.sqrt(-2 * Math.log(uniform() || Number.MIN_VALUE)) * Math.cos(2 * Math.PI * uniform());
}
