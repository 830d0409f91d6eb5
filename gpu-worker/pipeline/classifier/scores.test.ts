import assert from "node:assert/strict";
import { test } from "node:test";
import { toProbabilities, topK } from "./scores.ts";

test("logits go through softmax; large logits do not overflow", () => {
  const p = toProbabilities([0, Math.log(2), Math.log(3)], "logits");
  [1 / 6, 2 / 6, 3 / 6].forEach((expected, i) => assert.ok(Math.abs(p[i]! - expected) < 1e-12));
  const big = toProbabilities([1000, 1000], "logits");
  assert.deepEqual([...big], [0.5, 0.5]);
});

test("probabilities are taken as they are", () => {
  assert.deepEqual([...toProbabilities(Float32Array.from([0.25, 0.75]), "probabilities")], [0.25, 0.75]);
});

test("topK: highest first, the lower index first on equal scores, at most k", () => {
  assert.deepEqual(topK([0.1, 0.4, 0.2, 0.4, 0.3], 3), [[1, 0.4], [3, 0.4], [4, 0.3]]);
  assert.deepEqual(topK([0.5, 0.5], 5), [[0, 0.5], [1, 0.5]]);
});
