// fetchModel() with a progress display: a live bar on a terminal, a line every couple of
// seconds in a log. Used by `npm run models:fetch` and by a worker fetching missing weights.

import { SingleBar } from "cli-progress";
import { fetchModel, formatMB, type FetchModelOptions, type FetchProgress } from "./fetch.ts";
import type { ManifestEntry } from "./manifest.ts";

/** How often a line is printed when stdout is a file or a pipe (a log, CI). */
const PLAIN_PROGRESS_INTERVAL_MS = 2000;

/** Downloads and verifies the entry's weights, showing progress on stdout; returns the file's path. */
export async function fetchModelWithProgress(entry: ManifestEntry, options: Omit<FetchModelOptions, "onProgress" | "onMessage"> = {}): Promise<string> {
  const progress = new ProgressDisplay(entry);
  try {
    return await fetchModel(entry, {
      ...options,
      onProgress: (update) => progress.update(update),
      onMessage: (message) => {
        progress.stop();
        console.log(message);
      },
    });
  } finally {
    progress.stop();
  }
}

/** A live bar on a terminal; a line every couple of seconds when stdout is a log. */
class ProgressDisplay {
  private bar: SingleBar | undefined;
  private startedAt = 0;
  private readonly entry: ManifestEntry;

  constructor(entry: ManifestEntry) {
    this.entry = entry;
  }

  update({ receivedBytes, totalBytes }: FetchProgress): void {
    if (!this.bar) this.start(totalBytes);
    const seconds = Math.max((Date.now() - this.startedAt) / 1000, 0.001);
    this.bar?.update(receivedBytes, {
      received: formatMB(receivedBytes),
      speed: `${(receivedBytes / 1_000_000 / seconds).toFixed(1)} MB/s`,
    });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  private start(totalBytes: number | undefined): void {
    const tty = process.stdout.isTTY === true;
    const sizeKnown = totalBytes !== undefined;
    const format = sizeKnown
      ? `${this.entry.id}${tty ? " {bar}" : ":"} {percentage}% | {received} of ${formatMB(totalBytes)} | {speed} | ETA {eta_formatted}`
      : `${this.entry.id}: {received} | {speed}`;
    this.startedAt = Date.now();
    this.bar = new SingleBar({
      format,
      stream: process.stdout,
      noTTYOutput: true,
      notTTYSchedule: PLAIN_PROGRESS_INTERVAL_MS,
      // Off a terminal, clearing is a no-op that spares the blank line stop() would add.
      clearOnComplete: !tty,
      hideCursor: tty,
      etaBuffer: 50,
    });
    this.bar.start(totalBytes ?? 0, 0, { received: formatMB(0), speed: "0.0 MB/s" });
  }
}
