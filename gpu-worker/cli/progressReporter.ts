// Progress for people at a terminal: a bar with images/s and ETA on a TTY, a plain line every
// few seconds otherwise (CI logs, `| tee`), so both stay readable.
import cliProgress from "cli-progress";
import type { PipelineProgress } from "../pipeline/index.ts";

const PLAIN_LINE_EVERY_MS = 5_000;

export interface ProgressReporter {
  update(progress: PipelineProgress): void;
  stop(): void;
}

export function createProgressReporter(total: number, stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  const started = Date.now();
  const rate = (processed: number) => processed / Math.max((Date.now() - started) / 1000, 1e-3);
  if (!stream.isTTY) {
    let lastLine = 0;
    return {
      update(progress) {
        const now = Date.now();
        if (progress.stage === "reports") stream.write(`${progress.processed}/${total} images done; writing the reports\n`);
        else if (now - lastLine >= PLAIN_LINE_EVERY_MS || progress.processed === total) {
          lastLine = now;
          stream.write(`${progress.processed}/${total} images, ${rate(progress.processed).toFixed(1)} images/s, ${progress.failed} failed\n`);
        }
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: "{bar} {percentage}% | {value}/{total} images | {speed} images/s | ETA {eta_formatted} | {note}",
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { speed: "0.0", note: "" });
  return {
    update(progress) {
      const note = progress.stage === "reports" ? "writing reports" : `${progress.withDetections} with detections, ${progress.failed} failed`;
      bar.update(progress.processed, { speed: rate(progress.processed).toFixed(1), note });
    },
    stop() {
      bar.stop();
    },
  };
}
