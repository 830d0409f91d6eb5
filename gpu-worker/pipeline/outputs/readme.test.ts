import { test } from "node:test";
import assert from "node:assert/strict";
import type { ImageResult, RunInfo } from "../types.ts";
import { README_WIDTH, resultsReadme, wrap } from "./readme.ts";
import { createTotals, tallyImage } from "./resultTotals.ts";
import { sampleRun } from "../../../test/helpers/sampleRun.ts";
import type { PathRoot } from "../zipLayout.ts";

const run: RunInfo = sampleRun({ provider: "cuda" });

function totalsFor(images: ImageResult[], info = run) {
  const totals = createTotals(info);
  for (const image of images) tallyImage(totals, image, info);
  return totals;
}

const images: ImageResult[] = [
  { path: "a/1.jpg", status: "ok", warnings: [], detections: [{ category: "1", conf: 0.9, bbox: [0, 0, 1, 1] }], metadata: {}, fileSize: 1 },
  { path: "a/2.jpg", status: "ok", warnings: [], detections: [], metadata: {}, fileSize: 1 },
  { path: "a/3.jpg", status: "failed", error: "unreadable", warnings: [], detections: [], metadata: {}, fileSize: 1 },
];

test("explains the files, thresholds, dates, colours and tools, with this run's numbers", () => {
  const text = resultsReadme(run, totalsFor(images));
  for (const expected of [
    "results.xlsx",
    "detections.json",
    "md_v5a.0.0.onnx",
    "run on cuda",
    "90 seconds",
    "3 images: 2 processed, 1 could not be read",
    "1 with animal, 0 with person, 0 with vehicle, 1 empty",
    "output 0.005",
    "render 0.2",
    "no time zone",
    "Timelapse",
    "AddaxAI",
    "image_recognition_file.json",
    "animal red, person blue, vehicle gold",
    "DateTimeOriginal",
    "drawn",
  ]) {
    assert.ok(text.replace(/\s+/g, " ").includes(expected), `README mentions ${JSON.stringify(expected)}`);
  }
});

test("is plain text wrapped to the README width", () => {
  const text = resultsReadme(run, totalsFor(images));
  assert.ok(text.endsWith("\n"));
  assert.match(text, /^[\x20-\x7e\n]*$/, "plain ASCII, no tabs");
  for (const line of text.split("\n")) assert.ok(line.length <= README_WIDTH, `too long: ${line}`);
});

test("uses the run's own thresholds and category names", () => {
  const custom: RunInfo = { ...run, outputThreshold: 0.01, renderThreshold: 0.35, categories: { "1": "bird" } };
  const text = resultsReadme(custom, totalsFor([], custom)).replace(/\s+/g, " ");
  assert.ok(text.includes("output 0.01"));
  assert.ok(text.includes("confidence of 0.35 or more"));
  assert.ok(text.includes("bird red"));
  assert.ok(!text.includes("recommended default"), "0.35 is not MD's default");
  assert.ok(text.includes("0 images"));
});

test("wrap keeps words whole and lines within the width", () => {
  assert.deepEqual(wrap("one two three four", 9), ["one two", "three", "four"]);
  assert.deepEqual(wrap("a https://example.org/a/very/long/link b", 10), ["a", "https://example.org/a/very/long/link", "b"]);
  assert.deepEqual(wrap("", 10), []);
});

test("says what the paths start from, as the user chose the inputs", () => {
  const says = (pathRoot?: PathRoot) => resultsReadme(run, totalsFor(images), pathRoot ? { pathRoot } : {}).replace(/\s+/g, " ");
  assert.ok(says({ kind: "folder", name: "SDcard01" }).includes('Paths are relative to the folder you chose, "SDcard01": its own name is not part of them.'));
  assert.ok(says({ kind: "folder", name: "SDcard01" }).includes('Paths in detections.json start from the folder you chose ("SDcard01")'));
  assert.ok(says({ kind: "zip", name: "card.zip" }).includes('Paths are those inside the zip you chose, "card.zip".'));
  assert.ok(says({ kind: "file", name: "IMG_0001.JPG" }).includes('The photo you chose keeps its own name, "IMG_0001.JPG".'));
  assert.ok(says({ kind: "several", count: 3 }).includes("You chose 3 folders, photos or zips: each path starts with the name of the one it came from"));
  assert.ok(says().includes("Paths are relative to what you chose"));
  for (const own of ["README.txt", "results.xlsx", "detections.json", "camtrap-dp/", "sorted/", '"README (2).txt"']) assert.ok(says().includes(own), own);
});

test("says when people were blurred and GPS removed, and nothing of it when neither was asked", () => {
  const flat = (text: string) => text.replace(/\s+/g, " ");
  assert.doesNotMatch(resultsReadme(run, totalsFor(images)), /PRIVACY|blurred|GPS position/);
  const both = flat(resultsReadme({ ...run, privacy: { blurPeople: true, dropGps: true } }, totalsFor(images), { images: "all" }));
  assert.ok(both.includes("PRIVACY"));
  assert.ok(both.includes("Every box of a person at or above the render threshold (0.2) is blurred"));
  assert.ok(both.includes("The photos in this zip carry no GPS position"));
  assert.ok(both.includes("byte for byte but for their GPS position"));
  const blurOnly = flat(resultsReadme({ ...run, privacy: { blurPeople: true } }, totalsFor(images)));
  assert.ok(blurOnly.includes("is blurred") && !blurOnly.includes("no GPS position"));
});
