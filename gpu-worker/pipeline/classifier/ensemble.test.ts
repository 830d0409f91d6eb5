import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LABELS as L } from "../../../test/helpers/speciesLabels.ts";
import { detectorClassOf, ensembleBox, geofenceTopLabel, rollUp, type EnsembleContext, type TopClassifications } from "./ensemble.ts";
import { parseGeofence } from "./geofence.ts";
import { buildTaxonomy } from "./taxonomy.ts";

const taxonomy = buildTaxonomy(Object.values(L), { synthesizeAncestors: false });
const noFence: EnsembleContext = { taxonomy, location: {} };
const animalBox = (conf: number) => ({ detectorClass: "animal" as const, conf });
const top = (...pairs: [string, number][]): TopClassifications => ({ labels: pairs.map(([l]) => l), scores: pairs.map(([, s]) => s) });

describe("SpeciesNet's ensemble rules for one box", () => {
  test("#4a: an animal label above 0.8 is taken as it is", () => {
    assert.deepEqual(ensembleBox(top([L.leopard, 0.81], [L.lion, 0.1]), animalBox(0.05), noFence), {
      label: L.leopard,
      score: 0.81,
      source: "classifier",
    });
  });

  test("#4b: above 0.65 needs an animal box above 0.2; otherwise the roll-up decides", () => {
    const scores = top([L.leopard, 0.7], [L.lion, 0.2], [L.cheetah, 0.05]);
    assert.equal(ensembleBox(scores, animalBox(0.21), noFence).source, "classifier");
    const rolled = ensembleBox(scores, animalBox(0.2), noFence);
    assert.equal(rolled.label, L.pantheraGenus);
    assert.equal(rolled.source, "classifier+rollup_to_genus");
    assert.ok(Math.abs(rolled.score - 0.9) < 1e-12);
  });

  test("#5a: roll-up stops at the first level whose summed score is above 0.65", () => {
    // genus panthera 0.6 (not above), family felidae 0.7
    const result = ensembleBox(top([L.leopard, 0.4], [L.lion, 0.2], [L.cheetah, 0.1], [L.zebra, 0.1]), animalBox(0.9), noFence);
    assert.equal(result.label, L.catFamily);
    assert.equal(result.source, "classifier+rollup_to_family");
    assert.ok(Math.abs(result.score - 0.7) < 1e-12);
  });

  test("a taxon missing from the taxonomy is skipped by the roll-up", () => {
    const bare = buildTaxonomy([L.leopard, L.lion, L.mammal], { synthesizeAncestors: false });
    const result = ensembleBox(top([L.leopard, 0.4], [L.lion, 0.3]), animalBox(0.9), { taxonomy: bare, location: {} });
    // no panthera, felidae or carnivora labels: class mammalia is the first level there
    assert.equal(result.label, L.mammal);
    assert.equal(result.source, "classifier+rollup_to_class");
  });

  test("#5b and the fallback: animal from the detector above 0.5, else unknown with the top score", () => {
    const weak = top([L.leopard, 0.3], [L.zebra, 0.3]);
    // roll-up: kingdom sums to 0.6, not above 0.65
    assert.deepEqual(ensembleBox(weak, animalBox(0.51), noFence), { label: L.animal, score: 0.51, source: "detector" });
    assert.deepEqual(ensembleBox(weak, animalBox(0.5), noFence), { label: L.unknown, score: 0.3, source: "classifier" });
  });

  test("#3a/#3b: blank needs a weak box, or a classifier above 0.99", () => {
    assert.deepEqual(ensembleBox(top([L.blank, 0.6], [L.leopard, 0.3]), animalBox(0.15), noFence), {
      label: L.blank,
      score: 0.6,
      source: "classifier",
    });
    // a strong box keeps a 0.6 blank from winning; nothing else clears the bars
    assert.equal(ensembleBox(top([L.blank, 0.6], [L.leopard, 0.3]), animalBox(0.55), noFence).label, L.animal);
    assert.equal(ensembleBox(top([L.blank, 0.995]), animalBox(0.95), noFence).label, L.blank);
  });

  test("#1/#2: human and vehicle boxes", () => {
    const human = { detectorClass: "human" as const };
    const vehicle = { detectorClass: "vehicle" as const };
    assert.deepEqual(ensembleBox(top([L.leopard, 0.9]), { ...human, conf: 0.71 }, noFence), { label: L.human, score: 0.71, source: "detector" });
    assert.deepEqual(ensembleBox(top([L.vehicle, 0.6]), { ...human, conf: 0.3 }, noFence), { label: L.human, score: 0.6, source: "classifier" });
    assert.deepEqual(ensembleBox(top([L.human, 0.6]), { ...vehicle, conf: 0.3 }, noFence), { label: L.human, score: 0.6, source: "classifier" });
    assert.deepEqual(ensembleBox(top([L.leopard, 0.9]), { ...vehicle, conf: 0.8 }, noFence), { label: L.vehicle, score: 0.8, source: "detector" });
    assert.deepEqual(ensembleBox(top([L.vehicle, 0.45]), { ...vehicle, conf: 0.3 }, noFence), { label: L.vehicle, score: 0.45, source: "classifier" });
  });

  test("a human label on an animal box is not taken directly (#4 excludes it): it rolls up", () => {
    const synthesized = buildTaxonomy(Object.values(L), { synthesizeAncestors: true });
    const result = ensembleBox(top([L.human, 0.9]), animalBox(0.9), { taxonomy: synthesized, location: {} });
    assert.equal(result.source, "classifier+rollup_to_genus");
    assert.equal(result.label, ";mammalia;primates;hominidae;homo;;homo");
  });

  test("MegaDetector categories map to SpeciesNet's detector classes", () => {
    assert.deepEqual(["1", "2", "3", "4"].map(detectorClassOf), ["animal", "human", "vehicle", undefined]);
  });
});

describe("geofence", () => {
  const geofence = parseGeofence({
    "mammalia;carnivora;felidae;panthera;pardus": { allow: { KEN: [], TZA: [] } },
    "mammalia;carnivora;felidae;panthera;": { allow: { KEN: [], TZA: [], IND: [] } },
    "mammalia;carnivora;felidae;;": { allow: { KEN: [], TZA: [], IND: [], USA: [] } },
    "mammalia;carnivora;ursidae;ursus;americanus": { allow: { USA: ["AK", "NJ"], CAN: [] } },
    "mammalia;perissodactyla;equidae;equus;quagga": { block: { USA: [] } },
    "mammalia;cetartiodactyla;bovidae;connochaetes;taurinus": { block: { USA: ["TX"] } },
  });
  const at = (country?: string, admin1Region?: string): EnsembleContext => ({
    taxonomy,
    geofence,
    location: { ...(country ? { country } : {}), ...(admin1Region ? { admin1Region } : {}) },
  });
  const leopard = top([L.leopard, 0.9], [L.lion, 0.05], [L.cheetah, 0.03]);

  test("an allowed country keeps the label", () => {
    assert.deepEqual(geofenceTopLabel(leopard, at("KEN")), { label: L.leopard, score: 0.9, source: "classifier" });
  });

  test("a country not allowed rolls up to the first allowed level that reaches the top score", () => {
    // genus panthera is not allowed in the USA either; family felidae is, with 0.98
    const result = geofenceTopLabel(leopard, at("USA"));
    assert.equal(result.label, L.catFamily);
    assert.equal(result.source, "classifier+geofence+rollup_to_family");
    assert.ok(Math.abs(result.score - 0.98) < 1e-12);
    // the same through the ensemble (#4a)
    assert.deepEqual(ensembleBox(leopard, animalBox(0.9), at("USA")), result);
  });

  test("no country, or no geofence, fences nothing out", () => {
    assert.equal(geofenceTopLabel(leopard, at()).label, L.leopard);
    assert.equal(geofenceTopLabel(leopard, { taxonomy, location: { country: "USA" } }).label, L.leopard);
  });

  test("US states: an allow list names the states; an unknown state is not held against the label", () => {
    const bear = top([L.blackBear, 0.9]);
    assert.equal(geofenceTopLabel(bear, at("USA", "NJ")).label, L.blackBear);
    assert.equal(geofenceTopLabel(bear, at("USA")).label, L.blackBear);
    assert.equal(geofenceTopLabel(bear, at("CAN")).label, L.blackBear);
    const fenced = geofenceTopLabel(bear, at("USA", "CA"));
    assert.equal(fenced.source, "classifier+geofence+rollup_to_order");
    assert.equal(fenced.label, L.carnivore);
  });

  test("block lists: a whole country, or only the states listed", () => {
    assert.notEqual(geofenceTopLabel(top([L.zebra, 0.9]), at("USA")).label, L.zebra);
    assert.equal(geofenceTopLabel(top([L.zebra, 0.9]), at("KEN")).label, L.zebra);
    assert.notEqual(geofenceTopLabel(top([L.wildebeest, 0.9]), at("USA", "TX")).label, L.wildebeest);
    assert.equal(geofenceTopLabel(top([L.wildebeest, 0.9]), at("USA", "NY")).label, L.wildebeest);
    assert.equal(geofenceTopLabel(top([L.wildebeest, 0.9]), at("USA")).label, L.wildebeest);
  });

  test("roll-up passes over fenced-out taxa at a level", () => {
    // genus: panthera 0.7 is fenced out in the USA, so nothing at genus; family felidae 0.7 is allowed
    const result = rollUp(top([L.leopard, 0.4], [L.lion, 0.3]), ["genus", "family"], 0.65, at("USA"));
    assert.equal(result?.label, L.catFamily);
    assert.equal(rollUp(top([L.leopard, 0.4], [L.lion, 0.3]), ["genus"], 0.65, at("USA")), undefined);
    assert.equal(rollUp(top([L.leopard, 0.4], [L.lion, 0.3]), ["genus"], 0.65, at("KEN"))?.label, L.pantheraGenus);
  });

  test("when every level is fenced out the result is unknown with the top score", () => {
    const everything = parseGeofence({
      "mammalia;carnivora;felidae;panthera;pardus": { allow: { KEN: [] } },
      "mammalia;carnivora;felidae;;": { allow: { KEN: [] } },
      "mammalia;carnivora;;;": { allow: { KEN: [] } },
      "mammalia;;;;": { allow: { KEN: [] } },
      ";;;;": { allow: { KEN: [] } },
    });
    const result = geofenceTopLabel(top([L.leopard, 0.9]), { taxonomy, geofence: everything, location: { country: "USA" } });
    assert.deepEqual(result, { label: L.unknown, score: 0.9, source: "classifier+geofence+rollup_failed" });
  });
});
