// SpeciesNet's labels and the taxonomy its ensemble rolls up through. A label is one line of
// seven ';'-separated parts, `uuid;class;order;family;genus;species;common name`
// (e.g. "...;mammalia;carnivora;felidae;panthera;pardus;leopard"); a higher taxon leaves the
// lower parts empty ("...;mammalia;carnivora;felidae;;;cat family").
// The rules here follow SpeciesNet taxonomy_utils.py and ensemble.py load_taxonomy.

import { SPECIESNET_LABELS, type TaxonomyLevel } from "./constants.ts";

export const LABEL_PART_COUNT = 7;

/** The five taxa of a label, class to species: the key of the taxonomy and of the geofence. */
export type TaxaKey = string;

/** Taxa key -> the label that names that taxon. */
export type TaxonomyMap = ReadonlyMap<TaxaKey, string>;

export interface LabelParts {
  uuid: string;
  class: string;
  order: string;
  family: string;
  genus: string;
  species: string;
  commonName: string;
}

/** Why a label is not a SpeciesNet label, or undefined when it is one. */
export function labelProblem(label: string): string | undefined {
  const parts = label.split(";").length;
  return parts === LABEL_PART_COUNT
    ? undefined
    : `has ${parts} ';'-separated parts, a SpeciesNet label has ${LABEL_PART_COUNT} (uuid;class;order;family;genus;species;common name)`;
}

export function parseLabel(label: string): LabelParts {
  const problem = labelProblem(label);
  if (problem) throw new Error(`label "${label}" ${problem}`);
  const [uuid, klass, order, family, genus, species, commonName] = label.split(";") as [
    string, string, string, string, string, string, string,
  ];
  return { uuid, class: klass, order, family, genus, species, commonName };
}

/** SpeciesNet taxonomy_utils.py get_full_class_string: "class;order;family;genus;species". */
export function taxaKeyOf(label: string): TaxaKey {
  const { class: klass, order, family, genus, species } = parseLabel(label);
  return [klass, order, family, genus, species].join(";");
}

/**
 * SpeciesNet taxonomy_utils.py get_ancestor_at_level: the key of the label's ancestor at
 * `level` (the label itself when it sits at that level), or undefined when the label has no
 * taxon there. Every label with a class, and the "animal" label itself, has the kingdom.
 */
export function ancestorKeyAt(label: string, level: TaxonomyLevel): TaxaKey | undefined {
  const parts = parseLabel(label);
  const taxa = [parts.class, parts.order, parts.family, parts.genus, parts.species];
  const depth = { class: 1, order: 2, family: 3, genus: 4, species: 5, kingdom: 0 }[level];
  if (depth === 0) return parts.class || label === SPECIESNET_LABELS.animal ? ";;;;" : undefined;
  if (!taxa[depth - 1]) return undefined;
  return taxa.map((taxon, i) => (i < depth ? taxon : "")).join(";");
}

/** The label naming the ancestor at `level`, when the taxonomy has it. */
export function ancestorAt(label: string, level: TaxonomyLevel, taxonomy: TaxonomyMap): string | undefined {
  const key = ancestorKeyAt(label, level);
  return key === undefined ? undefined : taxonomy.get(key);
}

/**
 * SpeciesNet ensemble.py load_taxonomy: every label by its taxa, without blank, vehicle and
 * "no cv result" (whose taxa would otherwise stand for the kingdom or a bogus class), with
 * SpeciesNet's own human and animal labels.
 *
 * SpeciesNet reads a taxonomy file shipped with the model (taxonomy_release.txt), which names
 * every higher taxon a roll-up can reach. Without one, `synthesizeAncestors` adds each missing
 * ancestor of the given labels as `;class;order;family;genus;species;<lowest taxon name>`
 * (empty uuid), so roll-ups still reach genus, family, order and class.
 */
export function buildTaxonomy(labels: readonly string[], options: { synthesizeAncestors: boolean }): Map<TaxaKey, string> {
  const taxonomy = new Map<TaxaKey, string>();
  for (const label of labels) taxonomy.set(taxaKeyOf(label), label);
  for (const special of [SPECIESNET_LABELS.blank, SPECIESNET_LABELS.vehicle, SPECIESNET_LABELS.unknown]) {
    taxonomy.delete(taxaKeyOf(special));
  }
  for (const special of [SPECIESNET_LABELS.human, SPECIESNET_LABELS.animal]) taxonomy.set(taxaKeyOf(special), special);
  if (options.synthesizeAncestors) {
    for (const label of labels.filter((l) => !isUnknown(l))) {
      for (const level of ["genus", "family", "order", "class"] as const) {
        const key = ancestorKeyAt(label, level);
        if (key === undefined || taxonomy.has(key)) continue;
        const taxa = key.split(";").filter(Boolean);
        taxonomy.set(key, `;${key};${taxa[taxa.length - 1]!}`);
      }
    }
  }
  return taxonomy;
}

/** SpeciesNet's "no cv result": the classifier could not decide. */
export function isUnknown(label: string): boolean {
  return label === SPECIESNET_LABELS.unknown;
}

export type LabelRank = TaxonomyLevel | "blank" | "vehicle" | "unknown";

export interface LabelDescription {
  commonName: string;
  /** "Panthera pardus" for a species, "Panthera" for a genus, "Felidae" for a family...; absent for blank, vehicle, unknown, animal. */
  scientificName?: string;
  rank: LabelRank;
}

const capitalise = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);

/** What a person (and Camtrap DP) reads from a label: its common name, scientific name and rank. */
export function describeLabel(label: string): LabelDescription {
  const parts = parseLabel(label);
  const commonName = parts.commonName;
  if (label === SPECIESNET_LABELS.blank) return { commonName, rank: "blank" };
  if (label === SPECIESNET_LABELS.vehicle) return { commonName, rank: "vehicle" };
  if (isUnknown(label)) return { commonName, rank: "unknown" };
  if (parts.species && parts.genus) return { commonName, scientificName: `${capitalise(parts.genus)} ${parts.species}`, rank: "species" };
  const levels = [
    ["genus", parts.genus],
    ["family", parts.family],
    ["order", parts.order],
    ["class", parts.class],
  ] as const;
  for (const [rank, taxon] of levels) if (taxon) return { commonName, scientificName: capitalise(taxon), rank };
  return { commonName, rank: "kingdom" };
}

/**
 * True when `ancestor` is `label` or one of its higher taxa: its taxa are a prefix of the
 * label's, and the kingdom ("animal") is above every label that has a class.
 */
export function isSameOrAncestor(ancestor: string, label: string): boolean {
  if (ancestor === label) return true;
  if (isUnknown(ancestor) || isUnknown(label)) return false;
  const a = taxaKeyOf(ancestor).split(";");
  const b = taxaKeyOf(label).split(";");
  const depth = a.findIndex((taxon) => !taxon);
  const aDepth = depth === -1 ? a.length : depth;
  if (aDepth === 0) return ancestor === SPECIESNET_LABELS.animal && b[0] !== "";
  if (a.slice(aDepth).some(Boolean)) return false;
  return a.slice(0, aDepth).every((taxon, i) => taxon === b[i]);
}
