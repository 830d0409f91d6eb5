import { test } from "node:test";
import assert from "node:assert/strict";
import type { Detection, ImageResult, RunInfo } from "../types.ts";
import { TOP_LEVEL_FOLDER, categoryIds, folderOf, isDrawn } from "../categories.ts";
import { createTotals, drawnCountsByCategory, tallyImage } from "./resultTotals.ts";

const run: RunInfo = {
  detector: "md_v5a.0.0.onnx",
  categories: { "10": "other", "1": "animal", "2": "person", "3": "vehicle" },
  outputThreshold: 0.005,
  renderThreshold: 0.2,
  provider: "cpu",
  startedAt: new Date(0),
  completedAt: new Date(0),
};

const box = (category: string, conf: number): Detection => ({ category, conf, bbox: [0, 0, 0.5, 0.5] });

function image(path: string, detections: Detection[], status: ImageResult["status"] = "ok"): ImageResult {
  return { path, status, warnings: [], detections, metadata: {}, fileSize: 1 };
}

test("a detection exactly at the render threshold counts, as in MD's tools (conf >= threshold)", () => {
  assert.equal(isDrawn(box("1", 0.2), run), true);
  assert.equal(isDrawn(box("1", 0.199), run), false);
});

test("categories come in numeric order and counts cover every category", () => {
  assert.deepEqual(categoryIds(run), ["1", "2", "3", "10"]);
  assert.deepEqual(drawnCountsByCategory(image("a.jpg", [box("1", 0.9), box("1", 0.5), box("3", 0.1)]), run), {
    "1": 2,
    "2": 0,
    "3": 0,
    "10": 0,
  });
});

test("folders are the path without its file name", () => {
  assert.equal(folderOf("site/cam 1/IMG_1.JPG"), "site/cam 1");
  assert.equal(folderOf("IMG_1.JPG"), TOP_LEVEL_FOLDER);
});

test("totals and per-folder counts", () => {
  const totals = createTotals(run);
  for (const result of [
    image("s1/a.jpg", [box("1", 0.9), box("1", 0.3), box("2", 0.25), box("3", 0.01)]),
    image("s1/b.jpg", [box("3", 0.1)]),
    image("s2/c.jpg", [], "failed"),
    image("top.jpg", [box("2", 0.2)]),
  ]) {
    tallyImage(totals, result, run);
  }
  assert.equal(totals.images, 4);
  assert.equal(totals.ok, 3);
  assert.equal(totals.failed, 1);
  assert.deepEqual(totals.imagesWith, { "1": 1, "2": 2, "3": 0, "10": 0 });
  assert.deepEqual(totals.drawnDetections, { "1": 2, "2": 2, "3": 0, "10": 0 });
  assert.equal(totals.empty, 1, "s1/b.jpg has only a box below the render threshold");
  assert.equal(totals.allDetections, 6);

  assert.deepEqual([...totals.folders.keys()], ["s1", "s2", TOP_LEVEL_FOLDER]);
  const s1 = totals.folders.get("s1");
  assert.equal(s1?.images, 2);
  assert.equal(s1?.empty, 1);
  assert.deepEqual(s1?.imagesWith, { "1": 1, "2": 1, "3": 0, "10": 0 });
  assert.equal(totals.folders.get("s2")?.failed, 1);
  assert.equal(totals.folders.get(TOP_LEVEL_FOLDER)?.imagesWith["2"], 1);
});
