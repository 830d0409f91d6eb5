// The bar and the line under it for the whole upload: bytes and files in storage, speed and time
// left, and, when nothing moves, why: paused for want of a connection (it goes on by itself), or
// stalled (requests out, nothing coming back). Reads only the list's counters: no walk over files.
import type { Connection } from "./connection.ts";
import { byId, setBar } from "./dom.ts";
import { formatBytes, formatDuration, formatSpeed, plural } from "./format.ts";
import type { PickedList } from "./pickedList.ts";
import type { TransferRate } from "./transferRate.ts";

export const PAUSED_WORDS = "Paused: no connection — resumes by itself";

export interface TotalProgressView {
  /** `active`: the job exists and its files are being sent or are all sent; `moving`: files are being sent now. */
  draw(active: boolean, moving: boolean): void;
}

export function createTotalProgressView(list: PickedList, rate: TransferRate, connection: Connection): TotalProgressView {
  const box = byId("total-progress");
  const bar = byId("total-bar");
  const percent = byId("total-percent");
  const detail = byId("total-detail");

  return {
    draw(active, moving) {
      const files = list.size - list.count("excluded");
      const totalBytes = list.bytes - list.bytesIn("excluded");
      box.classList.toggle("is-active", files > 0);
      box.setAttribute("aria-hidden", files > 0 ? "false" : "true");
      if (!active) {
        box.classList.remove("is-stalled", "is-paused");
        percent.textContent = "Ready";
        detail.textContent = `${formatBytes(totalBytes)} to upload`;
        setBar(bar, 0, "Not started");
        return;
      }
      const sentBytes = list.sentBytes;
      const fraction = totalBytes > 0 ? sentBytes / totalBytes : 1;
      const now = Date.now();
      const paused = moving && connection.pausedSince !== null;
      const speed = moving && !paused ? rate.sample(sentBytes, now) : 0;
      const left = rate.secondsLeft(totalBytes - sentBytes);
      const stalled = moving && !paused && sentBytes < totalBytes ? rate.stalledFor(now) : 0;
      percent.textContent = `${Math.floor(fraction * 100)}%`;
      const parts = [`${formatBytes(sentBytes)} of ${formatBytes(totalBytes)}`, `${list.count("done").toLocaleString("en")} of ${plural(files, "file")}`];
      if (paused) {
        const wait = Math.max(0, Math.round((connection.retryAt - now) / 1000));
        parts.push(`${PAUSED_WORDS}${wait > 0 ? ` (next try in ${wait} s)` : ""}`);
      } else if (stalled > 0) {
        parts.push(`stalled: nothing sent for ${formatDuration(stalled / 1000)}, still trying`);
      } else {
        if (moving && speed > 0) parts.push(formatSpeed(speed));
        if (moving && left !== null && sentBytes < totalBytes) parts.push(`about ${formatDuration(left)} left`);
      }
      box.classList.toggle("is-paused", paused);
      box.classList.toggle("is-stalled", stalled > 0);
      detail.textContent = parts.join(" · ");
      setBar(bar, fraction, `${Math.floor(fraction * 100)}% uploaded`);
    },
  };
}
