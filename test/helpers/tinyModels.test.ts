import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import onnxProto from "onnx-proto";
import ort from "onnxruntime-node";
import {
  TINY_CLASSIFIER_INPUT_NAME,
  TINY_CLASSIFIER_OUTPUT_NAME,
  TINY_MODEL_INPUT_NAME,
  TINY_MODEL_OUTPUT_NAMES,
  buildTinyClassifier,
  buildTinyDetector,
  writeTinyDetector,
} from "./tinyModels.ts";
import type { TinyModelLayout, TinyModelOptions } from "./tinyModels.ts";

const GREY = 114 / 255;

/** A target rectangle in input pixels; `blue` (0..254) sets the confidence the model reports. */
interface Target {
  x: number;
  y: number;
  width: number;
  height: number;
  blue: number;
}

/** One RGB image, NCHW planes, grey background with red targets painted on it. */
function paint(height: number, width: number, targets: Target[]): Float32Array {
  const plane = height * width;
  const pixels = new Float32Array(3 * plane).fill(GREY);
  for (const t of targets) {
    for (let y = t.y; y < t.y + t.height; y++) {
      for (let x = t.x; x < t.x + t.width; x++) {
        pixels[y * width + x] = 1;
        pixels[plane + y * width + x] = 0;
        pixels[2 * plane + y * width + x] = t.blue / 255;
      }
    }
  }
  return pixels;
}

function batchTensor(height: number, width: number, images: Float32Array[]): ort.Tensor {
  const data = new Float32Array(images.length * 3 * height * width);
  images.forEach((image, i) => data.set(image, i * image.length));
  return new ort.Tensor("float32", data, [images.length, 3, height, width]);
}

async function session(options: TinyModelOptions): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(buildTinyDetector(options));
}

/** Runs the model and returns rows[image][row] = the values of one output row, whatever the layout. */
async function detect(model: ort.InferenceSession, layout: TinyModelLayout, input: ort.Tensor): Promise<number[][][]> {
  const output = (await model.run({ [TINY_MODEL_INPUT_NAME]: input }))[TINY_MODEL_OUTPUT_NAMES[layout]];
  assert.ok(output);
  const data = output.data as Float32Array;
  const [batch, a, b] = output.dims as [number, number, number];
  const rows: number[][][] = [];
  for (let i = 0; i < batch; i++) {
    const image: number[][] = [];
    if (layout === "yolov5") {
      for (let n = 0; n < a; n++) image.push(Array.from(data.subarray((i * a + n) * b, (i * a + n + 1) * b)));
    } else {
      for (let n = 0; n < b; n++) image.push(Array.from({ length: a }, (_, k) => data[(i * a + k) * b + n] ?? NaN));
    }
    rows.push(image);
  }
  return rows;
}

/** The three rows the model must give for a target box (x_min, y_min, x_max, y_max) and a B value. */
function expectedRows(layout: TinyModelLayout, target: Target | undefined, classIndex = 0): number[][] {
  const width = layout === "yolov5" ? 8 : 7;
  const empty = new Array<number>(width).fill(0);
  if (!target) return [empty, empty, empty];
  const confidence = Math.fround(target.blue / 255);
  const box = [target.x + target.width / 2, target.y + target.height / 2, target.width, target.height];
  const scores = (conf: number): number[] =>
    layout === "yolov5"
      ? [conf, ...[0, 1, 2].map((c) => (c === classIndex ? 1 : 0))]
      : [0, 1, 2].map((c) => (c === classIndex ? conf : 0));
  return [[...box, ...scores(confidence)], [...box, ...scores(confidence / 2)], empty];
}

const layouts: TinyModelLayout[] = ["yolov5", "yolov8"];

for (const layout of layouts) {
  describe(`tiny ${layout} detector`, () => {
    it("reports the red rectangle's box, its half-confidence duplicate and an empty row", async () => {
      const model = await session({ layout, inputSize: 64 });
      const target = { x: 10, y: 20, width: 15, height: 7, blue: 230 };
      const rows = await detect(model, layout, batchTensor(64, 64, [paint(64, 64, [target])]));
      assert.deepEqual(rows, [expectedRows(layout, target)]);
      const confidence = rows[0]?.[0]?.[4] ?? 0; // objectness (yolov5) or the animal score (yolov8)
      assert.ok(Math.abs(confidence - 0.9) < 0.002, "blue 230 reads as confidence 0.9");
    });

    it("has the documented output shape", async () => {
      const model = await session({ layout, inputSize: 64 });
      const output = (await model.run({ images: batchTensor(64, 64, [paint(64, 64, [])]) }))[model.outputNames[0] ?? ""];
      assert.deepEqual(output?.dims, layout === "yolov5" ? [1, 3, 8] : [1, 7, 3]);
      assert.deepEqual(model.outputNames, [TINY_MODEL_OUTPUT_NAMES[layout]]);
    });

    it("treats every image of a batch on its own", async () => {
      const model = await session({ layout, inputSize: 64 });
      const targets = [
        { x: 0, y: 0, width: 64, height: 64, blue: 10 }, // the whole picture, edges included
        undefined,
        { x: 63, y: 5, width: 1, height: 1, blue: 128 }, // one pixel in the last column
        { x: 30, y: 40, width: 20, height: 24, blue: 51 },
      ];
      const images = targets.map((t) => paint(64, 64, t ? [t] : []));
      const rows = await detect(model, layout, batchTensor(64, 64, images));
      assert.deepEqual(rows, targets.map((t) => expectedRows(layout, t)));
    });

    it("takes the extent of all target pixels and the brightest blue among them", async () => {
      const model = await session({ layout, inputSize: 64 });
      const image = paint(64, 64, [
        { x: 5, y: 50, width: 3, height: 2, blue: 100 },
        { x: 40, y: 8, width: 4, height: 4, blue: 200 },
      ]);
      const rows = await detect(model, layout, batchTensor(64, 64, [image]));
      assert.deepEqual(rows, [expectedRows(layout, { x: 5, y: 8, width: 39, height: 44, blue: 200 })]);
    });

    it("reports the class chosen at build time", async () => {
      const model = await session({ layout, inputSize: 64, classIndex: 2 });
      const target = { x: 1, y: 2, width: 3, height: 4, blue: 179 };
      const rows = await detect(model, layout, batchTensor(64, 64, [paint(64, 64, [target])]));
      assert.deepEqual(rows, [expectedRows(layout, target, 2)]);
    });

    it("finds nothing in grey, white or black pictures", async () => {
      const model = await session({ layout, inputSize: 64 });
      const white = new Float32Array(3 * 64 * 64).fill(1);
      const black = new Float32Array(3 * 64 * 64);
      const rows = await detect(model, layout, batchTensor(64, 64, [paint(64, 64, []), white, black]));
      assert.deepEqual(rows, [expectedRows(layout, undefined), expectedRows(layout, undefined), expectedRows(layout, undefined)]);
    });

    it("finds nothing when the channels are fed as BGR", async () => {
      const model = await session({ layout, inputSize: 64 });
      const plane = 64 * 64;
      const rgb = paint(64, 64, [{ x: 10, y: 10, width: 20, height: 20, blue: 230 }]);
      const bgr = new Float32Array(rgb.length);
      bgr.set(rgb.subarray(2 * plane), 0);
      bgr.set(rgb.subarray(plane, 2 * plane), plane);
      bgr.set(rgb.subarray(0, plane), 2 * plane);
      const rows = await detect(model, layout, batchTensor(64, 64, [bgr]));
      assert.deepEqual(rows, [expectedRows(layout, undefined)]);
    });

    it("accepts non-square inputs when the spatial dimensions are symbolic", async () => {
      const model = await session({ layout, inputSize: 128, dynamicSpatial: true });
      assert.deepEqual(model.inputMetadata, [
        { name: "images", isTensor: true, type: "float32", shape: ["batch", 3, "height", "width"] },
      ]);
      const target = { x: 90, y: 17, width: 6, height: 15, blue: 242 };
      const rows = await detect(model, layout, batchTensor(32, 96, [paint(32, 96, [target])]));
      assert.deepEqual(rows, [expectedRows(layout, target)]);
    });

    it("declares a fixed input shape when asked", async () => {
      const model = await session({ layout, inputSize: 64, dynamicBatch: false });
      assert.deepEqual(model.inputMetadata, [
        { name: "images", isTensor: true, type: "float32", shape: [1, 3, 64, 64] },
      ]);
      await assert.rejects(model.run({ images: batchTensor(32, 32, [paint(32, 32, [])]) }));
    });
  });
}

describe("tiny detector file", () => {
  it("carries Ultralytics-style metadata", () => {
    const decode = (options: TinyModelOptions): Record<string, string> =>
      Object.fromEntries(
        onnxProto.onnx.ModelProto.decode(buildTinyDetector(options)).metadataProps.map((p) => [p.key ?? "", p.value ?? ""]),
      );
    const names = "{0: 'animal', 1: 'person', 2: 'vehicle'}";
    assert.deepEqual(decode({ layout: "yolov5", inputSize: 128 }), { imgsz: "[128, 128]", stride: "64", names });
    assert.deepEqual(decode({ layout: "yolov8" }), { imgsz: "[64, 64]", stride: "32", names });
    assert.deepEqual(decode({ layout: "yolov8", stride: 64 }).stride, "64");
    assert.deepEqual(decode({ layout: "yolov5", withMetadata: false }), {});
  });

  it("is written to disk and loads from its path", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tiny-model-"));
    try {
      const path = join(dir, "tiny.onnx");
      await writeTinyDetector(path, { layout: "yolov5", inputSize: 64 });
      const model = await ort.InferenceSession.create(path);
      const target = { x: 3, y: 4, width: 5, height: 6, blue: 230 };
      assert.deepEqual(await detect(model, "yolov5", batchTensor(64, 64, [paint(64, 64, [target])])), [
        expectedRows("yolov5", target),
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a class index outside the three MegaDetector classes", () => {
    assert.throws(() => buildTinyDetector({ layout: "yolov5", classIndex: 3 }), /classIndex must be 0\.\.2/);
  });
});

describe("tiny classifier", () => {
  /** A 2x2 crop: channel means 0.5 red, 0.25 green, 0 blue. */
  const means = [0.5, 0.25, 0];
  const pixels = [
    [1, 0, 0],
    [0, 1, 0],
    [1, 0, 0],
    [0, 0, 0],
  ];

  for (const layout of ["nhwc", "nchw"] as const) {
    it(`${layout}: logit of class c < 3 is gain x the mean of channel c; the rest are restLogit`, async () => {
      const model = await ort.InferenceSession.create(buildTinyClassifier({ layout, inputSize: 2, classCount: 5, gain: 10, restLogit: -1 }));
      const data =
        layout === "nhwc" ? Float32Array.from(pixels.flat()) : Float32Array.from([0, 1, 2].flatMap((c) => pixels.map((p) => p[c]!)));
      const dims = layout === "nhwc" ? [1, 2, 2, 3] : [1, 3, 2, 2];
      const output = (await model.run({ [TINY_CLASSIFIER_INPUT_NAME]: new ort.Tensor("float32", data, dims) }))[TINY_CLASSIFIER_OUTPUT_NAME];
      assert.ok(output);
      assert.deepEqual(output.dims, [1, 5]);
      assert.deepEqual([...(output.data as Float32Array)], [...means.map((m) => 10 * m), -1, -1]);
    });
  }

  it("outputs probabilities when asked, and says so in its metadata with its labels", async () => {
    const bytes = buildTinyClassifier({ layout: "nhwc", inputSize: 2, output: "probabilities", labels: ["a;;;;;;a", "b;;;;;;b", "c;;;;;;c"] });
    const metadata = Object.fromEntries(onnxProto.onnx.ModelProto.decode(bytes).metadataProps.map((p) => [p.key ?? "", p.value ?? ""]));
    assert.deepEqual(metadata, { classifier_output: "probabilities", labels: "a;;;;;;a\nb;;;;;;b\nc;;;;;;c" });
    const model = await ort.InferenceSession.create(bytes);
    const output = (await model.run({ [TINY_CLASSIFIER_INPUT_NAME]: new ort.Tensor("float32", Float32Array.from(pixels.flat()), [1, 2, 2, 3]) }))[
      TINY_CLASSIFIER_OUTPUT_NAME
    ];
    const probabilities = [...(output!.data as Float32Array)];
    assert.ok(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    assert.ok(probabilities[0]! > probabilities[1]! && probabilities[1]! > probabilities[2]!);
  });
});
