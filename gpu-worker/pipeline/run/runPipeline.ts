// The pipeline: input items in, one results zip out, a result per image and progress as it
// goes. Three stages overlap: decoding the next batch, inference on this one (worker
// thread), and finishing the previous one (render, zip). Reports are written at the end
// from a disk spool, so memory stays bounded by the batch size, not the job size.
import { PassThrough, type Writable } from "node:stream";
import sharp from "sharp";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD, DEFAULT_RENDER_THRESHOLD } from "../detector/constants.ts";
import type { Detector } from "../detector/detector.ts";
import { preprocessForDetector, type PreprocessedImage } from "../detector/preprocess.ts";
import { readImageMetadata } from "../metadata/exif.ts";
import { writeDetectionsJson } from "../outputs/detectionsJson.ts";
import { resultsReadme } from "../outputs/readme.ts";
import { renderDetections } from "../outputs/render.ts";
import { ResultsZip } from "../outputs/resultsZip.ts";
import type { ResultTotals } from "../outputs/resultTotals.ts";
import { sortedPath } from "../outputs/sortedView.ts";
import { writeWorkbook } from "../outputs/workbook.ts";
import { writeCamtrapPackage, type CamtrapOptions, type PackageSummary } from "../outputs/camtrapDp/writePackage.ts";
import { groupEvents, withEvents } from "../events/events.ts";
import { chunk, prefetch } from "./prefetch.ts";
import { ResultSpool } from "./resultSpool.ts";
import type { ImageMetadata, ImageResult, InputItem, RunInfo } from "../types.ts";
import { CAMTRAP_DP_FOLDER, DETECTIONS_JSON, RESULTS_README, RESULTS_WORKBOOK, ZipPaths, type PathRoot } from "../zipLayout.ts";

export interface PipelineOptions {
  detector: Detector;
  /** Model file name for detections.json's info.detector, e.g. "md_v5a.0.0.onnx". */
  detectorName: string;
  modelId?: string;
  /** Everything above goes into detections.json (MD default 0.005). */
  outputThreshold?: number;
  /** Boxes at or above are drawn and counted (model's typical threshold; MD v5: 0.2). */
  renderThreshold?: number;
  /** Total number of items, when known up front, for progress and ETA. */
  total?: number;
  onProgress?: (progress: PipelineProgress) => void;
  onResult?: (result: ImageResult) => void;
  /** Also place every processed image under sorted/<category>/<path> (default false). */
  sortedView?: boolean;
  /** Seconds between images of one event when the camera does not number its bursts (default 60). */
  eventGapSeconds?: number;
  /** Camtrap DP export settings: the cameras' UTC offset, coordinates for cameras without GPS. */
  camtrapDp?: CamtrapOptions;
  /** What the inputs' paths start from (InputPlan.root), for README.txt. */
  pathRoot?: PathRoot;
  /** Parent of the run's temporary folders (result spool, reports; default: the system's temp folder). */
  scratchDir?: string;
}

export interface PipelineProgress {
  processed: number;
  total?: number;
  failed: number;
  /** Images with at least one box at or above the render threshold. */
  withDetections: number;
  /** Stage the job is in: images first, then the reports. */
  stage: "images" | "reports";
}

export type StageName = "decode" | "metadata" | "inference" | "render" | "zip" | "reports";

export interface PipelineSummary {
  run: RunInfo;
  totals: ResultTotals;
  /** Milliseconds spent per stage (stages overlap, so they add up to more than the wall time). */
  stageMs: Record<StageName, number>;
  /** Bytes written to the output. */
  zipBytes: number;
  seconds: number;
}

/** An item read and decoded, waiting for inference. */
interface PreparedItem {
  path: string;
  rejected?: boolean;
  bytes?: Buffer;
  fileSize: number;
  metadata: ImageMetadata;
  image?: PreprocessedImage;
  error?: string;
}

// Every image is decoded once or twice and never again: libvips' operation cache would only
// keep the last hundred images' buffers alive (hundreds of MB on 12-MP frames).
sharp.cache(false);

export async function runPipeline(
  inputs: AsyncIterable<InputItem> | Iterable<InputItem>,
  output: Writable,
  options: PipelineOptions,
): Promise<PipelineSummary> {
  const startedAt = new Date();
  const { detector } = options;
  const outputThreshold = options.outputThreshold ?? DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD;
  const renderThreshold = options.renderThreshold ?? DEFAULT_RENDER_THRESHOLD;
  const categories = Object.fromEntries(detector.info.classNames.map((name, i) => [String(i + 1), name]));
  const stageMs: Record<StageName, number> = { decode: 0, metadata: 0, inference: 0, render: 0, zip: 0, reports: 0 };
  const timed = async <T>(stage: StageName, work: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await work();
    } finally {
      stageMs[stage] += performance.now() - start;
    }
  };

  const zip = new ResultsZip(output);
  const spool = await ResultSpool.create(options.scratchDir);
  const progress: PipelineProgress = { processed: 0, failed: 0, withDetections: 0, stage: "images", ...(options.total !== undefined ? { total: options.total } : {}) };

  // Inputs from collectInputs already hold their zip paths (claiming them again changes
  // nothing); other callers' paths are made unique and kept clear of the zip's own names here.
  // Rejected inputs are rows, not zip entries: they keep the path the user knows them by.
  const zipPaths = new ZipPaths();
  const prepare = async (item: InputItem): Promise<PreparedItem> => {
    if (item.kind === "rejected") return { path: item.path, rejected: true, fileSize: 0, metadata: {}, error: item.reason };
    const { source } = item;
    const path = zipPaths.claim(source.path);
    let bytes: Buffer;
    try {
      bytes = await source.read();
    } catch (error) {
      return { path, fileSize: source.size, metadata: {}, error: `could not read the file (${messageOf(error)})` };
    }
    const [metadata, decoded] = await Promise.all([
      timed("metadata", () => readImageMetadata(bytes)),
      timed("decode", () =>
        preprocessForDetector(bytes, detector.info.spec).then(
          (image) => ({ image }),
          (error: unknown) => ({ error: messageOf(error) }),
        ),
      ),
    ]);
    return { path, bytes, fileSize: bytes.length, metadata, ...decoded };
  };

  const finish = async (item: PreparedItem, detections: ImageResult["detections"]): Promise<void> => {
    const result: ImageResult = {
      path: item.path,
      status: item.image ? "ok" : "failed",
      ...(item.rejected ? { rejected: true } : {}),
      ...(item.error ? { error: item.error } : {}),
      warnings: item.image?.warnings ?? [],
      detections,
      metadata: item.metadata,
      fileSize: item.fileSize,
      ...(item.image ? { format: item.image.format } : {}),
    };
    if (item.bytes) {
      // Every input that had bytes goes into the zip: boxed when something passed the render
      // threshold, else byte-identical (a broken file too: nothing the user sent is lost).
      const rendered = item.image
        ? await timed("render", () =>
            renderDetections(item.bytes!, detections, { threshold: renderThreshold, categories }).catch((error: unknown) => {
              result.warnings.push(`boxes could not be drawn (${messageOf(error)}); the original is in the zip`);
              return null;
            }),
          )
        : null;
      await timed("zip", () => zip.addBuffer(item.path, rendered ?? item.bytes!, result.format));
      // The sorted copy goes in now, while the bytes are in memory: at report time they would
      // have to be read again from the inputs (S3 in the cloud), and the zip cannot be re-read.
      const sortedName = options.sortedView ? sortedPath(result, { categories, renderThreshold }) : undefined;
      if (sortedName !== undefined) await timed("zip", () => zip.addBuffer(sortedName, rendered ?? item.bytes!, result.format));
    }
    await spool.add(result);
    progress.processed++;
    if (result.status === "failed") progress.failed++;
    if (detections.some((d) => d.conf >= renderThreshold)) progress.withDetections++;
    options.onResult?.(result);
    options.onProgress?.({ ...progress });
  };

  let finishing: Promise<void> = Promise.resolve();
  try {
    const batchSize = detector.maxBatch;
    const prepared = prefetch(inputs, batchSize * 2, prepare);
    for await (const batch of chunk(prepared, batchSize)) {
      const decoded = batch.filter((item) => item.image);
      const detecting = timed("inference", () => detector.detect(decoded.map((item) => item.image!), outputThreshold));
      // Finish the previous batch while this one is on the inference thread.
      await finishing;
      finishing = detecting.then(async (detections) => {
        const byItem = new Map(decoded.map((item, i) => [item, detections[i]!]));
        for (const item of batch) {
          const found = byItem.get(item) ?? [];
          item.image = item.image && { ...item.image, pixels: Buffer.alloc(0) }; // free the tensor pixels early
          await finish(item, found);
        }
      });
    }
    await finishing;

    progress.stage = "reports";
    options.onProgress?.({ ...progress });
    const run: RunInfo = {
      detector: options.detectorName,
      ...(options.modelId ? { modelId: options.modelId } : {}),
      categories,
      outputThreshold,
      renderThreshold,
      provider: detector.provider,
      startedAt,
      completedAt: new Date(),
    };
    const totals = await timed("reports", () => writeReports(zip, spool, run, options));
    const zipBytes = await zip.finish();
    return { run, totals, stageMs, zipBytes, seconds: (Date.now() - startedAt.getTime()) / 1000 };
  } finally {
    // On an error, the batch being finished still writes to the spool: let it settle first.
    await finishing.catch(() => {});
    await spool.dispose();
  }
}

async function writeReports(zip: ResultsZip, spool: ResultSpool, run: RunInfo, options: PipelineOptions): Promise<ResultTotals> {
  const scratch = await mkdtemp(join(options.scratchDir ?? tmpdir(), "trapline-reports-"));
  try {
    const grouping = await groupEvents(spool.sorted(), run, options.eventGapSeconds !== undefined ? { gapSeconds: options.eventGapSeconds } : {});
    const workbookPath = join(scratch, RESULTS_WORKBOOK);
    const totals = await writeWorkbook(withEvents(spool.sorted(), grouping), run, workbookPath, { events: grouping.events, scratchDir: scratch });
    await zip.addFile(RESULTS_WORKBOOK, workbookPath);
    const json = new PassThrough();
    const written = writeDetectionsJson(
      (async function* () {
        for await (const image of spool.sorted()) if (!image.rejected) yield image;
      })(),
      run,
      json,
    );
    await Promise.all([zip.addStream(DETECTIONS_JSON, json), written]);
    const folder = CAMTRAP_DP_FOLDER;
    const camtrap: PackageSummary = await writeCamtrapPackage(
      (name, data) => (Buffer.isBuffer(data) ? zip.addBuffer(`${folder}/${name}`, data) : zip.addStream(`${folder}/${name}`, data)),
      () => withEvents(spool.sorted(), grouping),
      grouping,
      run,
      options.camtrapDp,
    );
    await zip.addBuffer(
      RESULTS_README,
      Buffer.from(
        resultsReadme(run, totals, {
          sortedView: options.sortedView === true,
          ...(options.pathRoot ? { pathRoot: options.pathRoot } : {}),
          camtrapDp: { folder, ...camtrap, ...(options.camtrapDp?.utcOffset ? { utcOffset: options.camtrapDp.utcOffset } : {}) },
        }),
      ),
    );
    return totals;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
