import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { LABELS as L, labelsFile } from "../../../test/helpers/speciesLabels.ts";
import { writeTinyClassifier, type TinyClassifierOptions } from "../../../test/helpers/tinyModels.ts";
import { SpeciesClassifier, type ClassifierOptions, type ClassifierPhoto } from "./classifier.ts";
import type { Detection } from "../types.ts";

// Tiny classifiers: class 0 follows the crop's mean red, 1 green, 2 blue (test/helpers/tinyModels.ts).
const CLASS_LABELS = [L.leopard, L.zebra, L.lion, L.catFamily, L.mammal, L.cheetah];

let dir: string;
const opened: SpeciesClassifier[] = [];
let modelCount = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-classifier-"));
});
after(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await rm(dir, { recursive: true, force: true });
});

/** Writes a tiny classifier (and, unless `labels` is null, its labels file beside it) and returns its path. */
async function tinyModel(options: TinyClassifierOptions, labels: readonly string[] | null = CLASS_LABELS): Promise<string> {
  const path = join(dir, `model${modelCount++}.onnx`);
  await writeTinyClassifier(path, { classCount: CLASS_LABELS.length, ...options });
  if (labels) await writeFile(path.replace(/\.onnx$/, ".labels.txt"), labelsFile(labels));
  return path;
}

async function open(options: ClassifierOptions): Promise<SpeciesClassifier> {
  const classifier = await SpeciesClassifier.open({ provider: "cpu", ...options });
  opened.push(classifier);
  return classifier;
}

type Rgb = [number, number, number];
const RED: Rgb = [230, 20, 20];
const GREEN: Rgb = [20, 230, 20];
const BLUE: Rgb = [20, 20, 230];

/** A grey photo with coloured rectangles (pixel coordinates). */
function photo(width: number, height: number, rects: { x: number; y: number; w: number; h: number; rgb: Rgb }[]) {
  const pixels = new Uint8Array(width * height * 3).fill(128);
  for (const { x, y, w, h, rgb } of rects) {
    for (let row = y; row < y + h; row++) for (let col = x; col < x + w; col++) pixels.set(rgb, (row * width + col) * 3);
  }
  return { pixels, width, height };
}

const animal = (bbox: Detection["bbox"], conf = 0.9): Detection => ({ category: "1", conf, bbox });

/** 200x100: a red animal at (20, 20, 40x40) and a green one at (120, 30, 60x60). */
function twoAnimals(): ClassifierPhoto {
  return {
    image: photo(200, 100, [
      { x: 20, y: 20, w: 40, h: 40, rgb: RED },
      { x: 120, y: 30, w: 60, h: 60, rgb: GREEN },
    ]),
    detections: [animal([0.1, 0.2, 0.2, 0.4]), animal([0.6, 0.3, 0.3, 0.6], 0.8)],
  };
}

describe("species classifier on tiny ONNX models", () => {
  for (const layout of ["nhwc", "nchw"] as const) {
    test(`${layout.toUpperCase()} input: two animals of different colours in one photo get two species`, async () => {
      const classifier = await open({ modelPath: await tinyModel({ layout, inputSize: 48 }) });
      assert.equal(classifier.runInfo.inputLayout, layout);
      assert.deepEqual([classifier.runInfo.inputWidth, classifier.runInfo.inputHeight], [48, 48]);
      const [result] = await classifier.classify([twoAnimals()]);
      const [red, green] = result!.detections as [Detection, Detection];
      assert.deepEqual([red.species?.label, red.species?.source], [L.leopard, "classifier"]);
      assert.deepEqual([green.species?.label, green.species?.source], [L.zebra, "classifier"]);
      assert.ok(red.species!.score > 0.99);
      // top 5 of the 6 classes, most likely first, as [label index, score]
      assert.equal(red.classifications!.length, 5);
      assert.equal(red.classifications![0]![0], "0");
      assert.equal(green.classifications![0]![0], "1");
      const scores = red.classifications!.map(([, s]) => s);
      assert.deepEqual(scores, [...scores].sort((a, b) => b - a));
      // the detections keep what they had
      assert.deepEqual({ ...red, classifications: undefined, species: undefined }, { ...animal([0.1, 0.2, 0.2, 0.4]), classifications: undefined, species: undefined });
      assert.deepEqual(result!.location, { source: "none" });
    });
  }

  test("a blue crop is the blue class: channels reach the model in RGB order", async () => {
    const classifier = await open({ modelPath: await tinyModel({ layout: "nhwc" }) });
    const [result] = await classifier.classify([{ image: photo(50, 50, [{ x: 0, y: 0, w: 50, h: 50, rgb: BLUE }]), detections: [animal([0, 0, 1, 1])] }]);
    assert.equal(result!.detections[0]!.species!.label, L.lion);
  });

  test("a crop half red, half green rolls up to the class both share", async () => {
    const classifier = await open({ modelPath: await tinyModel({ layout: "nhwc" }) });
    const image = photo(100, 50, [
      { x: 0, y: 0, w: 50, h: 50, rgb: RED },
      { x: 50, y: 0, w: 50, h: 50, rgb: GREEN },
    ]);
    const [result] = await classifier.classify([{ image, detections: [animal([0, 0, 1, 1])] }]);
    const species = result!.detections[0]!.species!;
    // leopard and zebra near 0.5 each: no genus, family or order clears 0.65, class mammalia does
    assert.equal(species.label, L.mammal);
    assert.equal(species.source, "classifier+rollup_to_class");
  });

  test("only animal boxes at or above the threshold are classified; others are left as they were", async () => {
    const classifier = await open({ modelPath: await tinyModel({ layout: "nhwc" }), threshold: 0.3 });
    const person: Detection = { category: "2", conf: 0.95, bbox: [0.1, 0.2, 0.2, 0.4] };
    const weak = animal([0.6, 0.3, 0.3, 0.6], 0.29);
    const atThreshold = animal([0.6, 0.3, 0.3, 0.6], 0.3);
    const [result] = await classifier.classify([{ ...twoAnimals(), detections: [person, weak, atThreshold] }]);
    assert.deepEqual(result!.detections.slice(0, 2), [person, weak]);
    assert.equal(result!.detections[2]!.species!.label, L.zebra);
    assert.equal(classifier.runInfo.threshold, 0.3);
  });

  test("the default threshold is MegaDetector's 0.1 for classification", async () => {
    const classifier = await open({ modelPath: await tinyModel({ layout: "nhwc" }) });
    const [result] = await classifier.classify([{ ...twoAnimals(), detections: [animal([0.1, 0.2, 0.2, 0.4], 0.1), animal([0.6, 0.3, 0.3, 0.6], 0.099)] }]);
    assert.ok(result!.detections[0]!.species);
    assert.equal(result!.detections[1]!.species, undefined);
  });

  test("tiny boxes, boxes outside the photo and a bad pixel buffer are skipped with a reason, never a failure", async () => {
    const classifier = await open({ modelPath: await tinyModel({ layout: "nhwc" }) });
    const [good, broken] = await classifier.classify([
      { ...twoAnimals(), detections: [animal([0.1, 0.2, 0.03, 0.4]), animal([1.5, 0, 0.1, 0.1]), animal([0.6, 0.3, 0.3, 0.6])] },
      { image: { pixels: new Uint8Array(10), width: 200, height: 100 }, detections: [animal([0.1, 0.2, 0.2, 0.4])] },
    ]);
    assert.equal(good!.detections[0]!.classificationSkipped, "box too small to classify: 6x40 px, under 8 px");
    assert.match(good!.detections[1]!.classificationSkipped!, /^no crop: the box \[1\.5, 0, 0\.1, 0\.1\] lies outside the photo/);
    assert.equal(good!.detections[0]!.category, "1");
    assert.equal(good!.detections[2]!.species!.label, L.zebra);
    assert.match(broken!.detections[0]!.classificationSkipped!, /^no crop: the decoded photo has 10 bytes, not 200x100x3 RGB/);
  });

  test("crops of several photos share batches; results keep photo and box order", async () => {
    const classifier = await open({ modelPath: await tinyModel({ layout: "nchw" }), batchSize: 4 });
    assert.equal(classifier.maxBatch, 4);
    const colours = [RED, GREEN, BLUE];
    // three photos with 3, 5 and 3 animals: 11 boxes, 3 batches
    const photos = [3, 5, 3].map((count, p) => ({
      image: photo(20 * count, 20, Array.from({ length: count }, (_, i) => ({ x: 20 * i, y: 0, w: 20, h: 20, rgb: colours[(i + p) % 3]! }))),
      detections: Array.from({ length: count }, (_, i) => animal([i / count, 0, 1 / count, 1])),
    }));
    const results = await classifier.classify(photos);
    const expected = [L.leopard, L.zebra, L.lion];
    results.forEach((result, p) =>
      result.detections.forEach((d, i) => assert.equal(d.species?.label, expected[(i + p) % 3], `photo ${p} box ${i}`)),
    );
  });

  test("a model with a fixed batch of 1 runs one crop at a time", async () => {
    const classifier = await open({ modelPath: await tinyModel({ layout: "nhwc", dynamicBatch: false }), batchSize: 8 });
    assert.equal(classifier.maxBatch, 1);
    const [result] = await classifier.classify([twoAnimals()]);
    assert.deepEqual(result!.detections.map((d) => d.species?.label), [L.leopard, L.zebra]);
  });

  test("labels from the model's metadata; a model that outputs probabilities is not put through softmax again", async () => {
    const modelPath = await tinyModel({ layout: "nhwc", output: "probabilities", labels: CLASS_LABELS }, null);
    const classifier = await open({ modelPath });
    assert.equal(classifier.runInfo.labelsSource, "ONNX metadata");
    const [result] = await classifier.classify([twoAnimals()]);
    // softmax of the probabilities would flatten the top score to about e / (e + 5) = 0.35
    assert.ok(result!.detections[0]!.species!.score > 0.99);
    assert.equal(result!.detections[0]!.species!.label, L.leopard);
  });

  test("a model with symbolic height and width takes its size from the imgsz metadata", async () => {
    const classifier = await open({ modelPath: await tinyModel({ layout: "nchw", dynamicSpatial: true, inputSize: 40 }) });
    assert.deepEqual([classifier.runInfo.inputWidth, classifier.runInfo.inputHeight], [40, 40]);
    const [result] = await classifier.classify([twoAnimals()]);
    assert.equal(result!.detections[1]!.species!.label, L.zebra);
  });
});

describe("errors before the first photo", () => {
  test("labels count differs from the model's outputs: names the labels file and both counts", async () => {
    const modelPath = await tinyModel({ layout: "nhwc" }, CLASS_LABELS.slice(0, 4));
    await assert.rejects(open({ modelPath }), /has 6 output classes but .*model\d+\.labels\.txt has 4 labels/);
  });

  test("the same when only a run can tell the class count", async () => {
    const modelPath = await tinyModel({ layout: "nchw", dynamicClasses: true }, [...CLASS_LABELS, L.blank]);
    await assert.rejects(open({ modelPath }), /has 6 output classes but .* has 7 labels/);
  });

  test("an unreadable labels file is named", async () => {
    const modelPath = await tinyModel({ layout: "nhwc" });
    await assert.rejects(open({ modelPath, labelsPath: join(dir, "absent.labels.txt") }), /cannot read the labels file .*absent\.labels\.txt/);
  });

  test("an unknown country code is named", async () => {
    const modelPath = await tinyModel({ layout: "nhwc" });
    await assert.rejects(open({ modelPath, location: { country: "XYZ" } }), /unknown country code "XYZ"/);
  });

  test("a broken geofence beside the model is named", async () => {
    const modelPath = await tinyModel({ layout: "nhwc" });
    await writeFile(modelPath.replace(/\.onnx$/, ".geofence.json"), "[1, 2]");
    await assert.rejects(open({ modelPath }), /geofence\.json is not a SpeciesNet geofence/);
  });

  test("a file that is not a model", async () => {
    const modelPath = join(dir, "not-a-model.onnx");
    await writeFile(modelPath, "hello");
    await writeFile(join(dir, "not-a-model.labels.txt"), labelsFile(CLASS_LABELS));
    await assert.rejects(open({ modelPath }), /not-a-model\.onnx/);
  });
});

describe("geofence with the model", () => {
  const geofence = {
    "mammalia;carnivora;felidae;panthera;pardus": { allow: { KEN: [], TZA: [] } },
    "mammalia;carnivora;felidae;;": { allow: { KEN: [], TZA: [], USA: [] } },
  };

  async function fencedModel(): Promise<string> {
    const modelPath = await tinyModel({ layout: "nhwc" });
    await writeFile(modelPath.replace(/\.onnx$/, ".geofence.json"), JSON.stringify(geofence));
    return modelPath;
  }

  test("the job's country fences a leopard out of the USA: it becomes the cat family, and says why", async () => {
    const modelPath = await fencedModel();
    const classifier = await open({ modelPath, location: { country: "usa" } });
    assert.equal(classifier.runInfo.country, "USA");
    assert.match(classifier.runInfo.geofence!, /\.geofence\.json$/);
    const [result] = await classifier.classify([twoAnimals()]);
    assert.deepEqual(result!.location, { source: "option", country: "USA" });
    assert.equal(result!.detections[0]!.species!.label, L.catFamily);
    assert.equal(result!.detections[0]!.species!.source, "classifier+geofence+rollup_to_family");
    assert.equal(result!.detections[1]!.species!.label, L.zebra, "a taxon the geofence does not name is untouched");
  });

  test("without a job country, each photo's GPS decides; no GPS, no geofence", async () => {
    const modelPath = await fencedModel();
    const classifier = await open({ modelPath, countryOf: (lat) => ({ country: lat > 0 ? "USA" : "KEN" }) });
    const [inUsa, inKenya, nowhere] = await classifier.classify([
      { ...twoAnimals(), latitude: 44.6, longitude: -110.5 },
      { ...twoAnimals(), latitude: -1.3, longitude: 36.8 },
      twoAnimals(),
    ]);
    assert.equal(inUsa!.location.source, "gps");
    assert.equal(inUsa!.detections[0]!.species!.label, L.catFamily);
    assert.deepEqual(inKenya!.location, { source: "gps", country: "KEN" });
    assert.equal(inKenya!.detections[0]!.species!.label, L.leopard);
    assert.deepEqual(nowhere!.location, { source: "none" });
    assert.equal(nowhere!.detections[0]!.species!.label, L.leopard);
  });

  test("a taxonomy file beside the model is what roll-ups use", async () => {
    const modelPath = await fencedModel();
    const familyFromFile = "00000000-0000-4000-8000-0000000000ff;mammalia;carnivora;felidae;;;felids (from the taxonomy file)";
    await writeFile(modelPath.replace(/\.onnx$/, ".taxonomy.txt"), labelsFile([L.leopard, familyFromFile]));
    const classifier = await open({ modelPath, location: { country: "USA" } });
    assert.match(classifier.runInfo.taxonomy!, /\.taxonomy\.txt$/);
    const [result] = await classifier.classify([twoAnimals()]);
    assert.equal(result!.detections[0]!.species!.label, familyFromFile);
  });
});
