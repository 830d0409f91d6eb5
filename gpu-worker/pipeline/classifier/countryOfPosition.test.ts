import { test } from "node:test";
import assert from "node:assert/strict";
import { countryOfPosition } from "./countryOfPosition.ts";

test("GPS positions become a country, and a state in the USA", () => {
  assert.deepEqual(countryOfPosition(-2.33, 34.83), { country: "TZA" }, "Serengeti");
  assert.deepEqual(countryOfPosition(-24.0, 31.5), { country: "ZAF" }, "Kruger");
  assert.deepEqual(countryOfPosition(44.6, -110.5), { country: "USA", admin1Region: "WY" }, "Yellowstone");
  assert.deepEqual(countryOfPosition(18.22, -66.59), { country: "PRI" }, "Puerto Rico is its own territory");
});

test("the sea, and positions that are not on Earth, have no country", () => {
  assert.equal(countryOfPosition(30, -40), undefined);
  assert.equal(countryOfPosition(95, 10), undefined);
  assert.equal(countryOfPosition(Number.NaN, 10), undefined);
});
