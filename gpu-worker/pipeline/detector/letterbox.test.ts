import { test } from "node:test";
import assert from "node:assert/strict";
import { letterboxGeometry, mapBoxToSource, roundHalfEven } from "./letterbox.ts";

const md = { size: 1280, stride: 64, fixedSquare: false };

test("roundHalfEven matches Python's round()", () => {
  assert.deepEqual([0.5, 1.5, 2.5, 0.4, 2.4, 2.6, 959.5].map(roundHalfEven), [0, 2, 2, 0, 2, 3, 960]);
});

test("a 2048x1536 Serengeti frame becomes 1280x960 with no padding (960 is a multiple of 64)", () => {
  const g = letterboxGeometry(2048, 1536, md);
  assert.deepEqual([g.resizedWidth, g.resizedHeight, g.inputWidth, g.inputHeight], [1280, 960, 1280, 960]);
  assert.deepEqual([g.padTop, g.padBottom, g.padLeft, g.padRight], [0, 0, 0, 0]);
});

test("a 4000x3000 frame pads only up to the next stride multiple, odd padding going bottom", () => {
  // 3000 * 0.32 = 960 -> no pad; use 16:9 instead: 1920x1080 -> 1280x720, 720 mod 64 = 16 short of 768
  const g = letterboxGeometry(1920, 1080, md);
  assert.equal(g.resizedHeight, 720);
  assert.equal(g.inputHeight, 768);
  assert.deepEqual([g.padTop, g.padBottom], [24, 24]);
  // 1280x722 -> pad 46 -> 23/23; 1280x721 -> pad 47 -> 23.5 -> top round(23.4)=23, bottom round(23.6)=24
  const odd = letterboxGeometry(1280, 721, md);
  assert.deepEqual([odd.padTop, odd.padBottom, odd.inputHeight], [23, 24, 768]);
});

test("a fixed square input pads to the full square", () => {
  const g = letterboxGeometry(2048, 1536, { size: 1280, stride: 64, fixedSquare: true });
  assert.deepEqual([g.inputWidth, g.inputHeight, g.padTop, g.padBottom], [1280, 1280, 160, 160]);
});

test("small images are scaled up, as YOLOv5's letterbox does by default", () => {
  const g = letterboxGeometry(640, 480, md);
  assert.deepEqual([g.resizedWidth, g.resizedHeight], [1280, 960]);
});

test("mapBoxToSource inverts the letterbox and clips to the image", () => {
  const g = letterboxGeometry(2000, 1000, { size: 100, stride: 32, fixedSquare: true });
  // scale 0.05, resized 100x50, pad 25 top / 25 bottom
  assert.equal(g.padTop, 25);
  assert.deepEqual(mapBoxToSource([10, 35, 30, 45], g), [200, 200, 600, 400]);
  assert.deepEqual(mapBoxToSource([-5, 0, 120, 100], g), [0, 0, 2000, 1000]);
});

test("empty images are refused with a clear error", () => {
  assert.throws(() => letterboxGeometry(0, 10, md), /empty/);
});
