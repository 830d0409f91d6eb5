import { test } from "node:test";
import assert from "node:assert/strict";
import { estimateDownloadBytes } from "./downloadEstimate.ts";

test("a 300 GB season: every photo is as much again, photos with detections a quarter, reports alone about 100 MB", () => {
  const upload = 300e9;
  assert.equal(estimateDownloadBytes("all", upload), 300.1e9);
  assert.equal(estimateDownloadBytes("detections", upload), 75.1e9);
  assert.equal(estimateDownloadBytes("none", upload), 100e6);
});

test("a few photos: the reports' own floor, and the order all > detections > none holds", () => {
  assert.equal(estimateDownloadBytes("none", 9e6), 100_000);
  assert.equal(estimateDownloadBytes("none", 0), 100_000);
  for (const upload of [1, 9e6, 2e9]) {
    assert.ok(estimateDownloadBytes("all", upload) > estimateDownloadBytes("detections", upload));
    assert.ok(estimateDownloadBytes("detections", upload) > estimateDownloadBytes("none", upload));
  }
});
