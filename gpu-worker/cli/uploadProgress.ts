// Upload progress for people at a terminal: a bar with MB/s and time left on a TTY, a plain line
// every few seconds otherwise (CI logs, `| tee`), as cli/progressReporter.ts does for photos.
import cliProgress from "cli-progress";

const PLAIN_LINE_EVERY_MS = 5_000;
/** Speed is measured over this recent window, so the time left follows the network as it is now. */
const SPEED_WINDOW_MS = 10_000;
const MB = 1_000_000;

export interface UploadProgress {
  /** Bytes sent (negative: a failed try's bytes taken back). */
  sent(bytes: number): void;
  /** A file finished. */
  fileDone(): void;
  /** Bytes that turned out to be in storage already (a resumed upload's parts): less to send. */
  alreadyThere(bytes: number): void;
  stop(): void;
  /** MB/s over the whole run so far. */
  averageMBps(): number;
}

export function createUploadProgress(totalBytes: number, totalFiles: number, options: { stream?: NodeJS.WriteStream; enabled?: boolean } = {}): UploadProgress {
  const stream = options.stream ?? process.stderr;
  const started = Date.now();
  let total = totalBytes;
  let done = 0;
  let files = 0;
  const samples: { at: number; done: number }[] = [{ at: started, done: 0 }];

  const speed = (): number => {
    const now = Date.now();
    while (samples.length > 1 && now - samples[0]!.at > SPEED_WINDOW_MS) samples.shift();
    const first = samples[0]!;
    const seconds = (now - first.at) / 1000;
    return seconds > 0 ? (done - first.done) / seconds : 0;
  };
  const eta = (): string => {
    const rate = speed();
    if (rate <= 0) return "--";
    const seconds = Math.round((total - done) / rate);
    return seconds >= 3600 ? `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min` : seconds >= 60 ? `${Math.floor(seconds / 60)} min ${seconds % 60} s` : `${seconds} s`;
  };
  const fields = () => ({ speed: (speed() / MB).toFixed(1), left: eta(), files: `${files}/${totalFiles}`, sentMB: (done / MB).toFixed(0), totalMB: (total / MB).toFixed(0) });

  if (options.enabled === false) {
    return { sent: (bytes) => (done += bytes), fileDone: () => files++, alreadyThere: (bytes) => (total -= bytes), stop() {}, averageMBps: () => done / MB / Math.max((Date.now() - started) / 1000, 1e-3) };
  }

  let update: () => void;
  let stop: () => void;
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream, format: "{bar} {percentage}% | {sentMB}/{totalMB} MB | {speed} MB/s | {left} left | {files} files", hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(total, 1), 0, fields());
    update = () => {
      bar.setTotal(Math.max(total, 1));
      bar.update(done, fields());
    };
    stop = () => bar.stop();
  } else {
    let lastLine = Date.now();
    update = () => {
      const now = Date.now();
      if (now - lastLine < PLAIN_LINE_EVERY_MS) return;
      lastLine = now;
      const f = fields();
      stream.write(`${f.sentMB}/${f.totalMB} MB, ${f.speed} MB/s, ${f.left} left, ${f.files} files\n`);
    };
    stop = () => {};
  }
  return {
    sent(bytes) {
      done += bytes;
      samples.push({ at: Date.now(), done });
      update();
    },
    fileDone() {
      files++;
      update();
    },
    alreadyThere(bytes) {
      total -= bytes;
      update();
    },
    stop,
    averageMBps: () => done / MB / Math.max((Date.now() - started) / 1000, 1e-3),
  };
}
