// What the bench's stand-in models (standInDetector.ts, standInClassifier.ts) build their ONNX
// graphs with: tensor type declarations and a seeded random source, so the same model comes out
// on every machine.
import onnxProto from "onnx-proto";
import type { onnx as Onnx } from "onnx-proto";

const { onnx } = onnxProto;

/** A float tensor's declaration; a string dimension is symbolic (e.g. "batch"). */
export function floatValueInfo(id: string, dims: (number | string)[]): Onnx.IValueInfoProto {
  return onnx.ValueInfoProto.create({
    name: id,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  });
}

/** A seeded uniform generator in [0, 1) (mulberry32). */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
