// Where a photo was taken, for the geofence: the job's own country (and US state) when the
// user gave one, else the country under the photo's GPS position, else nowhere (no geofence).
// The country lookup is passed in (countryOf), so this stage needs no map data of its own.

import { ADMIN1_COUNTRY } from "./constants.ts";
import type { GeofenceLocation } from "./geofence.ts";
import { ISO_3166_ALPHA3, US_STATE_CODES } from "./regionCodes.ts";
import type { SpeciesLocation } from "../types.ts";

/** Country (ISO 3166-1 alpha-3) and, in the USA, state (two letters) at a GPS position, or undefined at sea or unknown. */
export type CountryOf = (latitude: number, longitude: number) => GeofenceLocation | undefined;

/** The job option as the user wrote it. */
export interface LocationOption {
  country?: string;
  admin1Region?: string;
}

/**
 * Checks the job's location before any photo is read. Codes are case-insensitive; a state may
 * be written "CA", "US-CA" or "USA-CA". Countries a loaded geofence names are accepted too (it may use a
 * code ISO keeps in reserve). Throws an error naming the value and what to give instead.
 */
export function checkLocationOption(
  option: LocationOption | undefined,
  extraCountries: ReadonlySet<string> = new Set(),
): GeofenceLocation | undefined {
  const country = option?.country?.trim().toUpperCase() || undefined;
  const region = option?.admin1Region?.trim().toUpperCase().replace(/^USA?-/, "") || undefined;
  if (!country) {
    if (region) throw new Error(`a state ("${option?.admin1Region}") needs the country too: give country ${ADMIN1_COUNTRY}`);
    return undefined;
  }
  if (!ISO_3166_ALPHA3.has(country) && !extraCountries.has(country)) {
    throw new Error(`unknown country code "${option?.country}": give an ISO 3166-1 alpha-3 code such as KEN, USA or AUS`);
  }
  if (!region) return { country };
  if (country !== ADMIN1_COUNTRY) {
    throw new Error(`a state ("${option?.admin1Region}") is only used with country ${ADMIN1_COUNTRY}: SpeciesNet's geofence knows US states only`);
  }
  if (!US_STATE_CODES.has(region)) {
    throw new Error(`unknown US state code "${option?.admin1Region}": give a two-letter code such as CA, NY or DC`);
  }
  return { country, admin1Region: region };
}

/** The location for one photo: the job's, else its GPS position's, else none. */
export function locatePhoto(
  jobLocation: GeofenceLocation | undefined,
  position: { latitude?: number; longitude?: number },
  countryOf: CountryOf | undefined,
): SpeciesLocation {
  if (jobLocation?.country) return { source: "option", ...jobLocation };
  const { latitude, longitude } = position;
  if (!countryOf || latitude === undefined || longitude === undefined || !Number.isFinite(latitude) || !Number.isFinite(longitude)) {
    return { source: "none" };
  }
  let found: GeofenceLocation | undefined;
  try {
    found = countryOf(latitude, longitude);
  } catch {
    // A lookup that fails on one odd position (out of range, bad data) leaves that photo without a geofence.
    return { source: "none" };
  }
  const country = found?.country?.toUpperCase();
  if (!country) return { source: "none" };
  const region = country === ADMIN1_COUNTRY ? found?.admin1Region?.toUpperCase().replace(/^USA?-/, "") : undefined;
  return { source: "gps", country, ...(region ? { admin1Region: region } : {}) };
}
