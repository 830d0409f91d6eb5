// SpeciesNet's geofence: per taxon, the countries (ISO 3166-1 alpha-3) where it may be
// predicted ("allow") or may not ("block"), each optionally narrowed to first-level regions
// (two-letter US state codes; an empty list means the whole country). SpeciesNet ships it as
// JSON beside its model (geofence_release.*.json), keyed by the taxa "class;order;family;genus;species":
//
//   { "mammalia;carnivora;ursidae;ursus;americanus": { "allow": { "USA": ["AK", "NJ"], "CAN": [] } },
//     "mammalia;carnivora;canidae;canis;lupus dingo":  { "block": { "USA": [] } } }
//
// isFencedOut follows SpeciesNet geofence_utils.py should_geofence_animal_classification.

import { readFile } from "node:fs/promises";
import { z } from "zod";
import { taxaKeyOf, type TaxaKey } from "./taxonomy.ts";

const RegionLists = z.record(z.string(), z.array(z.string()));
const RulesSchema = z.object({ allow: RegionLists.optional(), block: RegionLists.optional() });
const GeofenceSchema = z.record(z.string(), RulesSchema);

export type GeofenceRules = z.infer<typeof RulesSchema>;
export type GeofenceMap = ReadonlyMap<TaxaKey, GeofenceRules>;

/** Where a photo was taken, as the geofence reads it. */
export interface GeofenceLocation {
  /** ISO 3166-1 alpha-3. */
  country?: string;
  /** Two-letter state code, for the USA only. */
  admin1Region?: string;
}

/** Reads and checks a geofence file; the error names the file and what is wrong. */
export async function loadGeofence(path: string): Promise<GeofenceMap> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read the geofence file ${path}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new Error(`the geofence file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return parseGeofence(data, path);
}

export function parseGeofence(data: unknown, origin = "the geofence"): GeofenceMap {
  const result = GeofenceSchema.safeParse(data);
  if (!result.success) {
    throw new Error(
      `${origin} is not a SpeciesNet geofence ({"class;order;family;genus;species": {"allow"?: {ISO3: [states]}, "block"?: {...}}}):\n` +
        z.prettifyError(result.error),
    );
  }
  const map = new Map<TaxaKey, GeofenceRules>();
  for (const [key, rules] of Object.entries(result.data)) {
    if (key.split(";").length !== 5) {
      throw new Error(`${origin}: key "${key}" is not "class;order;family;genus;species" (5 ';'-separated taxa)`);
    }
    map.set(key, rules);
  }
  return map;
}

/** Every country code a geofence names (a user may name any of them). */
export function geofenceCountries(geofence: GeofenceMap): Set<string> {
  const countries = new Set<string>();
  for (const rules of geofence.values()) {
    for (const country of Object.keys(rules.allow ?? {})) countries.add(country);
    for (const country of Object.keys(rules.block ?? {})) countries.add(country);
  }
  return countries;
}

/**
 * True when the geofence rules out `label` at `location`. Nothing is ruled out without a
 * country, or for a taxon the geofence does not name. "allow": a country not listed is ruled
 * out, and within a listed country a known state not listed (when the list is not empty).
 * "block": a listed country with an empty list is ruled out, or a known state it lists.
 */
export function isFencedOut(label: string, location: GeofenceLocation, geofence: GeofenceMap | undefined): boolean {
  const { country, admin1Region } = location;
  if (!geofence || !country) return false;
  const rules = geofence.get(taxaKeyOf(label));
  if (!rules) return false;
  const allow = rules.allow;
  if (allow && Object.keys(allow).length > 0) {
    const regions = Object.hasOwn(allow, country) ? allow[country] : undefined;
    if (!regions) return true;
    if (admin1Region && regions.length > 0 && !regions.includes(admin1Region)) return true;
  }
  const blocked = rules.block && Object.hasOwn(rules.block, country) ? rules.block[country] : undefined;
  if (blocked) {
    if (blocked.length === 0) return true;
    if (admin1Region && blocked.includes(admin1Region)) return true;
  }
  return false;
}
