import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { writeTinyDetector } from "../../../test/helpers/tinyModels.ts";
import { Detector } from "./detector.ts";
import { InferenceThread } from "./inferenceThread.ts";
import { providerLibraryInstalled } from "./providerLibraries.ts";
import { CPU_DEFAULT_BATCH } from "./batchSize.ts";

const { onnx } = onnxProto;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-thread-"));
});
after(() => rm(dir, { recursive: true, force: true }));

/** A one-node model: `Cast` from `from` to `to`, so each end can be float16 on its own. */
async function writeCastModel(path: string, from: number, to: number): Promise<void> {
  const info = (name: string, elemType: number) =>
    onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType, shape: { dim: [{ dimParam: "n" }] } } } });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "cast",
      node: [onnx.NodeProto.create({ opType: "Cast", input: ["x"], output: ["y"], name: "cast", attribute: [{ name: "to", type: onnx.AttributeProto.AttributeType.INT, i: to }] })],
      input: [info("x", from)],
      output: [info("y", to)],
    },
  });
  await writeFile(path, onnx.ModelProto.encode(model).finish());
}

const { FLOAT, FLOAT16 } = onnx.TensorProto.DataType;

test("a float16 output comes back as float32, rounded as float16 rounds", async () => {
  const path = join(dir, "half-out.onnx");
  await writeCastModel(path, FLOAT, FLOAT16);
  const thread = await InferenceThread.open(path, "cpu");
  try {
    const { data, dims, input } = await thread.run(Float32Array.of(0.5, -3, 0.1, 70_000), [4]);
    assert.deepEqual(dims, [4]);
    assert.ok(data instanceof Float32Array);
    // 0.1 is 0.0999755859375 in float16; 70,000 is past float16's largest (65,504): Infinity.
    assert.deepEqual([...data], [0.5, -3, 0.0999755859375, Infinity]);
    assert.equal(input?.length, 4, "the batch still comes back for reuse");
  } finally {
    await thread.close();
  }
});

test("a float16 input: refused when the model opens, saying what to use instead", async () => {
  const path = join(dir, "half-in.onnx");
  await writeCastModel(path, FLOAT16, FLOAT);
  await assert.rejects(InferenceThread.open(path, "cpu"), /the model's input is float16; onnxruntime-node cannot be given float16 input from Node 24, so use an export with float32 input/);
});

test("without --batch the CPU keeps the CPU default and says why", async () => {
  const path = join(dir, "dynamic.onnx");
  await writeTinyDetector(path, { layout: "yolov8", dynamicBatch: true });
  const detector = await Detector.open({ modelPath: path, provider: "cpu" });
  try {
    assert.equal(detector.maxBatch, CPU_DEFAULT_BATCH);
    assert.equal(detector.batchReason, "the CPU default");
  } finally {
    await detector.close();
  }
  const given = await Detector.open({ modelPath: path, provider: "cpu", batchSize: 3 });
  assert.equal(given.maxBatch, 3);
  assert.equal(given.batchReason, undefined);
  await given.close();
});

test(
  "tensorrt named where its library is not installed: the model does not open, and the error says what is missing and what to do",
  { skip: providerLibraryInstalled("tensorrt") ? "the TensorRT provider is installed here" : false },
  async () => {
    const path = join(dir, "trt.onnx");
    await writeTinyDetector(path, { layout: "yolov5" });
    await assert.rejects(
      Detector.open({ modelPath: path, provider: "tensorrt" }),
      /cannot load model .*trt\.onnx: --provider tensorrt: ONNX Runtime's TensorRT provider is not installed \(.*libonnxruntime_providers_tensorrt\.so.*missing\).*--provider auto/,
    );
  },
);
