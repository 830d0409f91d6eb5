// npm run bench [-- <folder>] [--images 100,2000] [--batch 4]
//
// Runs the whole pipeline (decode + letterbox, metadata, inference with a tiny model, render,
// zip, reports) and prints images/s, time per stage and peak RSS beside three floors, each in a
// process of its own: decoding each image once at full size; that plus encoding once each
// photo the pipeline drew boxes on; and that plus the previews it made (issue 13: resized from
// the decoded pixels and encoded), the work no pipeline can skip. Each image count runs in its
// own child processes so peak memory can be compared between them.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, stat } from "node:fs/promises";
import { cpus } from "node:os";
import { join, relative, resolve } from "node:path";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import sharp from "sharp";
import { PREVIEW_JPEG_QUALITY, PREVIEW_LONG_SIDE } from "../gpu-worker/pipeline/outputs/preview.ts";
import { estimateJpegQuality } from "../gpu-worker/pipeline/outputs/render.ts";
import { collectInputs, Detector, preprocessForDetector, runPipeline, type ExecutionProvider, type InputItem } from "../gpu-worker/pipeline/index.ts";
import { writeTinyDetector } from "../test/helpers/tinyModels.ts";
import { STAND_IN_GFLOPS, writeStandInDetector } from "./standInDetector.ts";

const OUTPUT_DIR = join(import.meta.dirname, "output");

/**
 * tiny: a few ops, so the figures are the pipeline around inference; standin: MegaDetector v5a's
 * input, output and compute with random weights (bench/standInDetector.ts), so images/s are what
 * a real MD v5a run would see on this machine's CPU or GPU.
 */
const MODELS = {
  tiny: { file: "tiny-1280.onnx", describe: "tiny 1280-px model" },
  standin: { file: "md_v5a-stand-in.onnx", describe: `MD v5a stand-in (${STAND_IN_GFLOPS.toFixed(0)} GFLOPs/image)` },
} as const;
type BenchModel = keyof typeof MODELS;
const FRAME_WIDTH = 4000;
const FRAME_HEIGHT = 3000;
const DISTINCT_FRAMES = 12;

/** 12-MP frames like a camera's: noisy texture (so JPEG sizes are realistic), a third with a red "animal". */
async function generateFrames(dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (let i = 0; i < DISTINCT_FRAMES; i++) {
    const path = join(dir, `frame_v2_${String(i).padStart(2, "0")}.jpg`);
    paths.push(path);
    if (existsSync(path)) continue;
    // Monochrome noise tinted green (G >= R everywhere), so only the painted target is red.
    const noise = await sharp({
      create: { width: FRAME_WIDTH / 8, height: FRAME_HEIGHT / 8, channels: 3, background: "#000", noise: { type: "gaussian", mean: 110, sigma: 40 } },
    })
      .greyscale()
      .resize(FRAME_WIDTH, FRAME_HEIGHT, { kernel: "cubic" })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const grey = noise.data;
    const tinted = Buffer.alloc(FRAME_WIDTH * FRAME_HEIGHT * 3);
    for (let p = 0; p < grey.length; p += noise.info.channels) {
      const v = grey[p]!;
      const at = (p / noise.info.channels) * 3;
      tinted[at] = v * 0.75;
      tinted[at + 1] = v * 0.9;
      tinted[at + 2] = v * 0.6;
    }
    const animal =
      i % 3 === 0
        ? [{ input: await sharp({ create: { width: 600, height: 400, channels: 3, background: { r: 250, g: 20, b: 200 } } }).png().toBuffer(), left: 300 + i * 100, top: 1200 }]
        : [];
    await sharp(tinted, { raw: { width: FRAME_WIDTH, height: FRAME_HEIGHT, channels: 3 } }).composite(animal).jpeg({ quality: 90 }).toFile(path);
  }
  return paths;
}

/** `count` inputs cycling over the files, each under its own path, read from disk on demand. */
function repeatedInputs(files: string[], root: string, count: number): InputItem[] {
  return Array.from({ length: count }, (_, i) => {
    const file = files[i % files.length]!;
    const path = `card_${Math.floor(i / files.length)}/${relative(root, file)}`;
    return { kind: "image", source: { path, size: 0, read: () => readFile(file) } } satisfies InputItem;
  });
}

async function listImages(folder: string): Promise<string[]> {
  const files: string[] = [];
  for await (const item of collectInputs([folder])) if (item.kind === "image") files.push(item.source.path);
  return files;
}

/**
 * Decoding each image once at full size, as displayed; with `boxed`, also encoding that many of
 * them once (spread evenly) at their own quality, as drawing boxes must; with `previews`, also
 * shrinking that many (spread evenly) to the preview's size from the decoded pixels, with the
 * preview's own resize, and encoding them at the preview's quality: the least a program can do
 * to produce the same photos and previews (boxes and labels cover a few pixels: not counted).
 */
async function decodeFloorMs(files: string[], count: number, boxed = 0, previews = 0): Promise<number> {
  const start = performance.now();
  const parallel = Math.max(2, cpus().length);
  for (let i = 0; i < count; i += parallel) {
    await Promise.all(
      Array.from({ length: Math.min(parallel, count - i) }, async (_, k) => {
        const at = i + k;
        const bytes = await readFile(files[at % files.length]!);
        const decoded = await sharp(bytes, { failOn: "none" }).autoOrient().raw().toBuffer({ resolveWithObject: true });
        const { width, height, channels } = decoded.info;
        const spread = (n: number) => Math.floor(((at + 1) * n) / count) > Math.floor((at * n) / count);
        if (spread(boxed)) {
          await sharp(decoded.data, { raw: { width, height, channels } }).jpeg({ quality: estimateJpegQuality(bytes) ?? 90, mozjpeg: false }).toBuffer();
        }
        if (spread(previews)) {
          const scale = Math.min(1, PREVIEW_LONG_SIDE / Math.max(width, height));
          await sharp(decoded.data, { raw: { width, height, channels } })
            .resize(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)), { fit: "fill" })
            .jpeg({ quality: PREVIEW_JPEG_QUALITY, mozjpeg: false })
            .toBuffer();
        }
      }),
    );
  }
  return performance.now() - start;
}

/** Child mode: one measurement (the floor, or the pipeline), printed as JSON on stdout. */
async function measure(folder: string | undefined, count: number, batch: number, model: BenchModel, floor: string | undefined): Promise<void> {
  const root = folder ? resolve(folder) : join(OUTPUT_DIR, "frames");
  const files = folder ? await absoluteImages(root) : await generateFrames(root);
  if (files.length === 0) throw new Error(`no images found in ${root}`);
  if (floor !== undefined) {
    // "decode", "<boxed>" (decode + boxed encodes) or "<boxed>:<previews>" (and the previews).
    const [boxed = 0, previews = 0] = floor === "decode" ? [] : floor.split(":").map(Number);
    const cpuBefore = process.cpuUsage();
    const ms = await decodeFloorMs(files, count, boxed, previews);
    const cpu = process.cpuUsage(cpuBefore);
    const key = floor === "decode" ? "floor" : floor.includes(":") ? "previewFloor" : "encodeFloor";
    console.log(JSON.stringify({ [`${key}Ms`]: ms, [`${key}CpuMs`]: (cpu.user + cpu.system) / 1000, [`${key}PeakRssMB`]: process.resourceUsage().maxRSS / 1024 }));
    return;
  }
  // bench/output is not in git: a fresh clone benchmarking a folder has never made it.
  await mkdir(OUTPUT_DIR, { recursive: true });
  const modelPath = join(OUTPUT_DIR, MODELS[model].file);
  if (model === "tiny") await writeTinyDetector(modelPath, { layout: "yolov5", inputSize: 1280, dynamicSpatial: true, stride: 64 });
  else if (!existsSync(modelPath)) await writeStandInDetector(modelPath);

  const detector = await Detector.open({ modelPath, provider, batchSize: batch });
  let zipBytes = 0;
  const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => ((zipBytes += chunk.length), done()) });
  const inputBytes = (await Promise.all(files.map((f) => stat(f)))).reduce((sum, s) => sum + s.size, 0) * (count / files.length);
  const start = performance.now();
  const cpuBefore = process.cpuUsage();
  // Every photo in the zip (images "all"): the most work around inference a job can ask for.
  let boxed = 0;
  let previews = 0;
  const summary = await runPipeline(repeatedInputs(files, root, count), sink, {
    detector,
    detectorName: MODELS[model].file,
    images: "all",
    onProgress: (progress) => (boxed = progress.withDetections),
    onResult: (result) => (previews += result.preview ? 1 : 0),
  });
  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  const inferenceCpuMs = await inferenceCpuPerImage(detector, files, batch);
  await detector.close();
  console.log(JSON.stringify({ count, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, inferenceCpuMs, stageMs: summary.stageMs, zipBytes, inputBytes, peakRssMB: process.resourceUsage().maxRSS / 1024, found: summary.totals.imagesWith["1"] ?? 0, boxed, previews }));
}

/**
 * CPU per image of inference alone (ORT's threads included), on the same frames: what the
 * pipeline's CPU figure includes for the model, to be taken out of it.
 */
async function inferenceCpuPerImage(detector: Detector, files: string[], batch: number): Promise<number> {
  const images = await Promise.all(files.map(async (file) => preprocessForDetector(await readFile(file), detector.info.spec)));
  // At least 60 images' worth, the median round: on a shared, busy machine a handful of calls,
  // or their mean, is mostly noise (3 rounds of the 6 Serengeti frames swung 9-26 ms).
  const rounds = Math.max(5, Math.ceil(60 / images.length));
  const perImage: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const before = process.cpuUsage();
    for (let i = 0; i < images.length; i += batch) await detector.detect(images.slice(i, i + batch));
    const cpu = process.cpuUsage(before);
    perImage.push((cpu.user + cpu.system) / 1000 / images.length);
  }
  return perImage.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}

async function absoluteImages(root: string): Promise<string[]> {
  // One folder given: its images' paths are relative to it (zip entries are not files: left out).
  const relativePaths = await listImages(root);
  return relativePaths.map((p) => join(root, p)).filter((p) => existsSync(p));
}

interface Measurement {
  count: number;
  floorMs: number;
  floorPeakRssMB: number;
  floorCpuMs: number;
  encodeFloorMs: number;
  encodeFloorCpuMs: number;
  previewFloorMs: number;
  previewFloorCpuMs: number;
  boxed: number;
  previews: number;
  cpuMs: number;
  inferenceCpuMs: number;
  wallMs: number;
  stageMs: Record<string, number>;
  zipBytes: number;
  inputBytes: number;
  peakRssMB: number;
  found: number;
}

function report(results: Measurement[], source: string, batch: number, model: BenchModel): void {
  console.log(`\nTrapline pipeline benchmark: ${source}; ${MODELS[model].describe} on ${provider.toUpperCase()}, batch ${batch}, ${cpus().length} cores, Node ${process.version}\n`);
  const rows = results.map((r) => {
    const perImage = (ms: number) => (ms / r.count).toFixed(1);
    return {
      images: String(r.count),
      "images/s": (r.count / (r.wallMs / 1000)).toFixed(1),
      "MB/s in": (r.inputBytes / 1e6 / (r.wallMs / 1000)).toFixed(1),
      "floor images/s": (r.count / (r.floorMs / 1000)).toFixed(1),
      "pipeline/floor": (r.wallMs / r.floorMs).toFixed(2),
      // Inference calls run one at a time; on a CPU-only box they take the cores the rest needs.
      "around inference/floor": ((r.wallMs - r.stageMs.inference!) / r.floorMs).toFixed(2),
      "CPU ms/img, pipeline (all threads)": perImage(r.cpuMs),
      "CPU ms/img, inference alone": r.inferenceCpuMs.toFixed(1),
      "CPU ms/img, around inference": (r.cpuMs / r.count - r.inferenceCpuMs).toFixed(1),
      "CPU ms/img, decode floor": perImage(r.floorCpuMs),
      "CPU ms/img, decode + boxed encode floor": perImage(r.encodeFloorCpuMs),
      "around inference/decode floor (CPU)": ((r.cpuMs / r.count - r.inferenceCpuMs) / (r.floorCpuMs / r.count)).toFixed(2),
      "CPU ms/img, decode + boxed encode + preview floor": perImage(r.previewFloorCpuMs),
      "around inference/encode floor (CPU)": ((r.cpuMs / r.count - r.inferenceCpuMs) / (r.encodeFloorCpuMs / r.count)).toFixed(2),
      "around inference/encode + preview floor (CPU)": ((r.cpuMs / r.count - r.inferenceCpuMs) / (r.previewFloorCpuMs / r.count)).toFixed(2),
      "photos boxed": r.boxed,
      "previews made": r.previews,
      "peak RSS MB": r.peakRssMB.toFixed(0),
      "floor peak RSS MB": r.floorPeakRssMB.toFixed(0),
      "with animal": r.found,
      "ms/img decode+letterbox": perImage(r.stageMs.decode!),
      "ms/img inference": perImage(r.stageMs.inference!),
      "ms/img metadata": perImage(r.stageMs.metadata!),
      "ms/img render": perImage(r.stageMs.render!),
      "ms/img zip": perImage(r.stageMs.zip!),
      "reports (xlsx+json) ms": r.stageMs.reports!.toFixed(0),
    };
  });
  // One row per figure, one column per run: narrow enough for a terminal.
  const figures = Object.keys(rows[0] ?? {});
  console.table(Object.fromEntries(figures.map((figure) => [figure, Object.fromEntries(rows.map((row) => [`${row.images} images`, row[figure as keyof typeof row]]))])));
  console.log(
    "decode floor = decoding each image once at full size (sharp, as many in parallel as cores), in its own process;\n" +
      "encode floor = that, plus encoding once (at the photo's own quality) as many photos as the pipeline boxed;\n" +
      "encode + preview floor = that, plus as many previews as the pipeline made (issue 13: a required output),\n" +
      "each resized from the decoded pixels as the preview is and encoded at its quality.\n" +
      "Stage times are summed over concurrent work, so they add up to more than the wall time.\n" +
      "around inference (wall) = wall time minus the (serial) inference time; on a CPU-only machine the model\n" +
      "also takes the cores the rest needs, so the CPU figure (pipeline CPU minus inference-alone CPU) is the fairer one.\n" +
      "Goal (issue 14): around inference/floor (CPU) <= 1.3, the floor with the necessary encodes (now the previews too),\n" +
      "and peak RSS flat as the image count grows.",
  );
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    images: { type: "string", default: "100,2000" },
    batch: { type: "string", default: "4" },
    child: { type: "boolean", default: false },
    /** Child mode: measure a floor: "decode", or a number of photos to encode once as well. */
    floor: { type: "string" },
    model: { type: "string", default: "tiny" },
    provider: { type: "string", default: "cpu" },
    help: { type: "boolean", short: "h", default: false },
  },
});
const batch = Number(values.batch);
const model = values.model as BenchModel;
const provider = values.provider as ExecutionProvider;
if (values.help || !(model in MODELS) || !["auto", "cpu", "cuda"].includes(provider)) {
  console.log(
    "npm run bench [-- <folder>] [--images 100,2000] [--batch 4] [--model tiny|standin] [--provider cpu|cuda|auto]\n" +
      "Without a folder, generated 12-megapixel frames are used (a third hold a red target the tiny model finds).\n" +
      "--model standin runs a stand-in with MegaDetector v5a's size and compute (random weights): images/s as MD v5a would run.",
  );
  if (!values.help) process.exitCode = 2;
} else if (values.child) {
  await measure(positionals[0], Number(values.images), batch, model, values.floor);
} else {
  const results: Measurement[] = [];
  // Each measurement in its own process, so peak RSS belongs to that run alone.
  const runChild = (count: number, extra: string[]) => {
    const child = spawnSync(process.execPath, [import.meta.filename, ...positionals, "--child", "--images", String(count), "--batch", String(batch), "--model", model, "--provider", provider, ...extra], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 1 << 24,
    });
    if (child.status !== 0) throw new Error(`benchmark run with ${count} images failed`);
    return JSON.parse(child.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
  };
  for (const count of values.images.split(",").map(Number)) {
    // The pipeline first: the encode floor encodes as many photos as it boxed.
    const pipeline = runChild(count, []);
    const floors = {
      ...runChild(count, ["--floor", "decode"]),
      ...runChild(count, ["--floor", String(pipeline.boxed)]),
      ...runChild(count, ["--floor", `${String(pipeline.boxed)}:${String(pipeline.previews)}`]),
    };
    results.push({ ...floors, ...pipeline } as unknown as Measurement);
  }
  report(results, positionals[0] ? `folder ${positionals[0]}` : `generated ${FRAME_WIDTH}x${FRAME_HEIGHT} JPEGs`, batch, model);
}
