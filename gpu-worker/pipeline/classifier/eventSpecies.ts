// The species of one event (burst), settled across its frames, and how many of each: a pure
// function over the per-photo results of one event (events/events.ts says which photos those are).
//
// Settling: a label that is a higher taxon of another label seen in the event is taken as a
// less sure sighting of it. A leopard in frames 1 and 3 and "mammal" in frame 2 is a leopard
// event; when the higher taxon sits above several labels seen (leopard and lion under "cat
// family"), it joins the one with the most boxes (then the higher summed score). Labels that
// are not higher taxa of each other stay separate species (a zebra and a wildebeest in one
// burst), and so do blank, vehicle and "no cv result".
// Counting: per species, the most boxes in any one frame (MaxN), the usual count for a burst
// in which the same animals are seen again and again.

import { isSameOrAncestor } from "./taxonomy.ts";
import type { ImageResult } from "../types.ts";

export interface EventSpecies {
  /** The settled SpeciesNet label. */
  label: string;
  /** MaxN: the most boxes settled to this label in any one frame. */
  count: number;
  /** Frames with at least one box settled to this label. */
  frames: number;
  /** Boxes settled to this label, all frames together. */
  boxes: number;
  /** Highest ensemble score of the boxes that had exactly this label. */
  score: number;
}

export interface EventSpeciesOptions {
  /** Boxes whose detector confidence is below this are not counted (pass the render threshold to count what is drawn). Default 0. */
  minConf?: number;
}

interface LabelTally {
  boxes: number;
  scoreSum: number;
  bestScore: number;
}

/** Species of one event, most numerous first (then most boxes, then highest score). */
export function settleEventSpecies(
  frames: readonly Pick<ImageResult, "detections">[],
  options: EventSpeciesOptions = {},
): EventSpecies[] {
  const minConf = options.minConf ?? 0;
  const frameLabels = frames.map((frame) =>
    frame.detections.filter((d) => d.species !== undefined && d.conf >= minConf).map((d) => d.species!),
  );
  const tallies = new Map<string, LabelTally>();
  for (const predictions of frameLabels) {
    for (const { label, score } of predictions) {
      const tally = tallies.get(label) ?? { boxes: 0, scoreSum: 0, bestScore: 0 };
      tally.boxes += 1;
      tally.scoreSum += score;
      tally.bestScore = Math.max(tally.bestScore, score);
      tallies.set(label, tally);
    }
  }

  const labels = [...tallies.keys()];
  const isStrictAncestor = (a: string, b: string): boolean => isSameOrAncestor(a, b) && !isSameOrAncestor(b, a);
  const leaves = labels.filter((label) => !labels.some((other) => isStrictAncestor(label, other)));
  const settled = new Map<string, string>();
  for (const label of labels) {
    if (leaves.includes(label)) {
      settled.set(label, label);
      continue;
    }
    const below = leaves.filter((leaf) => isStrictAncestor(label, leaf));
    below.sort((a, b) => {
      const ta = tallies.get(a)!;
      const tb = tallies.get(b)!;
      return tb.boxes - ta.boxes || tb.scoreSum - ta.scoreSum || a.localeCompare(b);
    });
    settled.set(label, below[0]!);
  }

  const species = new Map<string, EventSpecies>();
  for (const leaf of leaves) species.set(leaf, { label: leaf, count: 0, frames: 0, boxes: 0, score: tallies.get(leaf)!.bestScore });
  for (const predictions of frameLabels) {
    const inFrame = new Map<string, number>();
    for (const { label } of predictions) {
      const leaf = settled.get(label)!;
      inFrame.set(leaf, (inFrame.get(leaf) ?? 0) + 1);
    }
    for (const [leaf, boxes] of inFrame) {
      const entry = species.get(leaf)!;
      entry.count = Math.max(entry.count, boxes);
      entry.frames += 1;
      entry.boxes += boxes;
    }
  }
  return [...species.values()].sort((a, b) => b.count - a.count || b.boxes - a.boxes || b.score - a.score);
}
