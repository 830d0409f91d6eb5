// A small builder for the bench's stand-in models (standInDetector.ts, standInClassifier.ts):
// every tensor and node output gets a numbered name, weights go in as raw little-endian bytes
// (megabytes of them: raw is far smaller to encode than float lists), and the model is wrapped
// in the same ONNX envelope. The tests' tiny models keep their own builder (test/helpers/
// tinyModels.ts), whose constants are a handful of scalars.
import onnxProto from "onnx-proto";
import type { onnx as Onnx } from "onnx-proto";

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;

export class OnnxGraph {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];
  #counter = 0;

  #name(prefix: string): string {
    return `${prefix}_${this.#counter++}`;
  }

  /** A weight: float32, or int64 for shapes. Returns its name. */
  tensor(dims: number[], values: Float32Array | number[], dataType = FLOAT): string {
    const id = this.#name("w");
    const typed = dataType === FLOAT ? (values instanceof Float32Array ? values : Float32Array.from(values)) : BigInt64Array.from(values as number[], (v) => BigInt(v));
    this.initializers.push({ name: id, dims, dataType, rawData: new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength) });
    return id;
  }

  /** One node; its output is named after the op unless `output` names it (a graph output). */
  node(opType: string, inputs: string[], attribute: Onnx.IAttributeProto[] = [], output = this.#name(opType.toLowerCase())): string {
    this.nodes.push(onnx.NodeProto.create({ opType, name: `${output}_node`, input: inputs, output: [output], attribute }));
    return output;
  }

  /** The model's bytes: this graph as `name`, with its inputs, outputs and metadata. */
  encode(graph: { name: string; input: Onnx.IValueInfoProto[]; output: Onnx.IValueInfoProto[] }, metadataProps?: Onnx.IStringStringEntryProto[]): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: "", version: 17 }],
      producerName: "trapline-bench",
      graph: onnx.GraphProto.create({ ...graph, node: this.nodes, initializer: this.initializers }),
      ...(metadataProps ? { metadataProps } : {}),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

export const ints = (key: string, values: number[]): Onnx.IAttributeProto => onnx.AttributeProto.create({ name: key, type: onnx.AttributeProto.AttributeType.INTS, ints: values });
export const int = (key: string, value: number): Onnx.IAttributeProto => onnx.AttributeProto.create({ name: key, type: onnx.AttributeProto.AttributeType.INT, i: value });
