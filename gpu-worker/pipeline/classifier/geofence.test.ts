import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LABELS as L } from "../../../test/helpers/speciesLabels.ts";
import { geofenceCountries, isFencedOut, loadGeofence, parseGeofence } from "./geofence.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-geofence-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("loads a geofence file and answers per country and state", async () => {
  const path = join(dir, "geofence.json");
  await writeFile(path, JSON.stringify({ "mammalia;carnivora;ursidae;ursus;americanus": { allow: { USA: ["AK"], CAN: [] }, block: { MEX: [] } } }));
  const geofence = await loadGeofence(path);
  assert.deepEqual([...geofenceCountries(geofence)].sort(), ["CAN", "MEX", "USA"]);
  assert.equal(isFencedOut(L.blackBear, { country: "CAN" }, geofence), false);
  assert.equal(isFencedOut(L.blackBear, { country: "USA", admin1Region: "AK" }, geofence), false);
  assert.equal(isFencedOut(L.blackBear, { country: "USA", admin1Region: "FL" }, geofence), true);
  assert.equal(isFencedOut(L.blackBear, { country: "KEN" }, geofence), true);
  assert.equal(isFencedOut(L.leopard, { country: "KEN" }, geofence), false, "a taxon the geofence does not name is never fenced out");
});

test("an empty allow list restricts nothing (as SpeciesNet's truthiness check)", () => {
  const geofence = parseGeofence({ "mammalia;carnivora;felidae;panthera;pardus": { allow: {} } });
  assert.equal(isFencedOut(L.leopard, { country: "USA" }, geofence), false);
});

test("unreadable, malformed and mis-keyed files are refused with the file named", async () => {
  await assert.rejects(loadGeofence(join(dir, "missing.json")), /cannot read the geofence file .*missing\.json/);
  const notJson = join(dir, "broken.json");
  await writeFile(notJson, "{ not json");
  await assert.rejects(loadGeofence(notJson), /the geofence file .*broken\.json is not valid JSON/);
  const wrongShape = join(dir, "shape.json");
  await writeFile(wrongShape, JSON.stringify({ "mammalia;carnivora;felidae;panthera;pardus": { allow: { KEN: "all" } } }));
  await assert.rejects(loadGeofence(wrongShape), /shape\.json is not a SpeciesNet geofence/);
  assert.throws(() => parseGeofence({ "panthera pardus": { allow: { KEN: [] } } }, "g.json"), /g\.json: key "panthera pardus" is not "class;order;family;genus;species"/);
});
