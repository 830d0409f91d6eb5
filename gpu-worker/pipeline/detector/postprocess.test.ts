import { test } from "node:test";
import assert from "node:assert/strict";
import { letterboxGeometry } from "./letterbox.ts";
import {
  decodeCandidates,
  inferOutputLayout,
  nonMaxSuppression,
  toDetections,
  truncate,
  type Candidate,
} from "./postprocess.ts";

test("layouts are told apart by shape, with and without the class count", () => {
  assert.equal(inferOutputLayout([1, 76500, 8], 3), "yolov5");
  assert.equal(inferOutputLayout([1, 7, 33600], 3), "yolov8");
  // tiny models: fewer predictions than channels, the class count decides
  assert.equal(inferOutputLayout([2, 3, 8], 3), "yolov5");
  assert.equal(inferOutputLayout([2, 7, 3], 3), "yolov8");
  assert.equal(inferOutputLayout([1, 8400, 6]), "yolov5");
  assert.throws(() => inferOutputLayout([1, 8]), /3 axes/);
});

test("YOLOv5 rows: objectness gates, confidence is objectness x best class, strict threshold", () => {
  // two images, two rows each, C = 2: cx cy w h obj c0 c1
  const output = new Float32Array([
    50, 40, 20, 10, 0.9, 0.5, 1.0, //  image 0: class 1, conf 0.9
    10, 10, 4, 4, 0.004, 1.0, 0.0, //  image 0: objectness below threshold
    30, 30, 10, 10, 0.5, 0.01, 0.0, // image 1: conf 0.005 == threshold -> dropped (strict >)
    30, 30, 10, 10, 0.5, 0.02, 0.0, // image 1: conf 0.01
  ]);
  const dims = [2, 2, 7];
  const first = decodeCandidates(output, dims, "yolov5", 0, 0.005);
  assert.equal(first.length, 1);
  assert.deepEqual(first[0]!.box, [40, 35, 60, 45]);
  assert.equal(first[0]!.classIndex, 1);
  assert.ok(Math.abs(first[0]!.conf - 0.9) < 1e-6);
  const second = decodeCandidates(output, dims, "yolov5", 1, 0.005);
  assert.equal(second.length, 1);
  assert.ok(Math.abs(second[0]!.conf - 0.01) < 1e-6);
});

test("YOLOv8 columns: channels first, best class score is the confidence", () => {
  // one image, C = 3, N = 2 predictions laid out channel-major
  const output = new Float32Array([
    50, 10, // cx
    40, 10, // cy
    20, 4, //  w
    10, 4, //  h
    0.1, 0.0, // class 0
    0.0, 0.0, // class 1
    0.8, 0.001, // class 2
  ]);
  const candidates = decodeCandidates(output, [1, 7, 2], "yolov8", 0, 0.005);
  assert.equal(candidates.length, 1);
  assert.equal(candidates[0]!.classIndex, 2);
  assert.deepEqual(candidates[0]!.box, [40, 35, 60, 45]);
});

test("NMS suppresses overlapping boxes of one class only, keeps the most confident, caps the count", () => {
  const box = (x: number, conf: number, classIndex = 0): Candidate => ({ box: [x, 0, x + 10, 10], conf, classIndex });
  const kept = nonMaxSuppression([box(0, 0.5), box(1, 0.9), box(0, 0.8, 1), box(30, 0.3)]);
  assert.deepEqual(
    kept.map((k) => [k.box[0], k.conf, k.classIndex]),
    [[1, 0.9, 0], [0, 0.8, 1], [30, 0.3, 0]],
  );
  // IoU of [0,10] and [5,15] is 5/15 = 0.33 < 0.45: both stay
  assert.equal(nonMaxSuppression([box(0, 0.9), box(5, 0.8)]).length, 2);
  const many = Array.from({ length: 400 }, (_, i) => box(i * 20, 0.5));
  assert.equal(nonMaxSuppression(many).length, 300);
});

test("truncate drops digits like MD's truncate_float", () => {
  assert.equal(truncate(0.8999, 3), 0.899);
  assert.equal(truncate(0.12349, 4), 0.1234);
  assert.equal(truncate(1, 3), 1);
});

test("toDetections maps through the letterbox, rounds to pixels and normalises to the displayed image", () => {
  // 2000x1000 image into a 100-px square: scale 0.05, 25 px of padding top and bottom
  const geometry = letterboxGeometry(2000, 1000, { size: 100, stride: 32, fixedSquare: true });
  const [detection] = toDetections([{ box: [10, 35, 30.01, 45], conf: 0.87654, classIndex: 0 }], geometry);
  // x: 10/0.05 = 200, 30.01/0.05 = 600.2 -> 600; y: (35-25)/0.05 = 200, (45-25)/0.05 = 400
  assert.deepEqual(detection, { category: "1", conf: 0.876, bbox: [0.1, 0.2, 0.2, 0.2] });
  const [clipped] = toDetections([{ box: [-10, 20, 200, 80], conf: 0.3, classIndex: 2 }], geometry);
  assert.deepEqual(clipped, { category: "3", conf: 0.3, bbox: [0, 0, 1, 1] });
});
