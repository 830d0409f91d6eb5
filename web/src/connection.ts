// Whether uploads can go on. A request that fails for want of a connection (the browser offline,
// a dropped or dead connection, the API unreachable) pauses the upload: nothing new starts until
// the next try, which comes after a growing wait, or at once when the browser says it is online
// again. An answer that gets through ends the pause and resets the wait.

/** Waits between tries while the connection is down: 1 s, 2 s, 4 s … then every 30 s. */
export const RETRY_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000] as const;

export function retryDelay(failures: number): number {
  return RETRY_DELAYS_MS[Math.min(Math.max(failures, 1), RETRY_DELAYS_MS.length) - 1]!;
}

/** What the environment offers (the browser's window in the page; tests may pass their own). */
export interface OnlineSignals {
  isOnline(): boolean;
  onOnline(listener: () => void): void;
}

export const browserSignals: OnlineSignals = {
  isOnline: () => navigator.onLine,
  onOnline: (listener) => window.addEventListener("online", listener),
};

export class Connection {
  readonly #signals: OnlineSignals;
  #failures = 0;
  #pausedAt: number | null = null;
  #retryAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #waiters: (() => void)[] = [];
  #onChange: () => void;

  constructor(signals: OnlineSignals, onChange: () => void = () => {}) {
    this.#signals = signals;
    this.#onChange = onChange;
    signals.onOnline(() => {
      if (this.#pausedAt !== null) this.#wake();
    });
  }

  /** When the pause began (ms since the epoch), or null while uploads may go on. */
  get pausedSince(): number | null {
    return this.#pausedAt;
  }

  /** When the next try is due while paused (ms since the epoch). */
  get retryAt(): number {
    return this.#retryAt;
  }

  /** The browser says it has no network at all (rather than a server not answering). */
  get offline(): boolean {
    return !this.#signals.isOnline();
  }

  /** Resolves at once while not paused, else when the pause ends (the next try) or `signal` aborts. */
  ready(signal?: AbortSignal): Promise<void> {
    if (this.#pausedAt === null || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener("abort", done);
        resolve();
      };
      this.#waiters.push(done);
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /**
   * A request failed for want of a connection: pause, and try again after the next wait. The
   * other requests of the same round failing too do not lengthen it; a failed try does.
   */
  down(): void {
    if (this.#pausedAt !== null && Date.now() < this.#retryAt) return;
    this.#failures += 1;
    const wait = retryDelay(this.#failures);
    this.#pausedAt ??= Date.now();
    clearTimeout(this.#timer);
    this.#retryAt = Date.now() + wait;
    this.#timer = setTimeout(() => this.#wake(), wait);
    this.#onChange();
  }

  /** An answer got through: no pause, and the next outage starts again from the shortest wait. */
  up(): void {
    this.#failures = 0;
    if (this.#pausedAt === null) return;
    this.#pausedAt = null;
    clearTimeout(this.#timer);
    this.#release();
    this.#onChange();
  }

  /** Stops waiting for good: every waiter goes on (to find it was cancelled). */
  reset(): void {
    clearTimeout(this.#timer);
    this.#failures = 0;
    this.#pausedAt = null;
    this.#release();
  }

  /** Time to try again: the waiters go; the pause lasts until one of them reports up() or down(). */
  #wake(): void {
    clearTimeout(this.#timer);
    this.#retryAt = Date.now();
    this.#release();
  }

  #release(): void {
    const waiters = this.#waiters.splice(0);
    for (const waiter of waiters) waiter();
  }
}
