import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { writeTinyDetector, type TinyModelOptions } from "../../../test/helpers/tinyModels.ts";
import { Detector } from "./detector.ts";
import { readOnnxMetadataProps } from "./onnxMetadata.ts";
import { preprocessForDetector } from "./preprocess.ts";

let dir: string;
const opened: Detector[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-detector-"));
});
after(async () => {
  await Promise.all(opened.map((d) => d.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openTiny(name: string, options: TinyModelOptions, batchSize = 4): Promise<Detector> {
  const path = join(dir, `${name}.onnx`);
  await writeTinyDetector(path, options);
  const detector = await Detector.open({ modelPath: path, provider: "cpu", batchSize });
  opened.push(detector);
  return detector;
}

/** A grey PNG with a target rectangle the tiny model finds; blue sets its confidence. */
async function picture(width: number, height: number, rect?: { left: number; top: number; width: number; height: number; blue?: number }) {
  const composite = rect
    ? [{
        input: await sharp({ create: { width: rect.width, height: rect.height, channels: 3, background: { r: 255, g: 0, b: rect.blue ?? 230 } } }).png().toBuffer(),
        left: rect.left,
        top: rect.top,
      }]
    : [];
  return sharp({ create: { width, height, channels: 3, background: { r: 60, g: 60, b: 60 } } }).composite(composite).png().toBuffer();
}

test("reads Ultralytics metadata_props from the ONNX file without loading the graph", async () => {
  const path = join(dir, "meta.onnx");
  await writeTinyDetector(path, { layout: "yolov5", inputSize: 128, stride: 64 });
  const props = await readOnnxMetadataProps(path);
  assert.equal(props.imgsz, "[128, 128]");
  assert.equal(props.stride, "64");
  assert.match(props.names!, /0: 'animal'/);
});

for (const layout of ["yolov5", "yolov8"] as const) {
  test(`${layout}, dynamic size: box mapped back through the letterbox to the displayed image`, async () => {
    const detector = await openTiny(`${layout}-dynamic`, { layout, inputSize: 64, dynamicSpatial: true, stride: 32 });
    assert.deepEqual(detector.info.spec, { size: 64, stride: 32, fixedSquare: false });
    assert.equal(detector.provider, "cpu");
    // 640x400 -> scale 0.1 -> 64x40, padded to 64 (4 top, 4 bottom... 40 -> 64 is 24: 12/12)
    const image = await picture(640, 400, { left: 160, top: 100, width: 320, height: 200 });
    const pre = await preprocessForDetector(image, detector.info.spec);
    assert.deepEqual([pre.geometry.inputWidth, pre.geometry.inputHeight], [64, 64]);
    const [detections] = await detector.detect([pre]);
    // The duplicate row at half confidence is suppressed by NMS; the empty row is filtered.
    assert.equal(detections!.length, 1);
    assert.deepEqual(detections![0], { category: "1", conf: 0.901, bbox: [0.25, 0.25, 0.5, 0.5] });
  });
}

test("fixed square input pads to the square; class index and confidence come through", async () => {
  const detector = await openTiny("fixed", { layout: "yolov5", inputSize: 64, dynamicBatch: false, classIndex: 1 });
  assert.equal(detector.maxBatch, 1);
  assert.equal(detector.info.spec.fixedSquare, true);
  // 1280x640 -> 64x32, 16 px of padding top and bottom
  const image = await picture(1280, 640, { left: 0, top: 320, width: 640, height: 320, blue: 128 });
  const pre = await preprocessForDetector(image, detector.info.spec);
  assert.deepEqual([pre.geometry.padTop, pre.geometry.padBottom], [16, 16]);
  const [detections] = await detector.detect([pre]);
  assert.deepEqual(detections, [{ category: "2", conf: 0.501, bbox: [0, 0.5, 0.5, 0.5] }]);
});

test("batches mixed sizes, keeps input order, and empty images give no detections", async () => {
  const detector = await openTiny("batch", { layout: "yolov8", inputSize: 64, dynamicSpatial: true, stride: 32 }, 2);
  const images = await Promise.all([
    picture(640, 640, { left: 0, top: 0, width: 320, height: 320 }),
    picture(640, 480),
    picture(640, 640, { left: 320, top: 320, width: 320, height: 320 }),
    picture(640, 480, { left: 320, top: 0, width: 320, height: 240 }),
    picture(640, 640, { left: 0, top: 320, width: 640, height: 320 }),
  ]);
  const pre = await Promise.all(images.map((i) => preprocessForDetector(i, detector.info.spec)));
  const results = await detector.detect(pre);
  assert.deepEqual(
    results.map((r) => r.map((d) => d.bbox)),
    [[[0, 0, 0.5, 0.5]], [], [[0.5, 0.5, 0.5, 0.5]], [[0.5, 0, 0.5, 0.5]], [[0, 0.5, 1, 0.5]]],
  );
});

test("the confidence threshold is strict and configurable", async () => {
  const detector = await openTiny("threshold", { layout: "yolov5", inputSize: 64, dynamicSpatial: true, stride: 32 });
  const pre = await preprocessForDetector(await picture(64, 64, { left: 8, top: 8, width: 16, height: 16, blue: 100 }), detector.info.spec);
  assert.equal((await detector.detect([pre], 0.2))[0]!.length, 1);
  // 100/255 = 0.392: above 0.3, not above 0.5
  assert.equal((await detector.detect([pre], 0.5))[0]!.length, 0);
});

test("a file that is not a model fails to open with a clear message", async () => {
  const path = join(dir, "broken.onnx");
  await sharp({ create: { width: 4, height: 4, channels: 3, background: "#fff" } }).png().toFile(path);
  await assert.rejects(Detector.open({ modelPath: path, provider: "cpu" }), /model/);
});

test("the batch buffer is reused from batch to batch (full, partial, other shape, overlapping calls): each photo's boxes as on its own", async () => {
  const detector = await openTiny("reuse", { layout: "yolov5", inputSize: 64, dynamicSpatial: true, stride: 32 }, 3);
  const photos = await Promise.all([
    picture(640, 400, { left: 160, top: 100, width: 320, height: 200 }),
    picture(640, 400, { left: 0, top: 0, width: 200, height: 100, blue: 200 }),
    picture(640, 400),
    picture(400, 640, { left: 100, top: 300, width: 200, height: 300 }),
    picture(640, 400, { left: 400, top: 200, width: 200, height: 150 }),
  ]);
  const images = await Promise.all(photos.map((photo) => preprocessForDetector(photo, detector.info.spec)));
  const alone = [];
  for (const image of images) alone.push((await detector.detect([image]))[0]);
  // A full batch, a partial one after it (a view of the kept buffer), a portrait one, and two calls in flight at once.
  assert.deepEqual(await detector.detect(images.slice(0, 3)), alone.slice(0, 3));
  assert.deepEqual(await detector.detect([images[4]!]), [alone[4]]);
  assert.deepEqual(await detector.detect(images), alone);
  const [first, second] = await Promise.all([detector.detect(images.slice(0, 3)), detector.detect(images.slice(2))]);
  assert.deepEqual([...first, ...second], [...alone.slice(0, 3), ...alone.slice(2)]);
  assert.ok(alone.some((found) => found!.length > 0), "the tiny model finds the targets");
});
