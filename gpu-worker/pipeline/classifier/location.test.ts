import assert from "node:assert/strict";
import { test } from "node:test";
import { checkLocationOption, locatePhoto, type CountryOf } from "./location.ts";

test("the job's country: ISO alpha-3, any case; a US state as CA, US-CA or USA-CA", () => {
  assert.deepEqual(checkLocationOption({ country: "ken" }), { country: "KEN" });
  assert.deepEqual(checkLocationOption({ country: "USA", admin1Region: "us-ca" }), { country: "USA", admin1Region: "CA" });
  assert.deepEqual(checkLocationOption({ country: "USA", admin1Region: "USA-NJ" }), { country: "USA", admin1Region: "NJ" });
  assert.equal(checkLocationOption({}), undefined);
  assert.equal(checkLocationOption({ country: "  " }), undefined);
  assert.equal(checkLocationOption(undefined), undefined);
});

test("unknown codes are refused, naming the value", () => {
  assert.throws(() => checkLocationOption({ country: "Kenya" }), /unknown country code "Kenya": give an ISO 3166-1 alpha-3 code/);
  assert.throws(() => checkLocationOption({ country: "KE" }), /unknown country code "KE"/);
  assert.throws(() => checkLocationOption({ country: "USA", admin1Region: "ZZ" }), /unknown US state code "ZZ"/);
  assert.throws(() => checkLocationOption({ country: "CAN", admin1Region: "ON" }), /a state \("ON"\) is only used with country USA/);
  assert.throws(() => checkLocationOption({ admin1Region: "CA" }), /needs the country too/);
});

test("a code that the loaded geofence names is accepted even when ISO keeps it in reserve", () => {
  assert.throws(() => checkLocationOption({ country: "XKX" }), /unknown country code/);
  assert.deepEqual(checkLocationOption({ country: "XKX" }, new Set(["XKX"])), { country: "XKX" });
});

test("each photo: the job's country first, else its GPS position's, else none", () => {
  const calls: [number, number][] = [];
  const countryOf: CountryOf = (lat, lon) => {
    calls.push([lat, lon]);
    return lat > 0 ? { country: "usa", admin1Region: "USA-WY" } : lat < -80 ? undefined : { country: "KEN", admin1Region: "30" };
  };
  assert.deepEqual(locatePhoto({ country: "TZA" }, { latitude: 44.6, longitude: -110.5 }, countryOf), { source: "option", country: "TZA" });
  assert.equal(calls.length, 0, "the job's country needs no lookup");
  assert.deepEqual(locatePhoto(undefined, { latitude: 44.6, longitude: -110.5 }, countryOf), { source: "gps", country: "USA", admin1Region: "WY" });
  assert.deepEqual(locatePhoto(undefined, { latitude: -1.3, longitude: 36.8 }, countryOf), { source: "gps", country: "KEN" }, "states are kept for the USA only");
  assert.deepEqual(locatePhoto(undefined, { latitude: -85, longitude: 0 }, countryOf), { source: "none" });
  assert.deepEqual(locatePhoto(undefined, {}, countryOf), { source: "none" });
  assert.deepEqual(locatePhoto(undefined, { latitude: 1, longitude: 2 }, undefined), { source: "none" });
  assert.deepEqual(
    locatePhoto(undefined, { latitude: 1, longitude: 2 }, () => {
      throw new Error("bad data");
    }),
    { source: "none" },
  );
});
