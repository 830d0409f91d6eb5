// npm run bench:species [-- --images 60 --batch 1,8]
//
// Issue 15's figures: what classifying every animal box costs. The same generated frames (a
// third with one "animal" the tiny detector finds) run through the whole pipeline without a
// classifier and with a SpeciesNet-sized stand-in (bench/standInClassifier.ts: 480-px NHWC
// input, 2,498 classes, ~24 GFLOPs per crop, random weights), at each classifier batch size.
// Prints images/s, CPU ms per image, and CPU ms per classified box (the difference, divided
// by the boxes classified).
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { parseArgs } from "node:util";
import { Detector, runPipeline, SpeciesClassifier, type InputItem } from "../gpu-worker/pipeline/index.ts";
import { writeTinyDetector } from "../test/helpers/tinyModels.ts";
import { generateFrames } from "./frames.ts";
import { STAND_IN_CLASSIFIER_GFLOPS, STAND_IN_CLASSIFIER_INPUT, writeStandInClassifier } from "./standInClassifier.ts";

const OUTPUT_DIR = join(import.meta.dirname, "output");
const { values } = parseArgs({ options: { images: { type: "string", default: "60" }, batch: { type: "string", default: "1,8" } } });
const count = Number(values.images);
const batches = values.batch.split(",").map(Number);
const size = { width: 2048, height: 1536 };

async function main(): Promise<void> {
  // bench/output is not in git: a fresh clone has never made it.
  await mkdir(OUTPUT_DIR, { recursive: true });
  const detectorPath = join(OUTPUT_DIR, "tiny-1280.onnx");
  await writeTinyDetector(detectorPath, { layout: "yolov5", inputSize: 1280, dynamicSpatial: true, stride: 64 });
  const classifierPath = join(OUTPUT_DIR, "speciesnet-stand-in.onnx");
  if (!existsSync(classifierPath)) await writeStandInClassifier(classifierPath);
  const frames = await generateFrames(size);
  const detector = await Detector.open({ modelPath: detectorPath, provider: "cpu", batchSize: 4 });
  const inputs = (): InputItem[] =>
    Array.from({ length: count }, (_, i) => {
      const bytes = frames[i % frames.length]!;
      return { kind: "image", source: { path: `cam/IMG_${String(i).padStart(5, "0")}.JPG`, size: bytes.length, read: () => Promise.resolve(bytes) } };
    });
  const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });

  const measure = async (classifier?: SpeciesClassifier) => {
    let boxes = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await runPipeline(inputs(), sink(), {
      detector,
      detectorName: "tiny-1280.onnx",
      images: "none",
      ...(classifier ? { classifier } : {}),
      onResult: (result) => (boxes += result.detections.filter((d) => d.classifications).length),
    });
    const used = process.cpuUsage(cpu);
    return { wallS: (performance.now() - started) / 1000, cpuMs: (used.user + used.system) / 1000, boxes };
  };

  console.log(
    `\nTrapline species benchmark: ${count} frames of ${size.width}x${size.height}, a third with one animal; tiny detector; ` +
      `classifier stand-in ${STAND_IN_CLASSIFIER_INPUT} px NHWC, ${STAND_IN_CLASSIFIER_GFLOPS.toFixed(1)} GFLOPs/crop, on CPU; ${cpus().length} cores, Node ${process.version}\n`,
  );
  const without = await measure();
  const rows: Record<string, string | number>[] = [{ run: "no classifier", "images/s": (count / without.wallS).toFixed(2), "CPU ms/image": (without.cpuMs / count).toFixed(0), "boxes classified": 0, "CPU ms/box (added)": "-" }];
  for (const batchSize of batches) {
    const classifier = await SpeciesClassifier.open({ modelPath: classifierPath, provider: "cpu", batchSize });
    try {
      const run = await measure(classifier);
      rows.push({
        run: `classifier, batch ${batchSize}`,
        "images/s": (count / run.wallS).toFixed(2),
        "CPU ms/image": (run.cpuMs / count).toFixed(0),
        "boxes classified": run.boxes,
        "CPU ms/box (added)": run.boxes > 0 ? ((run.cpuMs - without.cpuMs) / run.boxes).toFixed(0) : "-",
      });
    } finally {
      await classifier.close();
    }
  }
  console.table(rows);
  console.log(
    "CPU ms/box = (CPU with the classifier - CPU without) / boxes classified: the crop, its resize and the model, with\n" +
      "decoding the photo as displayed (needed for crops) instead of shrinking it on load. On a GPU the model's share falls away.",
  );
  await detector.close();
}

await main();
