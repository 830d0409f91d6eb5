// The species classifier stage: decoded photos and their detections in; every animal box at or
// above the classification threshold cropped (crop.ts), classified in batches on the same ONNX
// Runtime machinery as the detector (InferenceThread), and run through SpeciesNet's ensemble
// (ensemble.ts) with the photo's geofence location (location.ts). Crops of all the photos given
// to one classify() call share batches; memory is bounded by one batch of crops in preparation
// plus one in flight.
//
// Everything that can be wrong with the model, its labels, taxonomy or geofence, or the job's
// country, is found by open(), before the first photo. A box that cannot be classified keeps its
// category and says why (classificationSkipped); it never fails the photo.

import { access, readFile } from "node:fs/promises";
import { basename } from "node:path";
import { describeClassifier, type ClassifierHints, type ClassifierModelInfo } from "./classifierModel.ts";
import {
  DEFAULT_CLASSIFICATION_THRESHOLD,
  DEFAULT_CLASSIFIER_BATCH_SIZE,
  MIN_CROP_SIDE_PX,
  TOP_CLASSIFICATIONS,
} from "./constants.ts";
import { cropRectOf, writeCrop, type CropRect, type RgbImage } from "./crop.ts";
import { ensembleBox, type EnsembleContext } from "./ensemble.ts";
import { geofenceCountries, loadGeofence, type GeofenceLocation, type GeofenceMap } from "./geofence.ts";
import { loadLabels, parseLabels } from "./labels.ts";
import { checkLocationOption, locatePhoto, type CountryOf, type LocationOption } from "./location.ts";
import { countryOfPosition } from "./countryOfPosition.ts";
import { toProbabilities, topK } from "./scores.ts";
import { buildTaxonomy, type TaxonomyMap } from "./taxonomy.ts";
import type { ExecutionProvider } from "../detector/inferenceProtocol.ts";
import { InferenceThread, type InferenceOutput } from "../detector/inferenceThread.ts";
import { readOnnxMetadataProps } from "../detector/onnxMetadata.ts";
import type { ClassifierRunInfo, Detection, SpeciesLocation } from "../types.ts";

/** MegaDetector's animal category: the only boxes classified. */
const ANIMAL_CATEGORY = "1";

export interface ClassifierOptions {
  modelPath: string;
  /** Manifest id, when the model came from the manifest (reported in RunInfo). */
  modelId?: string;
  provider?: ExecutionProvider;
  /** Crops per inference call when the model takes any batch size (default 8, as MD's run_md_and_speciesnet). */
  batchSize?: number;
  /** Default `<model>.labels.txt`, else the model's "labels" metadata. */
  labelsPath?: string;
  /** SpeciesNet geofence JSON. Default `<model>.geofence.json` when it exists; without one nothing is fenced out. */
  geofencePath?: string;
  /** SpeciesNet taxonomy (one label per line). Default `<model>.taxonomy.txt` when it exists, else derived from the labels. */
  taxonomyPath?: string;
  /** What the manifest knows that the model may not say. */
  hints?: ClassifierHints;
  /** Animal boxes at or above this confidence are classified (default 0.1). */
  threshold?: number;
  /** Boxes whose crop is narrower or shorter than this many pixels are skipped (default 8). */
  minCropSide?: number;
  /** The job's country (ISO 3166-1 alpha-3) and US state; checked here. */
  location?: LocationOption;
  /** Country under a GPS position, for photos of jobs without a country (default: countryOfPosition, offline). */
  countryOf?: CountryOf;
}

/** One photo to classify: its decoded pixels (as displayed), its detections and its GPS position. */
export interface ClassifierPhoto {
  image: RgbImage;
  detections: readonly Detection[];
  latitude?: number;
  longitude?: number;
}

export interface ClassifiedPhoto {
  /** The photo's detections in the same order; classified boxes carry `classifications` and `species`, skipped ones `classificationSkipped`. */
  detections: Detection[];
  location: SpeciesLocation;
}

/** `<model>.<suffix>` beside the model, when that file exists. */
async function fileBeside(modelPath: string, suffix: string): Promise<string | undefined> {
  const path = `${modelPath.replace(/\.onnx$/i, "")}.${suffix}`;
  return access(path).then(
    () => path,
    () => undefined,
  );
}

async function loadTaxonomy(path: string | undefined, labels: string[]): Promise<TaxonomyMap> {
  if (path === undefined) return buildTaxonomy(labels, { synthesizeAncestors: true });
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new Error(`cannot read the taxonomy file ${path}: ${(error as Error).message}`);
  }
  return buildTaxonomy(parseLabels(text, `the taxonomy file ${path}`), { synthesizeAncestors: false });
}

/** A classification threshold is a detector confidence: a number from 0 to 1. */
function checkThreshold(threshold: number): number {
  if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) {
    throw new Error(`the classification threshold ${threshold} is not a confidence from 0 to 1`);
  }
  return threshold;
}

interface BoxJob {
  photo: number;
  detection: number;
  rect: CropRect;
}

export class SpeciesClassifier {
  private readonly thread: InferenceThread;
  private readonly model: ClassifierModelInfo;
  private readonly labels: string[];
  private readonly taxonomy: TaxonomyMap;
  private readonly geofence: GeofenceMap | undefined;
  private readonly jobLocation: GeofenceLocation | undefined;
  private readonly countryOf: CountryOf | undefined;
  readonly threshold: number;
  readonly minCropSide: number;
  /** Crops per inference call. */
  readonly maxBatch: number;
  /** What the reports say about this classifier. */
  readonly runInfo: ClassifierRunInfo;

  private constructor(parts: {
    thread: InferenceThread;
    model: ClassifierModelInfo;
    labels: string[];
    taxonomy: TaxonomyMap;
    geofence: GeofenceMap | undefined;
    jobLocation: GeofenceLocation | undefined;
    countryOf: CountryOf | undefined;
    maxBatch: number;
    runInfo: ClassifierRunInfo;
    ownsThread: boolean;
  }) {
    this.thread = parts.thread;
    this.model = parts.model;
    this.labels = parts.labels;
    this.taxonomy = parts.taxonomy;
    this.geofence = parts.geofence;
    this.jobLocation = parts.jobLocation;
    this.countryOf = parts.countryOf;
    this.maxBatch = parts.maxBatch;
    this.runInfo = parts.runInfo;
    this.threshold = parts.runInfo.threshold;
    this.minCropSide = parts.runInfo.minCropSide;
    this.ownsThread = parts.ownsThread;
  }

  private readonly ownsThread: boolean;

  /** Loads everything and checks it; throws an error that names the file or value at fault. */
  static async open(options: ClassifierOptions): Promise<SpeciesClassifier> {
    const { modelPath } = options;
    const metadataProps = await readOnnxMetadataProps(modelPath).catch((error: unknown) => {
      throw new Error(`cannot read the classifier ${modelPath}: ${error instanceof Error ? error.message : String(error)}`);
    });
    const { labels, source: labelsSource } = await loadLabels(modelPath, metadataProps, options.labelsPath);
    const taxonomyPath = options.taxonomyPath ?? (await fileBeside(modelPath, "taxonomy.txt"));
    const taxonomy = await loadTaxonomy(taxonomyPath, labels);
    const geofencePath = options.geofencePath ?? (await fileBeside(modelPath, "geofence.json"));
    const geofence = geofencePath === undefined ? undefined : await loadGeofence(geofencePath);
    const jobLocation = checkLocationOption(options.location, geofence ? geofenceCountries(geofence) : undefined);

    checkThreshold(options.threshold ?? DEFAULT_CLASSIFICATION_THRESHOLD);
    const thread = await InferenceThread.open(modelPath, options.provider ?? "auto");
    try {
      const model = describeClassifier(thread.inputShape, thread.outputShape, metadataProps, options.hints);
      const maxBatch = model.fixedBatch ?? Math.max(1, options.batchSize ?? DEFAULT_CLASSIFIER_BATCH_SIZE);
      const classCount = model.classCount ?? (await SpeciesClassifier.probeClassCount(thread, model));
      if (classCount !== labels.length) {
        throw new Error(
          `the classifier ${modelPath} has ${classCount} output classes but ${labelsSource} has ${labels.length} labels: ` +
            "give the labels file made for this model",
        );
      }
      const runInfo: ClassifierRunInfo = {
        model: basename(modelPath),
        ...(options.modelId ? { modelId: options.modelId } : {}),
        labels,
        labelsSource,
        inputWidth: model.inputWidth,
        inputHeight: model.inputHeight,
        inputLayout: model.layout,
        threshold: checkThreshold(options.threshold ?? DEFAULT_CLASSIFICATION_THRESHOLD),
        minCropSide: options.minCropSide ?? MIN_CROP_SIDE_PX,
        ...(geofencePath ? { geofence: geofencePath } : {}),
        ...(taxonomyPath ? { taxonomy: taxonomyPath } : {}),
        ...jobLocation,
        provider: thread.provider,
      };
      return new SpeciesClassifier({
        thread, model, labels, taxonomy, geofence, jobLocation, countryOf: options.countryOf ?? countryOfPosition, maxBatch, runInfo, ownsThread: true,
      });
    } catch (error) {
      await thread.close();
      throw error;
    }
  }

  /**
   * This classifier for one job (the queue worker opens the model once and runs many jobs):
   * the job's country and threshold, checked here before any photo, replace this one's; what
   * the job leaves out stays as it is. Shares the inference thread, which only the classifier
   * that open() returned closes.
   */
  forJob(options: { location?: LocationOption; threshold?: number }): SpeciesClassifier {
    const jobLocation = options.location
      ? checkLocationOption(options.location, this.geofence ? geofenceCountries(this.geofence) : undefined)
      : this.jobLocation;
    const threshold = checkThreshold(options.threshold ?? this.threshold);
    const rest: ClassifierRunInfo = { ...this.runInfo };
    delete rest.country;
    delete rest.admin1Region;
    return new SpeciesClassifier({
      thread: this.thread,
      model: this.model,
      labels: this.labels,
      taxonomy: this.taxonomy,
      geofence: this.geofence,
      jobLocation,
      countryOf: this.countryOf,
      maxBatch: this.maxBatch,
      runInfo: { ...rest, threshold, ...jobLocation },
      ownsThread: false,
    });
  }

  /** A model whose output shape leaves the class count open: one blank input tells it. */
  private static async probeClassCount(thread: InferenceThread, model: ClassifierModelInfo): Promise<number> {
    const batch = model.fixedBatch ?? 1;
    const { dims } = await thread.run(new Float32Array(batch * 3 * model.inputWidth * model.inputHeight), SpeciesClassifier.inputDims(model, batch));
    if (dims.length !== 2) throw new Error(`the classifier's output has shape [${dims.join(", ")}]; expected [batch, classes]`);
    return dims[1]!;
  }

  private static inputDims(model: ClassifierModelInfo, batch: number): number[] {
    const { inputWidth: w, inputHeight: h } = model;
    return model.layout === "nhwc" ? [batch, h, w, 3] : [batch, 3, h, w];
  }

  /** Classifies every eligible box of these photos; results come back in photo order. */
  async classify(photos: readonly ClassifierPhoto[]): Promise<ClassifiedPhoto[]> {
    const results: ClassifiedPhoto[] = photos.map((photo) => ({
      detections: photo.detections.map((detection) => ({ ...detection })),
      location: locatePhoto(this.jobLocation, photo, this.countryOf),
    }));
    const jobs = this.planJobs(photos, results);
    const skip = (job: BoxJob, reason: string): void => {
      results[job.photo]!.detections[job.detection]!.classificationSkipped = reason;
    };

    // Prepare the next batch's crops while the previous one runs.
    let running: { jobs: BoxJob[]; output: Promise<InferenceOutput> } | undefined;
    for (let start = 0; start < jobs.length; start += this.maxBatch) {
      const next = this.startBatch(photos, jobs.slice(start, start + this.maxBatch));
      if (running) await this.finishBatch(running, results, skip);
      running = next;
    }
    if (running) await this.finishBatch(running, results, skip);
    return results;
  }

  /** The boxes to classify; boxes that qualify but cannot be cropped are marked skipped here. */
  private planJobs(photos: readonly ClassifierPhoto[], results: ClassifiedPhoto[]): BoxJob[] {
    const jobs: BoxJob[] = [];
    photos.forEach((photo, p) => {
      const { width, height, pixels } = photo.image;
      const badImage =
        pixels.length === width * height * 3 ? undefined : `the decoded photo has ${pixels.length} bytes, not ${width}x${height}x3 RGB`;
      photo.detections.forEach((detection, d) => {
        if (detection.category !== ANIMAL_CATEGORY || detection.conf < this.threshold) return;
        const target = results[p]!.detections[d]!;
        if (badImage) {
          target.classificationSkipped = `no crop: ${badImage}`;
          return;
        }
        let rect: CropRect;
        try {
          rect = cropRectOf(detection.bbox, width, height);
        } catch (error) {
          target.classificationSkipped = `no crop: ${(error as Error).message}`;
          return;
        }
        if (rect.width < this.minCropSide || rect.height < this.minCropSide) {
          target.classificationSkipped = `box too small to classify: ${rect.width}x${rect.height} px, under ${this.minCropSide} px`;
          return;
        }
        jobs.push({ photo: p, detection: d, rect });
      });
    });
    return jobs;
  }

  private startBatch(photos: readonly ClassifierPhoto[], jobs: BoxJob[]): { jobs: BoxJob[]; output: Promise<InferenceOutput> } {
    const { inputWidth, inputHeight, layout } = this.model;
    const batch = this.model.fixedBatch ?? jobs.length;
    const imageSize = 3 * inputWidth * inputHeight;
    const tensor = new Float32Array(batch * imageSize);
    jobs.forEach((job, i) => writeCrop(photos[job.photo]!.image, job.rect, inputWidth, inputHeight, layout, tensor, i * imageSize));
    const output = this.thread.run(tensor, SpeciesClassifier.inputDims(this.model, batch));
    // Awaited in finishBatch, after the previous batch: until then a failure must not count as unhandled.
    output.catch(() => undefined);
    return { jobs, output };
  }

  private async finishBatch(
    running: { jobs: BoxJob[]; output: Promise<InferenceOutput> },
    results: ClassifiedPhoto[],
    skip: (job: BoxJob, reason: string) => void,
  ): Promise<void> {
    let output: InferenceOutput;
    try {
      output = await running.output;
    } catch (error) {
      for (const job of running.jobs) skip(job, `classification failed: ${(error as Error).message}`);
      return;
    }
    const classCount = this.labels.length;
    if (output.dims.length !== 2 || output.dims[1] !== classCount) {
      for (const job of running.jobs) skip(job, `classification failed: the model returned shape [${output.dims.join(", ")}], not [batch, ${classCount}]`);
      return;
    }
    running.jobs.forEach((job, i) => {
      const row = output.data.subarray(i * classCount, (i + 1) * classCount);
      if (!row.every(Number.isFinite)) {
        skip(job, "classification failed: the model returned a score that is not a number");
        return;
      }
      const top = topK(toProbabilities(row, this.model.output), TOP_CLASSIFICATIONS);
      const target = results[job.photo]!.detections[job.detection]!;
      const context: EnsembleContext = {
        taxonomy: this.taxonomy,
        ...(this.geofence ? { geofence: this.geofence } : {}),
        location: results[job.photo]!.location,
      };
      target.classifications = top.map(([index, score]) => [String(index), score]);
      target.species = ensembleBox(
        { labels: top.map(([index]) => this.labels[index]!), scores: top.map(([, score]) => score) },
        { detectorClass: "animal", conf: target.conf },
        context,
      );
    });
  }

  async close(): Promise<void> {
    if (this.ownsThread) await this.thread.close();
  }
}
