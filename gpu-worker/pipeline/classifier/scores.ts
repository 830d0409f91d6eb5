// From one row of the classifier's output to its top classes: softmax over logits as
// SpeciesNet does (classifier.py batch_predict, torch.softmax then torch.topk), or the
// probabilities as they are.

import type { OutputKind } from "./classifierModel.ts";

/** Scores of one row, as probabilities (softmax computed stably: shifted by the row's largest logit). */
export function toProbabilities(row: ArrayLike<number>, kind: OutputKind): Float64Array {
  const probabilities = Float64Array.from(row);
  if (kind === "probabilities") return probabilities;
  let max = -Infinity;
  for (const value of probabilities) max = Math.max(max, value);
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    probabilities[i] = Math.exp(probabilities[i]! - max);
    sum += probabilities[i]!;
  }
  for (let i = 0; i < probabilities.length; i++) probabilities[i] = probabilities[i]! / sum;
  return probabilities;
}

/** The `k` highest [class index, score] pairs, highest first; on equal scores the lower index first. */
export function topK(scores: ArrayLike<number>, k: number): [number, number][] {
  const best: [number, number][] = [];
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i]!;
    if (best.length === k && score <= best[k - 1]![1]) continue;
    let at = best.length;
    while (at > 0 && best[at - 1]![1] < score) at--;
    best.splice(at, 0, [i, score]);
    if (best.length > k) best.pop();
  }
  return best;
}
