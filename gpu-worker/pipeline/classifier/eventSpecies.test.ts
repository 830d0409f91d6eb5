import assert from "node:assert/strict";
import { test } from "node:test";
import { LABELS as L } from "../../../test/helpers/speciesLabels.ts";
import { settleEventSpecies } from "./eventSpecies.ts";
import type { Detection } from "../types.ts";

/** A frame whose animal boxes carry these [label, score] predictions (conf 0.9 unless given). */
const frame = (...boxes: [string, number, number?][]): { detections: Detection[] } => ({
  detections: boxes.map(([label, score, conf]) => ({
    category: "1",
    conf: conf ?? 0.9,
    bbox: [0, 0, 0.1, 0.1],
    species: { label, score, source: "classifier" },
  })),
});

test("a leopard in frames 1 and 3 and 'mammal' in frame 2 is a leopard event", () => {
  assert.deepEqual(settleEventSpecies([frame([L.leopard, 0.9]), frame([L.mammal, 0.7]), frame([L.leopard, 0.95])]), [
    { label: L.leopard, count: 1, frames: 3, boxes: 3, score: 0.95 },
  ]);
});

test("the count is MaxN: the most animals of the species in any one frame", () => {
  const species = settleEventSpecies([
    frame([L.leopard, 0.9]),
    frame([L.leopard, 0.8], [L.catFamily, 0.7], [L.mammal, 0.66]),
    frame([L.leopard, 0.9], [L.leopard, 0.85]),
  ]);
  assert.deepEqual(species, [{ label: L.leopard, count: 3, frames: 3, boxes: 6, score: 0.9 }]);
});

test("species that are not higher taxa of each other stay separate, most numerous first", () => {
  const species = settleEventSpecies([
    frame([L.zebra, 0.9], [L.wildebeest, 0.8], [L.wildebeest, 0.85]),
    frame([L.zebra, 0.92], [L.zebra, 0.9]),
    frame(),
  ]);
  // equal MaxN: more boxes first
  assert.deepEqual(species, [
    { label: L.zebra, count: 2, frames: 2, boxes: 3, score: 0.92 },
    { label: L.wildebeest, count: 2, frames: 1, boxes: 2, score: 0.85 },
  ]);
});

test("a higher taxon above two species joins the one with the most boxes", () => {
  const species = settleEventSpecies([frame([L.leopard, 0.9]), frame([L.lion, 0.9], [L.lion, 0.9]), frame([L.catFamily, 0.7])]);
  assert.deepEqual(
    species.map((s) => [s.label, s.count, s.boxes]),
    [
      [L.lion, 2, 3],
      [L.leopard, 1, 1],
    ],
  );
});

test("blank, vehicle and unknown are never merged; the animal kingdom is above every species", () => {
  const species = settleEventSpecies([frame([L.zebra, 0.9], [L.animal, 0.6]), frame([L.blank, 0.99]), frame([L.unknown, 0.3])]);
  assert.deepEqual(
    species.map((s) => [s.label, s.count]),
    [
      [L.zebra, 2],
      [L.blank, 1],
      [L.unknown, 1],
    ],
  );
});

test("boxes below minConf, and boxes without a prediction, are not counted", () => {
  const unclassified: Detection = { category: "1", conf: 0.9, bbox: [0, 0, 1, 1], classificationSkipped: "box too small to classify" };
  const species = settleEventSpecies([{ detections: [...frame([L.zebra, 0.9], [L.zebra, 0.9, 0.15]).detections, unclassified] }], { minConf: 0.2 });
  assert.deepEqual(species, [{ label: L.zebra, count: 1, frames: 1, boxes: 1, score: 0.9 }]);
  assert.deepEqual(settleEventSpecies([]), []);
});
