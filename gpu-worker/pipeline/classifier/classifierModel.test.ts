import assert from "node:assert/strict";
import { test } from "node:test";
import { describeClassifier } from "./classifierModel.ts";

test("layout, size, batch and class count come from the model's shapes", () => {
  assert.deepEqual(describeClassifier(["batch", 480, 480, 3], ["batch", 2498], {}), {
    layout: "nhwc",
    inputWidth: 480,
    inputHeight: 480,
    classCount: 2498,
    output: "logits",
  });
  assert.deepEqual(describeClassifier([1, 3, 224, 256], [1, "classes"], { classifier_output: "probabilities" }), {
    layout: "nchw",
    inputWidth: 256,
    inputHeight: 224,
    fixedBatch: 1,
    output: "probabilities",
  });
});

test("symbolic height and width: the hint, else imgsz metadata, else SpeciesNet's 480", () => {
  const shape = ["batch", "h", "w", 3];
  assert.equal(describeClassifier(shape, [], {}).inputWidth, 480);
  assert.equal(describeClassifier(shape, [], { imgsz: "[320, 320]" }).inputWidth, 320);
  assert.equal(describeClassifier(shape, [], { imgsz: "320" }, { inputSize: 300 }).inputHeight, 300);
});

test("shapes it cannot use are refused with the shape in the message", () => {
  assert.throws(() => describeClassifier(["b", 480, 3], [], {}), /input has shape \[b, 480, 3\]/);
  assert.throws(() => describeClassifier(["b", 4, 480, 480], [], {}), /cannot tell the channel axis .* \[b, 4, 480, 480\]/);
  assert.throws(() => describeClassifier(["b", 4, 480, 480], [], {}, { layout: "nchw" }), /has 4 channels in NCHW/);
  assert.throws(() => describeClassifier(["b", 480, 480, 3], ["b", 7, 7], {}), /output has shape \[b, 7, 7\]/);
  assert.throws(() => describeClassifier(["b", 480, 480, 3], [], { classifier_output: "softmax" }), /"classifier_output" metadata is "softmax"/);
});
