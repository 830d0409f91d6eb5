// Progress goes to Redis at most a few times a second, however fast images finish: the page
// polls about once a second, and a write per image would cost more than the image on a GPU.
// One write at a time, the newest value wins, and the last value is never dropped.

/** Four writes a second at most. */
export const PROGRESS_INTERVAL_MS = 250;

export class ProgressThrottle<T> {
  private readonly write: (value: T) => Promise<void>;
  private readonly intervalMs: number;
  private readonly onError: (error: unknown) => void;
  private pending: { value: T } | undefined;
  private lastWriteAt = -Infinity;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;

  constructor(write: (value: T) => Promise<void>, options: { intervalMs?: number; onError?: (error: unknown) => void } = {}) {
    this.write = write;
    this.intervalMs = options.intervalMs ?? PROGRESS_INTERVAL_MS;
    this.onError = options.onError ?? (() => {});
  }

  /** Records the newest value; it is written now, or as soon as the interval allows. */
  update(value: T): void {
    this.pending = { value };
    this.schedule();
  }

  /** Writes the newest value, if not written yet, and waits for every write to settle. */
  async flush(): Promise<void> {
    while (this.writing || this.pending) {
      clearTimeout(this.timer);
      this.timer = undefined;
      await (this.writing ?? this.writeNow());
    }
  }

  private schedule(): void {
    if (this.timer || this.writing) return;
    const wait = this.lastWriteAt + this.intervalMs - performance.now();
    if (wait <= 0) {
      void this.writeNow();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.writeNow();
    }, wait);
  }

  private async writeNow(): Promise<void> {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    this.lastWriteAt = performance.now();
    this.writing = this.write(pending.value).catch(this.onError);
    await this.writing;
    this.writing = undefined;
    if (this.pending) this.schedule();
  }
}
