// trapline: run the pipeline over local folders and zips, with no cloud at all.
//   npm run trapline -- process <paths...> --out results.zip
// First: sizes libuv's thread pool (sharp's decodes) before anything uses it.
import "../pipeline/run/decodeThreads.ts";
import { Command, InvalidArgumentError, Option } from "commander";
import { createWriteStream, existsSync } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { resolve } from "node:path";
import { finished } from "node:stream/promises";
import {
  checkUtcOffset,
  DEFAULT_EVENT_GAP_SECONDS,
  DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD,
  DEFAULT_CLASSIFICATION_THRESHOLD,
  DEFAULT_UTC_OFFSET,
  openClassifier,
  openModel,
  planInputs,
  runPipeline,
  EXECUTION_PROVIDERS,
  type ExecutionProvider,
  type PipelineSummary,
} from "../pipeline/index.ts";
import { createProgressReporter } from "./progressReporter.ts";
import { uploadCommand, type UploadOptions } from "./upload.ts";
import { DEFAULT_IMAGES, IMAGES_CHOICES, privacyOf, type ImagesChoice } from "../../core/jobs.ts";

function probability(value: string): number {
  const number = Number(value);
  if (!(number >= 0 && number <= 1)) throw new InvalidArgumentError("give a number between 0 and 1, e.g. 0.2");
  return number;
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError("give a whole number of at least 1");
  return number;
}

function seconds(value: string): number {
  const number = Number(value);
  if (!(number >= 0) || !Number.isFinite(number)) throw new InvalidArgumentError("give a number of seconds, e.g. 60");
  return number;
}

function utcOffset(value: string): string {
  try {
    return checkUtcOffset(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function location(value: string): { latitude: number; longitude: number } {
  const [latitude, longitude, ...rest] = value.split(",").map((part) => Number(part.trim()));
  if (rest.length > 0 || !(Math.abs(latitude!) <= 90) || !(Math.abs(longitude!) <= 180)) {
    throw new InvalidArgumentError("give latitude,longitude in decimal degrees, south and west negative, e.g. -2.33,34.83");
  }
  return { latitude: latitude!, longitude: longitude! };
}

/** --images, for both commands: which photos come back (the default is core/jobs.ts's, for the CLI and the service alike). */
function imagesOption(): Option {
  return new Option(
    "--images <which>",
    `photos in the results zip: "detections" (boxed copies of those with a detection), "all" (every photo), "none" (reports only) (default: ${DEFAULT_IMAGES})`,
  ).choices(IMAGES_CHOICES);
}

// --blur-people and --drop-gps, for both commands: the job's privacy options (core/jobs.ts PrivacyOptions, off unless given).
const blurPeopleOption = () => new Option("--blur-people", "blur every person box at or above the threshold in the photos and previews that come back");
const dropGpsOption = () => new Option("--drop-gps", "remove the GPS position from the photos that come back (the rest of their EXIF is kept; the reports still give positions)");

interface ProcessOptions {
  out: string;
  model?: string;
  threshold?: number;
  outputThreshold: number;
  batch?: number;
  provider: ExecutionProvider;
  progress: boolean;
  sorted: boolean;
  images: ImagesChoice;
  blurPeople?: boolean;
  dropGps?: boolean;
  eventGap: number;
  utcOffset?: string;
  location?: { latitude: number; longitude: number };
  /** A classifier id or path; false with --no-classifier; undefined: the default when its weights are here. */
  classifier?: string | false;
  country?: string;
  classificationThreshold?: number;
}

async function processCommand(paths: string[], options: ProcessOptions): Promise<void> {
  // A mistyped path is a mistake to fix now, not a row to find in the spreadsheet later.
  const missing = paths.filter((p) => !existsSync(p));
  if (missing.length > 0) throw new Error(`not found: ${missing.join(", ")}`);
  // The classifier first: a bad labels file or country fails before the detector loads.
  const species = await openClassifier({
    classifier: options.classifier,
    provider: options.provider,
    ...(options.country ? { location: { country: options.country } } : {}),
    ...(options.classificationThreshold !== undefined ? { threshold: options.classificationThreshold } : {}),
  });
  if (species.absent) console.error(`Species will not be classified: ${species.absent}.`);
  let model: Awaited<ReturnType<typeof openModel>>;
  try {
    model = await openModel({ model: options.model, provider: options.provider, batchSize: options.batch });
  } catch (error) {
    await species.classifier?.close();
    throw error;
  }
  const { detector } = model;
  try {
    const plan = await planInputs(paths.map((p) => resolve(p)));
    console.error(`${plan.imageCount} images to process${plan.rejectedCount ? `, ${plan.rejectedCount} inputs skipped (reasons in results.xlsx)` : ""}`);

    const outPath = resolve(options.out);
    // Write beside the target and rename at the end: an interrupted run never leaves a
    // half-written zip under the name the user asked for.
    const partialPath = `${outPath}.partial`;
    const output = createWriteStream(partialPath);
    const reporter = options.progress ? createProgressReporter(plan.items.length) : undefined;
    let summary: PipelineSummary;
    try {
      summary = await runPipeline(plan.items, output, {
        detector,
        detectorName: model.fileName,
        ...(model.id ? { modelId: model.id } : {}),
        ...(species.classifier ? { classifier: species.classifier } : { classifierAbsent: species.absent }),
        outputThreshold: options.outputThreshold,
        renderThreshold: options.threshold ?? model.typicalThreshold,
        total: plan.items.length,
        onProgress: (p) => reporter?.update(p),
        sortedView: options.sorted,
        images: options.images,
        privacy: privacyOf(options),
        eventGapSeconds: options.eventGap,
        pathRoot: plan.root,
        camtrapDp: { ...(options.utcOffset ? { utcOffset: options.utcOffset } : {}), ...(options.location ? { location: options.location } : {}) },
      });
      await finished(output);
      reporter?.stop();
      await rename(partialPath, outPath);
    } catch (error) {
      reporter?.stop();
      output.destroy();
      await rm(partialPath, { force: true });
      throw error;
    }
    printSummary(summary, outPath);
  } finally {
    await detector.close();
    await species.classifier?.close();
  }
}

const PLURALS: Record<string, string> = { animal: "animals", person: "people", vehicle: "vehicles" };

function printSummary({ totals, run, seconds, zipBytes }: PipelineSummary, outPath: string): void {
  const withCategory = Object.entries(run.categories)
    .map(([id, name]) => `${totals.imagesWith[id] ?? 0} with ${PLURALS[name] ?? name}`)
    .join(", ");
  const lines = [
    `Done in ${seconds.toFixed(1)} s (${(totals.images / Math.max(seconds, 1e-3)).toFixed(1)} images/s on ${run.provider.toUpperCase()}).`,
    `${totals.images} images: ${withCategory}, ${totals.empty} empty, ${totals.failed} failed.`,
    `Boxes drawn at confidence >= ${run.renderThreshold}; detections.json holds everything above ${run.outputThreshold}.`,
    `Results: ${outPath} (${(zipBytes / 1e6).toFixed(1)} MB)`,
  ];
  console.log(lines.join("\n"));
}

export function buildProgram(): Command {
  const program = new Command("trapline")
    .description("Find animals, people and vehicles in camera-trap photos with MegaDetector.")
    .showHelpAfterError("(run with --help for usage)");
  program
    .command("process")
    .description("Detect in photos from folders and zip files, and write one results zip (boxed images, results.xlsx, detections.json, README.txt).")
    .argument("<paths...>", "folders, photos or zip files (mixed freely)")
    .requiredOption("-o, --out <file>", "where to write the results zip")
    .option("-m, --model <id|path>", "a model id from models/manifest.json, or the path to any YOLO-style ONNX detector (default: md_v5a.0.0)")
    .option("-t, --threshold <p>", "draw and count boxes at or above this confidence (default: the model's typical threshold, 0.2 for MegaDetector v5)", probability)
    .option("--output-threshold <p>", "keep detections above this confidence in detections.json", probability, DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD)
    .option("-b, --batch <n>", "images per inference call, when the model allows batches (default: 4 on the CPU; on a GPU sized to the model's input and the GPU's memory)", positiveInteger)
    .addOption(
      new Option("-p, --provider <name>", "where inference runs: auto (CUDA when installed, else the CPU), cpu, cuda, or tensorrt (only when named; builds its engine at every start)")
        .choices(EXECUTION_PROVIDERS)
        .default("auto"),
    )
    .addOption(imagesOption().default(DEFAULT_IMAGES))
    .option("--sorted", "also place every image the zip carries under sorted/<category>/ (animal, person, vehicle, empty, or combinations)", false)
    .option("--event-gap <s>", "seconds between photos of one event when the camera does not number its bursts", seconds, DEFAULT_EVENT_GAP_SECONDS)
    .option("--utc-offset <+HH:MM>", `the cameras' clock offset from UTC, for the Camtrap DP timestamps (default: ${DEFAULT_UTC_OFFSET})`, utcOffset)
    .option("--location <lat,lon>", "coordinates for Camtrap DP deployments whose photos carry no GPS", location)
    .option("--classifier <id|path>", "species classifier: an id from models/manifest.json (speciesnet-v4.0.0a) or the path to an ONNX classifier with <name>.labels.txt beside it (default: SpeciesNet when its weights are present)")
    .option("--no-classifier", "do not classify species")
    .option("--country <ISO3>", "where the photos were taken (ISO 3166-1 alpha-3, e.g. KEN), for the species geofence (default: each photo's GPS)")
    .option("--classification-threshold <p>", `classify animal boxes at or above this confidence (default: ${DEFAULT_CLASSIFICATION_THRESHOLD})`, probability)
    .addOption(blurPeopleOption())
    .addOption(dropGpsOption())
    .option("--no-progress", "no progress bar")
    .action((paths: string[], options: ProcessOptions) => processCommand(paths, options));
  program
    .command("upload")
    .description("Send folders, zips and photos to a Trapline service (a deployed stack, or npm start) as one job, submit it, and with --wait download its results.")
    .argument("<paths...>", "folders, photos or zip files (results' paths: one folder → relative to it; several → each one's name first)")
    .requiredOption("--api <url>", "the service's address, e.g. http://localhost:3000")
    .option("--email <address>", "where the service sends word of the results (needed for a new job)")
    .option("--job <id>", "continue this job: compare its files with these (names and sizes) and send only what storage lacks")
    .option("--wait", "follow the job until it is done, then download its results", false)
    .option("-o, --out <file>", "where --wait writes the results zip (default: trapline-<job id>.zip)")
    .option("--parallel <n>", "transfers at once", positiveInteger, 16)
    .option("-t, --threshold <p>", "draw and count boxes at or above this confidence (default: the service's)", probability)
    .addOption(imagesOption())
    .option("--sorted", "also place every image under sorted/<category>/ in the results", false)
    .option("--event-gap <s>", "seconds between photos of one event when the camera does not number its bursts", seconds)
    .addOption(blurPeopleOption())
    .addOption(dropGpsOption())
    .option("--no-progress", "no progress bar")
    .action(async (paths: string[], options: UploadOptions) => {
      const stop = new AbortController();
      process.once("SIGINT", () => stop.abort());
      await uploadCommand(paths, options, undefined, stop.signal);
    });
  return program;
}

if (import.meta.main) {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    console.error(`trapline: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}
