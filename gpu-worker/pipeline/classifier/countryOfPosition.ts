// The country (and, in the USA, the state) under a photo's GPS position, offline: what the
// geofence needs when a job names no country. Two small libraries, each for what it does well:
// country-coder for ISO 3166-1 alpha-3 (its "territory" level keeps Puerto Rico and Guam apart
// from the USA, as SpeciesNet's geofence lists them), country-reverse-geocoding for US states
// (coarse polygons: a point it misses gets country-level rules only, as SpeciesNet does).

import { iso1A3Code } from "@rapideditor/country-coder";
import { createRequire } from "node:module";
import type { CountryOf } from "./location.ts";

interface UsStates {
  get_us_state(latitude: number, longitude: number): { code: string } | Error | null;
}

// country-reverse-geocoding is CommonJS without types.
const usStates = (createRequire(import.meta.url)("country-reverse-geocoding") as { country_reverse_geocoding(): UsStates }).country_reverse_geocoding();

export const countryOfPosition: CountryOf = (latitude, longitude) => {
  if (!Number.isFinite(latitude) || !Number.isFinite(longitude) || Math.abs(latitude) > 90 || Math.abs(longitude) > 180) return undefined;
  const country = iso1A3Code([longitude, latitude], { level: "territory" });
  if (!country) return undefined;
  const state = country === "USA" ? usStates.get_us_state(latitude, longitude) : null;
  // The library answers "USA-WY"; the geofence speaks two-letter state codes.
  return state && !(state instanceof Error) ? { country, admin1Region: state.code.replace(/^USA-/, "") } : { country };
};
