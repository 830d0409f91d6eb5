// The whole pipeline in one process (the CLI, the bench): input items in, one results zip out.
// processImages does the photos; their results wait in a disk spool, and the reports are
// written from it at the end, so memory stays bounded by the batch size, not the job size.
// The queue worker runs the same two halves apart: a shard per slice of the job (runShard), and
// one merge that writes the reports (mergeJob).
import type { Writable } from "node:stream";
import { DEFAULT_IMAGES, privacyOf, type ImagesChoice, type PrivacyOptions } from "../../../core/jobs.ts";
import { DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD, DEFAULT_RENDER_THRESHOLD } from "../detector/constants.ts";
import type { SpeciesClassifier } from "../classifier/classifier.ts";
import type { Detector } from "../detector/detector.ts";
import { blankSampleRate } from "../outputs/preview.ts";
import { writeResultsReport } from "../outputs/report.ts";
import { ResultsZip } from "../outputs/resultsZip.ts";
import { sortedPath } from "../outputs/sortedView.ts";
import type { ResultTotals } from "../outputs/resultTotals.ts";
import type { CamtrapOptions } from "../outputs/camtrapDp/writePackage.ts";
import type { RunInfo } from "../types.ts";
import type { PathRoot } from "../zipLayout.ts";
import { categoriesOf, emptyStageTimes, processImages, timed, type PipelineProgress, type StageTimes } from "./processImages.ts";
import { ResultSpool } from "./resultSpool.ts";
import { writeReports } from "./writeReports.ts";
import type { ImageResult, InputItem } from "../types.ts";

export type { PipelineProgress, StageName } from "./processImages.ts";

export interface PipelineOptions {
  detector: Detector;
  /** Model file name for detections.json's info.detector, e.g. "md_v5a.0.0.onnx". */
  detectorName: string;
  modelId?: string;
  /** The species classifier for this run (its country and threshold set); absent: no species. */
  classifier?: SpeciesClassifier;
  /** Why there is no classifier, for README.txt ("--no-classifier was given"...). */
  classifierAbsent?: string;
  /** Everything above goes into detections.json (MD default 0.005). */
  outputThreshold?: number;
  /** Boxes at or above are drawn and counted (model's typical threshold; MD v5: 0.2). */
  renderThreshold?: number;
  /** Which photos the zip carries (default DEFAULT_IMAGES: boxed copies of those with a detection). */
  images?: ImagesChoice;
  /** Total number of items, when known up front, for progress and ETA. */
  total?: number;
  onProgress?: (progress: PipelineProgress) => void;
  onResult?: (result: ImageResult) => void;
  /** Also place every photo the zip carries under sorted/<category>/<path> (default false). */
  sortedView?: boolean;
  /** Seconds between images of one event when the camera does not number its bursts (default 60). */
  eventGapSeconds?: number;
  /** Camtrap DP export settings: the cameras' UTC offset, coordinates for cameras without GPS. */
  camtrapDp?: CamtrapOptions;
  /** What the inputs' paths start from (InputPlan.root), for README.txt. */
  pathRoot?: PathRoot;
  /** Blur people, drop GPS (core/jobs.ts PrivacyOptions; default: neither). */
  privacy?: PrivacyOptions;
  /** Parent of the run's temporary folders (result spool, reports; default: the system's temp folder). */
  scratchDir?: string;
}

export interface PipelineSummary {
  run: RunInfo;
  totals: ResultTotals;
  /** Milliseconds spent per stage (stages overlap, so they add up to more than the wall time). */
  stageMs: StageTimes;
  /** Bytes written to the output. */
  zipBytes: number;
  seconds: number;
}

export async function runPipeline(
  inputs: AsyncIterable<InputItem> | Iterable<InputItem>,
  output: Writable,
  options: PipelineOptions,
): Promise<PipelineSummary> {
  const startedAt = new Date();
  const { detector } = options;
  const images = options.images ?? DEFAULT_IMAGES;
  const outputThreshold = options.outputThreshold ?? DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD;
  const renderThreshold = options.renderThreshold ?? DEFAULT_RENDER_THRESHOLD;
  const categories = categoriesOf(detector);
  const privacy = privacyOf(options.privacy ?? {});
  const stageMs = emptyStageTimes();
  const zip = new ResultsZip(output);
  const spool = await ResultSpool.create(options.scratchDir);
  try {
    let last: PipelineProgress | undefined;
    await processImages(
      inputs,
      {
        async add(result, bytes, preview) {
          if (preview && result.preview) await zip.addBuffer(result.preview, preview, "jpeg");
          if (bytes) {
            await zip.addBuffer(result.path, bytes, result.format);
            // The sorted copy goes in now, while the bytes are in memory: the zip cannot be re-read.
            const sortedName = options.sortedView ? sortedPath(result, { categories, renderThreshold }) : undefined;
            if (sortedName !== undefined) await zip.addBuffer(sortedName, bytes, result.format);
          }
          await spool.add(result);
        },
      },
      {
        detector,
        ...(options.classifier ? { classifier: options.classifier } : {}),
        outputThreshold,
        renderThreshold,
        images,
        // Without a count up front, the blank check is its plain share of the empties.
        previews: { blankRate: blankSampleRate(options.total ?? Number.POSITIVE_INFINITY) },
        privacy,
        ...(options.total !== undefined ? { total: options.total } : {}),
        ...(options.onResult ? { onResult: options.onResult } : {}),
        onProgress: (progress) => {
          last = progress;
          options.onProgress?.(progress);
        },
      },
      stageMs,
    );
    if (last) options.onProgress?.({ ...last, stage: "reports" });
    const run: RunInfo = {
      detector: options.detectorName,
      ...(options.modelId ? { modelId: options.modelId } : {}),
      categories,
      outputThreshold,
      renderThreshold,
      provider: detector.provider,
      startedAt,
      completedAt: new Date(),
      privacy,
      ...(options.classifier
        ? { classifier: options.classifier.runInfo }
        : options.classifierAbsent
          ? { classifierAbsent: options.classifierAbsent }
          : {}),
    };
    const totals = await timed(stageMs, "reports", () =>
      writeReports(zip, spool, run, {
        images,
        ...(options.sortedView ? { sortedView: true } : {}),
        ...(options.eventGapSeconds !== undefined ? { eventGapSeconds: options.eventGapSeconds } : {}),
        ...(options.camtrapDp ? { camtrapDp: options.camtrapDp } : {}),
        ...(options.pathRoot ? { pathRoot: options.pathRoot } : {}),
        ...(options.scratchDir ? { scratchDir: options.scratchDir } : {}),
      }),
    );
    await timed(stageMs, "reports", () =>
      writeResultsReport(zip, () => spool.sorted(), run, {
        ...(options.eventGapSeconds !== undefined ? { eventGapSeconds: options.eventGapSeconds } : {}),
        ...(options.scratchDir ? { scratchDir: options.scratchDir } : {}),
      }),
    );
    const zipBytes = await zip.finish();
    return { run, totals, stageMs, zipBytes, seconds: (Date.now() - startedAt.getTime()) / 1000 };
  } finally {
    await spool.dispose();
  }
}
