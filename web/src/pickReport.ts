// What the page says when a folder is picked again for a job (repick.ts compares them): what
// storage holds, what will be sent, and each way the pick differs from the job, with the first
// few names of each, so nobody has to guess why a file is not sent.
import { formatBytes, plural } from "./format.ts";
import type { PickComparison } from "./repick.ts";

/** Names quoted per kind of difference before "and N more". */
export const NAMES_QUOTED = 5;

export interface PickReport {
  /** One line: what is in storage and what will be sent. */
  summary: string;
  /** One sentence per way the pick differs from the job; empty when it matches. */
  differences: string[];
  /** The job can be finished from this pick (nothing it lacks is missing from the pick). */
  complete: boolean;
}

function quoted(names: readonly string[], total: number): string {
  const shown = names.slice(0, NAMES_QUOTED).map((name) => `“${name}”`).join(", ");
  return total > NAMES_QUOTED ? `${shown} and ${(total - NAMES_QUOTED).toLocaleString("en")} more` : shown;
}

/** `nameOf`/`sizeOf` read the picked file at a list index; `extrasAdded`: extras join the job (its listing was cut short). */
export function pickReport(comparison: PickComparison, nameOf: (index: number) => string, sizeOf: (index: number) => number, extrasAdded: boolean): PickReport {
  const { toSend, stored, otherSize, extra, notPicked, unsendable } = comparison;
  const sending = toSend.length + (extrasAdded ? extra.length : 0);
  const summary =
    sending === 0
      ? `Storage holds ${plural(stored.length, "file")} of this pick already; none is left to send.`
      : `Storage holds ${plural(stored.length, "file")} of this pick already; ${plural(sending, "file")} will be sent.`;
  const differences: string[] = [];
  if (notPicked.length > 0) {
    differences.push(
      `${plural(notPicked.length, "file")} of the job ${notPicked.length === 1 ? "is" : "are"} not in this pick and not in storage: ${quoted(
        notPicked.map((file) => file.name),
        notPicked.length,
      )}. Pick the folder that holds ${notPicked.length === 1 ? "it" : "them"} too, or leave ${notPicked.length === 1 ? "it" : "them"} out of the job (the button below); the job is submitted once storage has every file it holds.`,
    );
  }
  if (otherSize.length > 0) {
    const names = otherSize.slice(0, NAMES_QUOTED).map(({ index, planned }) => `“${nameOf(index)}” (${formatBytes(sizeOf(index))} here, ${formatBytes(planned)} in the job)`);
    const more = otherSize.length > NAMES_QUOTED ? ` and ${(otherSize.length - NAMES_QUOTED).toLocaleString("en")} more` : "";
    // Those storage lacks at the job's size hold the job up, as files not picked do.
    const lacking = unsendable.length - notPicked.length;
    const held =
      lacking > 0
        ? ` Storage lacks ${lacking === otherSize.length ? (lacking === 1 ? "it" : "them") : `${plural(lacking, "file")} of them`} at the job's size too: pick ${lacking === 1 ? "it" : "them"} as ${lacking === 1 ? "it was" : "they were"}, or leave ${lacking === 1 ? "it" : "them"} out of the job (the button below).`
        : "";
    differences.push(`${plural(otherSize.length, "file")} ${otherSize.length === 1 ? "has" : "have"} another size than in the job: ${names.join(", ")}${more}. ${otherSize.length === 1 ? "It is" : "They are"} not sent.${held}`);
  }
  if (extra.length > 0) {
    const names = quoted(extra.map(nameOf), extra.length);
    differences.push(
      extrasAdded
        ? `${plural(extra.length, "file")} ${extra.length === 1 ? "was" : "were"} not yet part of the job (the page closed while it was listing them): ${names}. ${extra.length === 1 ? "It is" : "They are"} added and sent.`
        : `${plural(extra.length, "file")} in this pick ${extra.length === 1 ? "is" : "are"} not part of the job: ${names}. ${extra.length === 1 ? "It is" : "They are"} not sent.`,
    );
  }
  return { summary, differences, complete: unsendable.length === 0 };
}
