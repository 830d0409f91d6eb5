// Hand-made SpeciesNet-style labels for the classifier tests: real taxa, made-up uuids. The
// special labels (blank, animal, human, vehicle) are SpeciesNet's own, since its rules key on them.

import { SPECIESNET_LABELS } from "../../gpu-worker/pipeline/classifier/constants.ts";

export const LABELS = {
  leopard: "00000000-0000-4000-8000-000000000001;mammalia;carnivora;felidae;panthera;pardus;leopard",
  lion: "00000000-0000-4000-8000-000000000002;mammalia;carnivora;felidae;panthera;leo;lion",
  cheetah: "00000000-0000-4000-8000-000000000003;mammalia;carnivora;felidae;acinonyx;jubatus;cheetah",
  pantheraGenus: "00000000-0000-4000-8000-000000000004;mammalia;carnivora;felidae;panthera;;panthera species",
  catFamily: "00000000-0000-4000-8000-000000000005;mammalia;carnivora;felidae;;;cat family",
  carnivore: "00000000-0000-4000-8000-000000000006;mammalia;carnivora;;;;carnivorous mammal",
  mammal: "00000000-0000-4000-8000-000000000007;mammalia;;;;;mammal",
  zebra: "00000000-0000-4000-8000-000000000008;mammalia;perissodactyla;equidae;equus;quagga;plains zebra",
  wildebeest: "00000000-0000-4000-8000-000000000009;mammalia;cetartiodactyla;bovidae;connochaetes;taurinus;common wildebeest",
  blackBear: "00000000-0000-4000-8000-00000000000a;mammalia;carnivora;ursidae;ursus;americanus;american black bear",
  ...SPECIESNET_LABELS,
} as const;

/** The label texts of a file: one per line, in output-class order. */
export function labelsFile(labels: readonly string[]): string {
  return `${labels.join("\n")}\n`;
}
