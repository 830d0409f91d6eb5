// Upload speed and time left for the whole batch, smoothed so the numbers are readable
// (Uppy's own helpers measure each file from its start, which jumps as files finish).

/** Weight of the newest sample; about the last 5 samples matter. */
const SMOOTHING = 0.3;

export class TransferRate {
  #lastBytes = 0;
  #lastAt = 0;
  #speed = 0;

  /** Feeds the bytes sent so far at time `now` (ms); returns bytes per second. */
  sample(bytesSent: number, now: number): number {
    if (this.#lastAt === 0 || bytesSent < this.#lastBytes) {
      this.#lastBytes = bytesSent;
      this.#lastAt = now;
      return this.#speed;
    }
    const elapsed = (now - this.#lastAt) / 1000;
    if (elapsed < 0.5) return this.#speed;
    const instant = (bytesSent - this.#lastBytes) / elapsed;
    this.#speed = this.#speed === 0 ? instant : SMOOTHING * instant + (1 - SMOOTHING) * this.#speed;
    this.#lastBytes = bytesSent;
    this.#lastAt = now;
    return this.#speed;
  }

  /** Seconds to send `bytesLeft` at the current speed; null until there is a speed. */
  secondsLeft(bytesLeft: number): number | null {
    return this.#speed > 0 ? bytesLeft / this.#speed : null;
  }

  reset(): void {
    this.#lastBytes = 0;
    this.#lastAt = 0;
    this.#speed = 0;
  }
}
