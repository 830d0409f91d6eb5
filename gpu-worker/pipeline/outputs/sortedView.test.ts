import assert from "node:assert/strict";
import { test } from "node:test";
import type { ImageResult } from "../types.ts";
import { categoryLabel } from "../categories.ts";
import { sortedPath } from "./sortedView.ts";

const rules = { categories: { "1": "animal", "2": "person", "3": "vehicle" }, renderThreshold: 0.2 };
const image = (detections: Array<[string, number]>, status: ImageResult["status"] = "ok"): ImageResult => ({
  path: "cam1/DCIM/IMG_0001.JPG",
  status,
  warnings: [],
  detections: detections.map(([category, conf]) => ({ category, conf, bbox: [0, 0, 0.1, 0.1] })),
  metadata: {},
  fileSize: 1,
});

test("images sort by what they show at the render threshold, combinations in the model's order", () => {
  assert.equal(sortedPath(image([["1", 0.9]]), rules), "sorted/animal/cam1/DCIM/IMG_0001.JPG");
  assert.equal(sortedPath(image([["2", 0.2], ["1", 0.5], ["1", 0.6]]), rules), "sorted/animal+person/cam1/DCIM/IMG_0001.JPG");
  assert.equal(sortedPath(image([["3", 0.3], ["2", 0.19]]), rules), "sorted/vehicle/cam1/DCIM/IMG_0001.JPG", "0.19 is below the threshold");
  assert.equal(sortedPath(image([]), rules), "sorted/empty/cam1/DCIM/IMG_0001.JPG");
  assert.equal(sortedPath(image([], "failed"), rules), undefined, "images that failed are not sorted");
  assert.equal(categoryLabel(["3", "1", "2"], rules), "animal+person+vehicle");
});

test("classified animals add their species as a level; several are joined, more than three are 'several species', names are made safe", () => {
  const label = (common: string) => `00000000-0000-0000-0000-000000000000;mammalia;carnivora;felidae;panthera;pardus;${common}`;
  const withSpecies = (species: Array<[string, number]>): ImageResult => ({
    ...image([]),
    detections: species.map(([common, conf]) => ({ category: "1", conf, bbox: [0, 0, 0.1, 0.1], species: { label: label(common), score: 0.9, source: "classifier" } })),
  });
  assert.equal(sortedPath(withSpecies([["leopard", 0.9]]), rules), "sorted/animal/leopard/cam1/DCIM/IMG_0001.JPG");
  assert.equal(sortedPath(withSpecies([["leopard", 0.9], ["impala", 0.5], ["leopard", 0.4]]), rules), "sorted/animal/impala+leopard/cam1/DCIM/IMG_0001.JPG");
  assert.equal(sortedPath(withSpecies([["leopard", 0.9], ["impala", 0.1]]), rules), "sorted/animal/leopard/cam1/DCIM/IMG_0001.JPG", "a box below the threshold is not drawn, so not named");
  assert.equal(sortedPath(withSpecies([["a", 0.9], ["b", 0.9], ["c", 0.9], ["d", 0.9]]), rules), "sorted/animal/several species/cam1/DCIM/IMG_0001.JPG");
  assert.equal(sortedPath(withSpecies([["../cat/dog", 0.9]]), rules), "sorted/animal/__cat_dog/cam1/DCIM/IMG_0001.JPG");
});
