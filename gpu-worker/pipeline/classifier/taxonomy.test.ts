import assert from "node:assert/strict";
import { test } from "node:test";
import { LABELS as L } from "../../../test/helpers/speciesLabels.ts";
import { ancestorAt, ancestorKeyAt, buildTaxonomy, describeLabel, isSameOrAncestor, parseLabel, taxaKeyOf } from "./taxonomy.ts";

test("a label's taxa and its ancestor at each level, as SpeciesNet's get_ancestor_at_level", () => {
  assert.equal(taxaKeyOf(L.leopard), "mammalia;carnivora;felidae;panthera;pardus");
  assert.equal(ancestorKeyAt(L.leopard, "species"), "mammalia;carnivora;felidae;panthera;pardus");
  assert.equal(ancestorKeyAt(L.leopard, "genus"), "mammalia;carnivora;felidae;panthera;");
  assert.equal(ancestorKeyAt(L.leopard, "family"), "mammalia;carnivora;felidae;;");
  assert.equal(ancestorKeyAt(L.leopard, "order"), "mammalia;carnivora;;;");
  assert.equal(ancestorKeyAt(L.leopard, "class"), "mammalia;;;;");
  assert.equal(ancestorKeyAt(L.leopard, "kingdom"), ";;;;");
  // a family-level label has no genus or species
  assert.equal(ancestorKeyAt(L.catFamily, "genus"), undefined);
  assert.equal(ancestorKeyAt(L.catFamily, "species"), undefined);
  // blank and vehicle have no kingdom; the animal label is the kingdom
  assert.equal(ancestorKeyAt(L.blank, "kingdom"), undefined);
  assert.equal(ancestorKeyAt(L.vehicle, "kingdom"), undefined);
  assert.equal(ancestorKeyAt(L.animal, "kingdom"), ";;;;");
});

test("the taxonomy drops blank, vehicle and unknown and always has SpeciesNet's human and animal", () => {
  const taxonomy = buildTaxonomy([L.leopard, L.blank, L.vehicle, L.unknown], { synthesizeAncestors: false });
  assert.equal(taxonomy.get(";;;;"), L.animal);
  assert.equal(taxonomy.get("mammalia;primates;hominidae;homo;sapiens"), L.human);
  assert.equal(taxonomy.get("no cv result;no cv result;no cv result;no cv result;no cv result"), undefined);
  assert.equal(ancestorAt(L.leopard, "family", taxonomy), undefined);
  assert.equal(ancestorAt(L.leopard, "kingdom", taxonomy), L.animal);
});

test("without a taxonomy file the missing ancestors are made from the labels", () => {
  const taxonomy = buildTaxonomy([L.leopard, L.catFamily], { synthesizeAncestors: true });
  assert.equal(ancestorAt(L.leopard, "genus", taxonomy), ";mammalia;carnivora;felidae;panthera;;panthera");
  assert.equal(ancestorAt(L.leopard, "family", taxonomy), L.catFamily, "a label the classifier has wins over a made-up one");
  assert.equal(ancestorAt(L.leopard, "class", taxonomy), ";mammalia;;;;;mammalia");
  assert.equal(buildTaxonomy([L.unknown], { synthesizeAncestors: true }).size, 2, "nothing made from 'no cv result'");
});

test("labels that are not seven parts are refused with the label in the message", () => {
  assert.throws(() => parseLabel("leopard"), /label "leopard" has 1 ';'-separated parts, a SpeciesNet label has 7/);
  assert.deepEqual(parseLabel(L.lion), {
    uuid: "00000000-0000-4000-8000-000000000002",
    class: "mammalia",
    order: "carnivora",
    family: "felidae",
    genus: "panthera",
    species: "leo",
    commonName: "lion",
  });
});

test("describeLabel gives the common name, scientific name and rank", () => {
  assert.deepEqual(describeLabel(L.leopard), { commonName: "leopard", scientificName: "Panthera pardus", rank: "species" });
  assert.deepEqual(describeLabel(L.pantheraGenus), { commonName: "panthera species", scientificName: "Panthera", rank: "genus" });
  assert.deepEqual(describeLabel(L.catFamily), { commonName: "cat family", scientificName: "Felidae", rank: "family" });
  assert.deepEqual(describeLabel(L.mammal), { commonName: "mammal", scientificName: "Mammalia", rank: "class" });
  assert.deepEqual(describeLabel(L.animal), { commonName: "animal", rank: "kingdom" });
  assert.deepEqual(describeLabel(L.blank), { commonName: "blank", rank: "blank" });
  assert.deepEqual(describeLabel(L.unknown), { commonName: "no cv result", rank: "unknown" });
});

test("isSameOrAncestor follows the taxa, with the animal kingdom above every classed label", () => {
  assert.ok(isSameOrAncestor(L.mammal, L.leopard));
  assert.ok(isSameOrAncestor(L.catFamily, L.lion));
  assert.ok(isSameOrAncestor(L.animal, L.zebra));
  assert.ok(isSameOrAncestor(L.leopard, L.leopard));
  assert.ok(!isSameOrAncestor(L.leopard, L.mammal));
  assert.ok(!isSameOrAncestor(L.catFamily, L.zebra));
  assert.ok(!isSameOrAncestor(L.lion, L.leopard));
  assert.ok(!isSameOrAncestor(L.animal, L.blank));
  assert.ok(!isSameOrAncestor(L.animal, L.unknown));
});
