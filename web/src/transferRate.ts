// Upload speed and time left for the whole batch, smoothed so the numbers are readable
// (Uppy's own helpers measure each file from its start, which jumps as files finish), and
// whether the upload has stalled: a dead connection sends nothing, and then the page shows no
// speed and no time left, only how long nothing has moved.

/** Weight of the newest sample; about the last 5 samples matter. */
const SMOOTHING = 0.3;
/** Samples closer together than this are too noisy to make a speed from. */
const MIN_SAMPLE_MS = 500;
/** Nothing sent for this long: the upload is stalled (the page samples once a second). */
export const STALLED_AFTER_MS = 5_000;

export class TransferRate {
  #lastBytes = 0;
  #lastAt = 0;
  #speed = 0;
  /** When the bytes sent last grew. */
  #movedAt = 0;

  /** Feeds the bytes sent so far at time `now` (ms); returns bytes per second (0 while stalled). */
  sample(bytesSent: number, now: number): number {
    if (this.#lastAt === 0 || bytesSent < this.#lastBytes) {
      this.#lastBytes = bytesSent;
      this.#lastAt = now;
      this.#movedAt = now;
      return this.#speed;
    }
    const moved = bytesSent > this.#lastBytes;
    const resumed = moved && now - this.#movedAt >= STALLED_AFTER_MS;
    if (moved) this.#movedAt = now;
    if (resumed || this.stalledFor(now) > 0) {
      // A stall forgets the old speed; once bytes move again it is measured afresh from here.
      this.#speed = 0;
      this.#lastBytes = bytesSent;
      this.#lastAt = now;
      return 0;
    }
    const elapsed = (now - this.#lastAt) / 1000;
    if (elapsed * 1000 < MIN_SAMPLE_MS) return this.#speed;
    const instant = (bytesSent - this.#lastBytes) / elapsed;
    this.#speed = this.#speed === 0 ? instant : SMOOTHING * instant + (1 - SMOOTHING) * this.#speed;
    this.#lastBytes = bytesSent;
    this.#lastAt = now;
    return this.#speed;
  }

  /** Milliseconds since anything was sent, once that is STALLED_AFTER_MS or more; else 0. */
  stalledFor(now: number): number {
    if (this.#movedAt === 0) return 0;
    const quiet = now - this.#movedAt;
    return quiet >= STALLED_AFTER_MS ? quiet : 0;
  }

  /** Seconds to send `bytesLeft` at the current speed; null until there is a speed, and while stalled. */
  secondsLeft(bytesLeft: number): number | null {
    return this.#speed > 0 ? bytesLeft / this.#speed : null;
  }

  reset(): void {
    this.#lastBytes = 0;
    this.#lastAt = 0;
    this.#speed = 0;
    this.#movedAt = 0;
  }
}
