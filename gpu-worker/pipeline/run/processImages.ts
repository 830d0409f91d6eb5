// The image half of the pipeline: input items in, one result per image out, with the image's
// bytes when the package carries it. Three stages overlap: decoding the next batch, inference on
// this one (worker thread), and finishing the previous one (boxes drawn, handed to the sink).
// What happens to a result (a zip and a spool for the CLI, a shard's objects in S3 for the
// worker) is the sink's business, so the CLI and every shard of a job share this loop.
import sharp from "sharp";
import type { ImagesChoice, PrivacyOptions } from "../../../core/jobs.ts";
import type { SpeciesClassifier } from "../classifier/classifier.ts";
import { CLASSIFIER_SOURCE_MAX_PIXELS } from "../classifier/constants.ts";
import { DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD, DEFAULT_RENDER_THRESHOLD } from "../detector/constants.ts";
import type { Detector } from "../detector/detector.ts";
import { preprocessForDetector, type PreprocessedImage } from "../detector/preprocess.ts";
import { readImageMetadata } from "../metadata/exif.ts";
import { readImageHeader } from "../metadata/imageHeader.ts";
import { renderDetections } from "../outputs/render.ts";
import { inBlankSample, letterboxCoversPreview, makePreview, previewName } from "../outputs/preview.ts";
import { withoutGps } from "../outputs/privacy.ts";
import { decodeWindow } from "./decodeThreads.ts";
import { chunk, prefetch } from "./prefetch.ts";
import type { Detection, ImageMetadata, ImageResult, InputItem, SpeciesLocation } from "../types.ts";
import { ZipPaths } from "../zipLayout.ts";

export interface ProcessOptions {
  detector: Detector;
  /** Everything above goes into detections.json (MD default 0.005). */
  outputThreshold?: number;
  /** Boxes at or above are drawn and counted (model's typical threshold; MD v5: 0.2). */
  renderThreshold?: number;
  /**
   * The species classifier, opened once (like the detector) and set for this job's country and
   * threshold (SpeciesClassifier.forJob). Absent: no species, and results are as without one.
   */
  classifier?: SpeciesClassifier;
  /** Which photos go back with the results (core/jobs.ts DEFAULT_IMAGES when absent). */
  images: ImagesChoice;
  /** Total number of items, when known up front, for progress and ETA. */
  total?: number;
  onProgress?: (progress: PipelineProgress) => void;
  onResult?: (result: ImageResult) => void;
  /**
   * Make browsing previews (outputs/preview.ts) of the photos with a detection and of the blank
   * check, a `blankRate` share of the empties (blankSampleRate of the job's photo count).
   */
  previews?: { blankRate: number };
  /** People blurred in the boxed copies and previews, GPS removed from the photos the sink gets (outputs/privacy.ts). */
  privacy?: PrivacyOptions;
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

export type StageName = "decode" | "metadata" | "inference" | "classify" | "render" | "zip" | "reports";
export type StageTimes = Record<StageName, number>;

/**
 * Where each finished image goes. `bytes` is set when the package carries this photo;
 * `preview`, when one was made (its name is result.preview).
 */
export interface ImageSink {
  add(result: ImageResult, bytes?: Buffer, preview?: Buffer): Promise<void>;
}

export function emptyStageTimes(): StageTimes {
  return { decode: 0, metadata: 0, inference: 0, classify: 0, render: 0, zip: 0, reports: 0 };
}

/** Runs `work`, adding its wall time to `stage` (stages overlap, so they add up to more than the run). */
export async function timed<T>(stageMs: StageTimes, stage: StageName, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await work();
  } finally {
    stageMs[stage] += performance.now() - start;
  }
}

/** An item read and decoded, waiting for inference. */
interface PreparedItem {
  path: string;
  rejected?: boolean;
  bytes?: Buffer;
  fileSize: number;
  metadata: ImageMetadata;
  /** `letterboxed`: the detector's input, kept after inference (when `pixels` is emptied) for the preview. */
  image?: PreprocessedImage & { letterboxed?: Uint8Array | undefined };
  error?: string;
}

// Every image is decoded once or twice and never again: libvips' operation cache would only
// keep the last hundred images' buffers alive (hundreds of MB on 12-MP frames).
sharp.cache(false);

/** The model's category ids ("1", "2", …) → names, as detections.json and the reports write them. */
export function categoriesOf(detector: Detector): Record<string, string> {
  return Object.fromEntries(detector.info.classNames.map((name, i) => [String(i + 1), name]));
}

/**
 * Every input through decode, metadata, inference and drawing, into `sink` in input order
 * (within a batch). Memory holds about two batches of images, whatever the number of inputs.
 */
export async function processImages(
  inputs: AsyncIterable<InputItem> | Iterable<InputItem>,
  sink: ImageSink,
  options: ProcessOptions,
  stageMs: StageTimes = emptyStageTimes(),
): Promise<StageTimes> {
  const { detector, classifier } = options;
  // With a classifier the photo is decoded once, kept as displayed for the crops (capped, see
  // CLASSIFIER_SOURCE_MAX_PIXELS) and letterboxed from those pixels: no second decode, but the
  // decode runs at full size (the JPEG decoder can no longer shrink on load for the detector)
  // and each photo waiting in the prefetch window holds its displayed pixels until classified.
  // Without one, the decoded pixels are kept for drawing where the decode is full size anyway
  // (see keepForDrawing), unless no photo goes back.
  const decodeOptions = classifier
    ? { keepDisplayed: { maxPixels: CLASSIFIER_SOURCE_MAX_PIXELS } }
    : { keepForDrawing: options.images !== "none" };
  const outputThreshold = options.outputThreshold ?? DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD;
  const renderThreshold = options.renderThreshold ?? DEFAULT_RENDER_THRESHOLD;
  const categories = categoriesOf(detector);
  const blurPeople = options.privacy?.blurPeople === true;
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
    // One header parse, shared by metadata, preprocessing and drawing.
    const header = await timed(stageMs, "metadata", () => readImageHeader(bytes));
    const [metadata, decoded] = await Promise.all([
      timed(stageMs, "metadata", () => readImageMetadata(bytes, undefined, header)),
      timed(stageMs, "decode", () =>
        preprocessForDetector(bytes, detector.info.spec, { ...decodeOptions, header }).then(
          (image) => ({ image }),
          (error: unknown) => ({ error: messageOf(error) }),
        ),
      ),
    ]);
    return { path, bytes, fileSize: bytes.length, metadata, ...decoded };
  };

  const finish = async (item: PreparedItem, detections: Detection[], speciesLocation?: SpeciesLocation): Promise<void> => {
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
      ...(speciesLocation ? { speciesLocation } : {}),
    };
    const detected = detections.some((d) => d.conf >= renderThreshold);
    // The preview first: drawing the full-size copy draws into the kept pixels in place.
    const preview = options.previews && item.bytes && item.image ? await previewOf(item, result, detected, options.previews) : undefined;
    let bytes: Buffer | undefined;
    if (item.bytes && (options.images === "all" || (options.images === "detections" && detected))) {
      // Boxed when something passed the render threshold, else byte-identical (with "all", a
      // broken file too: nothing the user sent is lost), but for the GPS the job asked to drop.
      const original = options.privacy?.dropGps ? withoutGps(item.bytes) : item.bytes;
      const rendered =
        item.image && detected
          ? await timed(stageMs, "render", () =>
              renderDetections(original, detections, {
                threshold: renderThreshold,
                categories,
                blurPeople,
                // The header parsed from the bytes as uploaded: only when they are what is drawn
                // (dropGps hands over a copy whose EXIF lost its GPS; render parses that one).
                ...(original === item.bytes ? { header: item.image!.header.meta } : {}),
                ...(item.image!.displayed?.fullSize ? { decoded: item.image!.displayed } : {}),
              }).catch((error: unknown) => {
                result.warnings.push(`boxes could not be drawn (${messageOf(error)}); the original is in the zip`);
                return null;
              }),
            )
          : null;
      bytes = rendered ?? original;
    }
    await timed(stageMs, "zip", () => sink.add(result, bytes, preview));
    progress.processed++;
    if (result.status === "failed") progress.failed++;
    if (detected) progress.withDetections++;
    options.onResult?.(result);
    options.onProgress?.({ ...progress });
  };

  /** A preview for a photo with a detection, or in the blank check; a failure is said on its result. */
  const previewOf = async (item: PreparedItem, result: ImageResult, detected: boolean, previews: NonNullable<ProcessOptions["previews"]>) => {
    const blank = !detected && inBlankSample(item.path, previews.blankRate);
    if (!detected && !blank) return undefined;
    if (blank) result.blankSample = true;
    try {
      const image = item.image!;
      // From the pixels kept at full size (no second decode); else from the detector's
      // letterbox when it holds the photo at least at the preview's size (MD's 1280 px against
      // 800), not decoding the bytes again: on 12-MP frames 15 against 42 CPU ms per preview
      // (mean difference 1.8 of 255). Not preferred over kept pixels: on 3-MP Serengeti frames
      // it saved 3 ms and came out a little softer (mean difference 3.5). Else the bytes.
      const source = image.displayed?.fullSize
        ? image.displayed
        : image.letterboxed && letterboxCoversPreview(image.geometry)
          ? { letterboxed: image.letterboxed, geometry: image.geometry }
          : item.bytes!;
      const made = await timed(stageMs, "render", () => makePreview(source, result.detections, { threshold: renderThreshold, categories, blurPeople }));
      result.preview = previewName(item.path);
      return made;
    } catch (error) {
      result.previewError = messageOf(error);
      return undefined;
    }
  };

  let finishing: Promise<void> = Promise.resolve();
  try {
    const batchSize = detector.maxBatch;
    const prepared = prefetch(inputs, decodeWindow(batchSize), prepare);
    for await (const batch of chunk(prepared, batchSize)) {
      const decoded = batch.filter((item) => item.image);
      const detecting = timed(stageMs, "inference", () => detector.detect(decoded.map((item) => item.image!), outputThreshold)).then(
        (detections): Promise<Array<{ detections: Detection[]; location?: SpeciesLocation }>> =>
          classifier
            ? // Every animal box of the batch's photos, cropped from their displayed pixels, in shared batches.
              timed(stageMs, "classify", () =>
                classifier.classify(
                  decoded.map((item, i) => ({
                    image: item.image!.displayed ?? { pixels: new Uint8Array(0), width: 0, height: 0 },
                    detections: detections[i]!,
                    ...(item.metadata.latitude !== undefined ? { latitude: item.metadata.latitude } : {}),
                    ...(item.metadata.longitude !== undefined ? { longitude: item.metadata.longitude } : {}),
                  })),
                ),
              )
            : Promise.resolve(detections.map((found) => ({ detections: found }))),
      );
      // Finish the previous batch while this one is on the inference thread.
      await finishing;
      finishing = detecting.then(async (results) => {
        const byItem = new Map(decoded.map((item, i) => [item, results[i]!]));
        for (const item of batch) {
          const found = byItem.get(item);
          // Free the displayed pixels early unless they are full size (to draw into); the
          // letterbox stays until the photo is finished, for its preview.
          const { displayed, pixels } = item.image ?? {};
          item.image = item.image && {
            ...item.image,
            pixels: Buffer.alloc(0),
            letterboxed: pixels,
            ...(displayed?.fullSize ? { displayed } : { displayed: undefined }),
          };
          await finish(item, found?.detections ?? [], found?.location);
          if (item.image) {
            item.image.displayed = undefined;
            item.image.letterboxed = undefined;
          }
        }
      });
    }
    await finishing;
  } finally {
    // On an error, the batch being finished still writes to the sink: let it settle first.
    await finishing.catch(() => {});
  }
  return stageMs;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
