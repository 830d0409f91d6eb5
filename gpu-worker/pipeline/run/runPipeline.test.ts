// The whole pipeline on a folder and a zip, with a tiny model whose answers are known:
// the results zip, detections.json and results.xlsx are read back and checked.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import ExcelJS from "exceljs";
import exifr from "exifr";
import sharp from "sharp";
import { ascii, byte, exifApp1Segment, rational, short } from "../../../test/helpers/exifImages.ts";
import { readZip } from "../../../test/helpers/readZip.ts";
import { LABELS, labelsFile } from "../../../test/helpers/speciesLabels.ts";
import { writeTinyClassifier, writeTinyDetector } from "../../../test/helpers/tinyModels.ts";
import { SpeciesClassifier } from "../classifier/classifier.ts";
import { storedEntry, zipBytes } from "../../../test/helpers/zipBytes.ts";
import { Detector } from "../detector/detector.ts";
import { validateCamtrapPackage } from "../../../test/helpers/camtrapDp/validatePackage.ts";
import { collectInputs } from "../inputs/collectInputs.ts";
import type { ImageResult, InputItem, RunInfo } from "../types.ts";
import { ZIP_OWN_NAMES } from "../zipLayout.ts";
import { runPipeline, type PipelineProgress, type PipelineSummary } from "./runPipeline.ts";

let dir: string;
let detector: Detector;
let summary: PipelineSummary;
let zip: Map<string, Buffer>;
const progress: PipelineProgress[] = [];
const inputs = new Map<string, Buffer>();
/** The species runs' zips, by classifier layout, for the output tests after them. */
const speciesZips = new Map<string, { zip: Map<string, Buffer>; run: RunInfo; dir: string }>();

/** A 640x480 grey JPEG, optionally with a target the tiny model finds, and optional EXIF. */
async function photo(options: { target?: { left: number; top: number; width: number; height: number }; exif?: Buffer } = {}) {
  const { target } = options;
  const composite = target
    ? [{ input: await sharp({ create: { width: target.width, height: target.height, channels: 3, background: { r: 255, g: 0, b: 230 } } }).png().toBuffer(), left: target.left, top: target.top }]
    : [];
  const jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 60, g: 60, b: 60 } } })
    .composite(composite)
    .jpeg({ quality: 100, chromaSubsampling: "4:4:4" })
    .toBuffer();
  return options.exif ? Buffer.concat([jpeg.subarray(0, 2), options.exif, jpeg.subarray(2)]) : jpeg;
}

const cameraExif = exifApp1Segment({
  ifd0: { 0x010f: ascii("RECONYX"), 0x0110: ascii("HC500 HYPERFIRE"), 0x0112: short(1) },
  exif: { 0x9003: ascii("2023:07:14 05:32:10"), 0xa431: ascii("H500XX01234") },
  gps: {
    0x0001: ascii("S"), 0x0002: rational([2, 1], [20, 1], [0, 1]),
    0x0003: ascii("W"), 0x0004: rational([61, 1], [30, 1], [0, 1]),
    0x0005: byte(0), 0x0006: rational([1234, 10]),
  },
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-pipeline-"));
  await mkdir(join(dir, "cam1"));
  inputs.set("cam1/IMG_0001.JPG", await photo({ target: { left: 160, top: 120, width: 320, height: 240 }, exif: cameraExif }));
  inputs.set("cam1/IMG_0002.JPG", await photo());
  inputs.set("cam1/broken.jpg", Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46]));
  for (const [path, bytes] of inputs) await writeFile(join(dir, path), bytes);
  // Orientation 6: the stored left strip is the displayed top strip.
  const rotated = await photo({ target: { left: 0, top: 0, width: 160, height: 480 }, exif: exifApp1Segment({ ifd0: { 0x0112: short(6) } }) });
  inputs.set("card/DCIM/IMG_0100.JPG", rotated);
  await writeFile(join(dir, "card.zip"), zipBytes([storedEntry("DCIM/IMG_0100.JPG", rotated), storedEntry("../escape.jpg", rotated)]));

  const modelPath = join(dir, "tiny.onnx");
  await writeTinyDetector(modelPath, { layout: "yolov5", inputSize: 64, dynamicSpatial: true, stride: 32 });
  detector = await Detector.open({ modelPath, provider: "cpu", batchSize: 2 });
  const out = createWriteStream(join(dir, "results.zip"));
  summary = await runPipeline(collectInputs([join(dir, "cam1"), join(dir, "card.zip")]), out, {
    detector,
    detectorName: "tiny.onnx",
    images: "all",
    total: 5,
    onProgress: (p) => progress.push(p),
  });
  await finished(out);
  zip = await readZip(join(dir, "results.zip"));
});

after(async () => {
  await detector?.close();
  await rm(dir, { recursive: true, force: true });
});

test("the zip holds every input image under its path, plus the reports, and nothing unsafe", () => {
  // Previews (outputs/preview.test.ts): the photo with a detection and the two blank ones (a small job checks every empty).
  assert.equal([...zip.keys()].filter((name) => name.startsWith("previews/")).length, 3);
  assert.deepEqual([...zip.keys()].filter((name) => !name.startsWith("previews/")).sort(), [
    "README.txt",
    "cam1/IMG_0001.JPG",
    "cam1/IMG_0002.JPG",
    "cam1/broken.jpg",
    "camtrap-dp/datapackage.json",
    "camtrap-dp/deployments.csv",
    "camtrap-dp/media.csv",
    "camtrap-dp/observations.csv",
    "card/DCIM/IMG_0100.JPG",
    "detections.json",
    "report.html",
    "results.xlsx",
  ]);
});

test("camtrap-dp/ in the zip is a valid Camtrap DP package", async () => {
  const packageDir = join(dir, "camtrap-dp");
  await mkdir(packageDir);
  for (const [name, bytes] of zip) if (name.startsWith("camtrap-dp/")) await writeFile(join(dir, name), bytes);
  assert.deepEqual(await validateCamtrapPackage(packageDir), []);
  const media = zip.get("camtrap-dp/media.csv")!.toString("utf8");
  assert.match(media, /,H500XX01234,,2023-07-14T05:32:10\+00:00,cam1\/IMG_0001\.JPG,false,/);
  assert.match(zip.get("camtrap-dp/observations.csv")!.toString("utf8"), /,media,animal,/);
});

test("the sorted view adds a copy of each processed image under sorted/<category>/", async () => {
  const out = createWriteStream(join(dir, "sorted.zip"));
  // One folder given: its photos' paths are relative to it.
  await runPipeline(collectInputs([join(dir, "cam1")]), out, { detector, detectorName: "tiny.onnx", images: "all", sortedView: true, eventGapSeconds: 5 });
  await finished(out);
  const sorted = await readZip(join(dir, "sorted.zip"));
  assert.deepEqual([...sorted.keys()].filter((name) => name.startsWith("sorted/")).sort(), ["sorted/animal/IMG_0001.JPG", "sorted/empty/IMG_0002.JPG"]);
  assert.ok(sorted.get("sorted/animal/IMG_0001.JPG")!.equals(sorted.get("IMG_0001.JPG")!), "the copy is the boxed image");
  assert.ok(sorted.get("sorted/empty/IMG_0002.JPG")!.equals(inputs.get("cam1/IMG_0002.JPG")!));
  assert.match(sorted.get("README.txt")!.toString("utf8"), /sorted\//);
});

test("images without boxes are byte-identical; boxed ones are re-encoded and keep their EXIF", async () => {
  assert.ok(zip.get("cam1/IMG_0002.JPG")!.equals(inputs.get("cam1/IMG_0002.JPG")!));
  assert.ok(zip.get("cam1/broken.jpg")!.equals(inputs.get("cam1/broken.jpg")!), "a broken file is kept as sent");
  const boxed = zip.get("cam1/IMG_0001.JPG")!;
  assert.ok(!boxed.equals(inputs.get("cam1/IMG_0001.JPG")!));
  const exif = (await exifr.parse(boxed, { reviveValues: false })) as Record<string, unknown>;
  assert.equal(exif.DateTimeOriginal, "2023:07:14 05:32:10");
  assert.equal(exif.Make, "RECONYX");
  // The box's red edge is on the target's border (320x240 at 160,120).
  const { data, info } = await sharp(boxed).raw().toBuffer({ resolveWithObject: true });
  const json = JSON.parse(zip.get("detections.json")!.toString("utf8")) as { images: { detections: { bbox: number[] }[] }[] };
  const [x, y, w] = json.images[0]!.detections[0]!.bbox as [number, number, number];
  const rgb = (px: number, py: number) => [...data.subarray((py * info.width + px) * info.channels, (py * info.width + px) * info.channels + 3)];
  const edge = rgb(Math.round((x + w / 2) * 640), Math.round(y * 480));
  assert.ok(edge[0]! > 200 && edge[1]! < 60 && edge[2]! < 60, `red line on the box's top edge: ${edge.join()}`);
  // The rotated frame is written upright, so its EXIF orientation no longer applies.
  const upright = await sharp(zip.get("card/DCIM/IMG_0100.JPG")).metadata();
  assert.deepEqual([upright.width, upright.height, upright.orientation ?? 1], [480, 640, 1]);
});

test("detections.json is MegaDetector's format: sorted, boxes normalised to the displayed image", () => {
  const json = JSON.parse(zip.get("detections.json")!.toString("utf8")) as {
    images: { file: string; detections: { category: string; conf: number; bbox: number[] }[] | null; failure?: string }[];
    info: { format_version: string; detector: string };
    detection_categories: Record<string, string>;
  };
  assert.equal(json.info.format_version, "1.6");
  assert.equal(json.info.detector, "tiny.onnx");
  assert.deepEqual(json.detection_categories, { "1": "animal", "2": "person", "3": "vehicle" });
  assert.deepEqual(json.images.map((i) => i.file), ["cam1/IMG_0001.JPG", "cam1/IMG_0002.JPG", "cam1/broken.jpg", "card/DCIM/IMG_0100.JPG"]);
  const [first, empty, broken, rotated] = json.images;
  const near = (actual: number[], expected: number[]) =>
    assert.ok(actual.every((v, i) => Math.abs(v - expected[i]!) <= 0.02), `${actual.join()} is near ${expected.join()}`);
  assert.equal(first!.detections!.length, 1);
  assert.equal(first!.detections![0]!.category, "1");
  assert.ok(Math.abs(first!.detections![0]!.conf - 0.9) < 0.02);
  near(first!.detections![0]!.bbox, [0.25, 0.25, 0.5, 0.5]);
  assert.deepEqual(empty!.detections, []);
  assert.equal(broken!.failure, "image access failure");
  near(rotated!.detections![0]!.bbox, [0, 0, 1, 0.25]);
});

test("results.xlsx has real types: camera dates, signed GPS, counts, and a row with the reason for each problem", async () => {
  const workbook = new ExcelJS.Workbook();
  // exceljs's load(Buffer) typing clashes with ES2024's ArrayBuffer; reading a file avoids it.
  const xlsxPath = join(dir, "results.xlsx");
  await writeFile(xlsxPath, zip.get("results.xlsx")!);
  await workbook.xlsx.readFile(xlsxPath);
  const images = workbook.getWorksheet("Images")!;
  const header = (images.getRow(1).values as unknown[]).map(String);
  const column = (name: string) => header.indexOf(name);
  const rows = new Map<string, unknown[]>();
  images.eachRow((row, n) => n > 1 && rows.set(String((row.values as unknown[])[column("path")]), row.values as unknown[]));
  assert.deepEqual([...rows.keys()].sort(), ["card.zip", "cam1/IMG_0001.JPG", "cam1/IMG_0002.JPG", "cam1/broken.jpg", "card/DCIM/IMG_0100.JPG"].sort());
  const first = rows.get("cam1/IMG_0001.JPG")!;
  assert.deepEqual(first[column("DateTimeOriginal")], new Date(Date.UTC(2023, 6, 14, 5, 32, 10)));
  assert.equal(first[column("latitude")], -(2 + 20 / 60));
  assert.equal(first[column("longitude")], -(61 + 30 / 60));
  assert.equal(first[column("altitude (m)")], 123.4);
  assert.equal(first[column("animal count")], 1);
  assert.equal(first[column("serial")], "H500XX01234");
  assert.match(String(rows.get("cam1/broken.jpg")![column("status")]), /failed/);
  assert.ok(String(rows.get("cam1/broken.jpg")![column("problem")]).length > 10);
  assert.match(String(rows.get("card.zip")![column("problem")]), /\.\.\/escape\.jpg/);
  assert.equal(workbook.getWorksheet("Detections")!.rowCount, 3, "header + two boxes");
  assert.equal(first[column("event")], "E00001");
  assert.equal(workbook.getWorksheet("Events")!.rowCount, 4, "header + three events: the dated photo, and each undated photo on its own");
  assert.ok(workbook.getWorksheet("Summary"));
});

test("progress counts up to the total, then reports; the summary matches", () => {
  const processed = progress.filter((p) => p.stage === "images").map((p) => p.processed);
  assert.deepEqual(processed, [1, 2, 3, 4, 5]);
  assert.equal(progress.at(-1)!.stage, "reports");
  assert.equal(summary.totals.images, 5);
  assert.equal(summary.totals.failed, 2);
  assert.equal(summary.totals.imagesWith["1"], 2);
  assert.equal(summary.run.provider, "cpu");
  assert.ok(summary.zipBytes > 0);
});

test("photos named like the zip's own files, or like each other, all reach the zip under paths of their own", async () => {
  // Items made by hand, not by collectInputs: the pipeline claims the paths itself.
  const jpeg = inputs.get("cam1/IMG_0002.JPG")!;
  const paths = ["README.txt", "README (2).txt", "sorted/x.jpg", "sorted (2)/x.jpg", "a/IMG.JPG", "a/img.jpg", "a/IMG.JPG"];
  const items: InputItem[] = paths.map((path) => ({ kind: "image", source: { path, size: jpeg.length, read: () => Promise.resolve(jpeg) } }));
  const out = createWriteStream(join(dir, "clashes.zip"));
  await runPipeline(items, out, { detector, detectorName: "tiny.onnx", images: "all", sortedView: true });
  await finished(out);
  const clashes = await readZip(join(dir, "clashes.zip"));
  const photos = ["README (2).txt", "README (2) (2).txt", "sorted (2)/x.jpg", "sorted (2)/x (2).jpg", "a/IMG.JPG", "a/img (2).jpg", "a/IMG (3).JPG"];
  for (const photo of photos) assert.ok(clashes.get(photo)?.equals(jpeg), `${photo} in ${[...clashes.keys()].join(", ")}`);
  assert.match(clashes.get("README.txt")!.toString("utf8"), /^TRAPLINE RESULTS/, "README.txt is the zip's own");
  const json = JSON.parse(clashes.get("detections.json")!.toString("utf8")) as { images: { file: string }[] };
  assert.deepEqual(json.images.map((image) => image.file).sort(), [...photos].sort());
  // Whatever the pipeline writes besides the photos sits under a name the layout reserves.
  const own = [...clashes.keys()].filter((name) => !photos.includes(name) && !name.startsWith("sorted/"));
  for (const name of own) assert.ok(ZIP_OWN_NAMES.includes(name.split("/")[0]!), `${name} is not in ZIP_OWN_NAMES`);
});

test("by default the zip carries boxed copies of the photos with a detection only; with images none, the reports only", async () => {
  const entriesWith = async (images?: "none") => {
    const file = join(dir, `images-${images ?? "default"}.zip`);
    const out = createWriteStream(file);
    const run = await runPipeline(collectInputs([join(dir, "cam1")]), out, { detector, detectorName: "tiny.onnx", ...(images ? { images } : {}) });
    await finished(out);
    return { run, zip: await readZip(file) };
  };
  const reports = ["previews/c8ae06e33f1ec5d2151f291002b130c8.jpg", "README.txt", "camtrap-dp/datapackage.json", "camtrap-dp/deployments.csv", "camtrap-dp/media.csv", "camtrap-dp/observations.csv", "detections.json", "report.html", "results.xlsx"];
  const byDefault = await entriesWith();
  // Only IMG_0001 has the target the tiny model finds; the blank and the broken photo stay home.
  assert.deepEqual([...byDefault.zip.keys()].sort(), ["IMG_0001.JPG", ...reports].sort());
  // One folder given: paths start inside it.
  assert.notDeepEqual(byDefault.zip.get("IMG_0001.JPG"), inputs.get("cam1/IMG_0001.JPG"), "the copy has its boxes drawn");
  assert.equal(byDefault.run.totals.images, 3, "every photo still has its row");
  assert.match(byDefault.zip.get("README.txt")!.toString("utf8"), /Photos without such a detection are left out/);
  const none = await entriesWith("none");
  assert.deepEqual([...none.zip.keys()].sort(), [...reports].sort(), "reports and previews (the report shows them)");
  assert.match(none.zip.get("README.txt")!.toString("utf8"), /reports only/);
});

/**
 * A 640x480 PNG with two "animals" the split-halves tiny detector finds one each: on the left a
 * solid target (red, B 230: confidence 0.9), on the right a target-coloured frame around a blue
 * body. The tiny classifier names a crop by its mean colour: red on the left, blue on the right.
 */
async function twoAnimals(exif?: Buffer): Promise<Buffer> {
  const solid = (width: number, height: number, background: { r: number; g: number; b: number }) =>
    sharp({ create: { width, height, channels: 3, background } }).png().toBuffer();
  const target = { r: 255, g: 0, b: 230 };
  const png = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 60, g: 60, b: 60 } } })
    .composite([
      { input: await solid(160, 200, target), left: 60, top: 140 },
      { input: await solid(180, 200, target), left: 400, top: 140 },
      { input: await solid(148, 168, { r: 0, g: 0, b: 255 }), left: 416, top: 156 },
    ])
    .jpeg({ quality: 100, chromaSubsampling: "4:4:4" })
    .toBuffer();
  return exif ? Buffer.concat([png.subarray(0, 2), exif, png.subarray(2)]) : png;
}

for (const layout of ["nchw", "nhwc"] as const) {
  test(`with a classifier (${layout.toUpperCase()}), each animal box of a photo gets its own species`, async () => {
    const speciesDir = await mkdtemp(join(dir, `species-${layout}-`));
    const labels = [LABELS.leopard, LABELS.zebra, LABELS.wildebeest];
    const modelPath = join(speciesDir, "tiny-classifier.onnx");
    await writeTinyClassifier(modelPath, { layout, inputSize: 32 });
    await writeFile(join(speciesDir, "tiny-classifier.labels.txt"), labelsFile(labels));
    const detectorPath = join(speciesDir, "two.onnx");
    await writeTinyDetector(detectorPath, { layout: "yolov5", inputSize: 320, dynamicSpatial: true, stride: 32, splitHalves: true });
    const twoDetector = await Detector.open({ modelPath: detectorPath, provider: "cpu", batchSize: 2 });
    const opened = await SpeciesClassifier.open({ modelPath, provider: "cpu" });
    // NHWC runs as the queue worker does: the model opened once, the job's country set on it.
    const classifier = layout === "nhwc" ? opened.forJob({ location: { country: "ken" } }) : opened;
    const dated = (time: string) => exifApp1Segment({ exif: { 0x9003: ascii(`2023:07:14 ${time}`) } });
    try {
      const items: InputItem[] = [
        ["gps/two.jpg", await twoAnimals(cameraExif)],
        ["nogps/two.jpg", await twoAnimals(dated("06:00:00"))],
        ["nogps/blank.jpg", await photo({ exif: dated("06:00:20") })],
      ].map(([path, bytes]) => ({ kind: "image", source: { path: path as string, size: (bytes as Buffer).length, read: () => Promise.resolve(bytes as Buffer) } }));
      const results = new Map<string, ImageResult>();
      const out = createWriteStream(join(speciesDir, "results.zip"));
      const run = await runPipeline(items, out, {
        detector: twoDetector,
        detectorName: "two.onnx",
        classifier,
        images: "none",
        // Coordinates for the camera without GPS: a deployment must have some to validate.
        camtrapDp: { location: { latitude: -1.3, longitude: 36.8 } },
        onResult: (result) => results.set(result.path, result),
      });
      await finished(out);
      speciesZips.set(layout, { zip: await readZip(join(speciesDir, "results.zip")), run: run.run, dir: speciesDir });

      for (const path of ["gps/two.jpg", "nogps/two.jpg"]) {
        const boxes = [...results.get(path)!.detections].sort((a, b) => a.bbox[0] - b.bbox[0]);
        assert.equal(boxes.length, 2, `${path}: two boxes`);
        assert.deepEqual(boxes.map((d) => d.species?.label), [LABELS.leopard, LABELS.wildebeest], path);
        assert.deepEqual(boxes.map((d) => d.species?.source), ["classifier", "classifier"]);
        assert.deepEqual(boxes.map((d) => d.classifications?.[0]?.[0]), ["0", "2"]);
      }
      if (layout === "nhwc") {
        // The job's country wins over any GPS.
        assert.deepEqual(results.get("gps/two.jpg")!.speciesLocation, { source: "option", country: "KEN" });
        assert.deepEqual(results.get("nogps/two.jpg")!.speciesLocation, { source: "option", country: "KEN" });
        assert.equal(run.run.classifier?.country, "KEN");
      } else {
        // The GPS (2°20' S, 61°30' W) is in Brazil; the other photo has no position, so no geofence.
        assert.deepEqual(results.get("gps/two.jpg")!.speciesLocation, { source: "gps", country: "BRA" });
        assert.deepEqual(results.get("nogps/two.jpg")!.speciesLocation, { source: "none" });
        assert.equal(run.run.classifier?.country, undefined);
      }
      assert.equal(run.run.classifier?.model, "tiny-classifier.onnx");
      assert.equal(run.run.classifier?.inputLayout, layout);
    } finally {
      await classifier.close();
      await opened.close();
      await twoDetector.close();
    }
  });
}

/** detections.json of a species run, as MD's validator reads it. */
interface SpeciesBatchFile {
  images: { file: string; detections: { category: string; conf: number; bbox: number[]; classifications?: [string, number][] }[] | null }[];
  classification_categories: Record<string, string>;
  classification_category_descriptions: Record<string, string>;
  info: { classifier: string; classifier_metadata: Record<string, unknown> };
}

for (const layout of ["nchw", "nhwc"] as const) {
  test(`with a classifier (${layout.toUpperCase()}), species reach detections.json, the workbook, Camtrap DP and README.txt`, async () => {
    const species = speciesZips.get(layout);
    assert.ok(species, "the species run before this test wrote its zip");
    const { zip: speciesZip, dir: speciesDir } = species;
    const rawJson = speciesZip.get("detections.json")!.toString("utf8");
    const json = JSON.parse(rawJson) as SpeciesBatchFile;
    // MD's format rules: string ids, float confidences, at most 5, most likely first, every id known.
    assert.equal(json.info.classifier, "tiny-classifier.onnx");
    assert.equal(json.info.classifier_metadata.input_layout, layout);
    assert.equal(json.info.classifier_metadata.country, layout === "nhwc" ? "KEN" : null);
    assert.deepEqual(json.classification_category_descriptions, { "0": LABELS.leopard, "1": LABELS.zebra, "2": LABELS.wildebeest });
    assert.deepEqual(json.classification_categories, { "0": "leopard", "1": "plains zebra", "2": "common wildebeest" });
    const boxes = json.images.flatMap((image) => image.detections ?? []);
    assert.equal(boxes.length, 4);
    for (const box of boxes) {
      const list = box.classifications!;
      assert.ok(list.length >= 1 && list.length <= 5);
      for (const [id, conf] of list) {
        assert.equal(typeof id, "string");
        assert.ok(id in json.classification_categories);
        assert.ok(conf >= 0 && conf <= 1);
      }
      assert.deepEqual([...list].sort((a, b) => b[1] - a[1]), list, "descending");
    }
    assert.match(rawJson, /"classifications":\[\["0",0\.\d+\]/, "confidences written as floats");
    const named = (path: string) =>
      json.images.find((image) => image.file === path)!.detections!.sort((a, b) => a.bbox[0]! - b.bbox[0]!).map((d) => json.classification_categories[d.classifications![0]![0]]);
    assert.deepEqual(named("gps/two.jpg"), ["leopard", "common wildebeest"]);

    // The workbook: species per box, per image, per event (MaxN) and a summary.
    const xlsxPath = join(speciesDir, "results.xlsx");
    await writeFile(xlsxPath, speciesZip.get("results.xlsx")!);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(xlsxPath);
    const rowsOf = (name: string) => {
      const sheet = workbook.getWorksheet(name)!;
      const header = Array.from(sheet.getRow(1).values as unknown[], String);
      const rows: Record<string, unknown>[] = [];
      sheet.eachRow((row, n) => {
        if (n > 1) rows.push(Object.fromEntries(header.map((h, i) => [h, (row.values as unknown[])[i]])));
      });
      return rows;
    };
    const detectionRows = rowsOf("Detections").filter((row) => row.path === "gps/two.jpg").sort((a, b) => Number(a.x_min) - Number(b.x_min));
    assert.deepEqual(detectionRows.map((row) => [row.species, row["scientific name"], row["species source"]]), [
      ["leopard", "Panthera pardus", "classifier"],
      ["common wildebeest", "Connochaetes taurinus", "classifier"],
    ]);
    assert.ok(Number(detectionRows[0]!["species confidence"]) > 0.8);
    const imageRow = rowsOf("Images").find((row) => row.path === "gps/two.jpg")!;
    assert.match(String(imageRow["species (boxes)"]), /leopard \(1\)/);
    assert.match(String(imageRow["species (boxes)"]), /common wildebeest \(1\)/);
    const events = rowsOf("Events");
    const burst = events.find((row) => row.images === 2)!;
    assert.match(String(burst["species (MaxN)"]), /leopard \(1\).*common wildebeest \(1\)|common wildebeest \(1\).*leopard \(1\)/);
    const summary: unknown[][] = [];
    workbook.getWorksheet("Summary")!.eachRow((row) => summary.push((row.values as unknown[]).slice(1)));
    const leopard = summary.find((row) => row[0] === "leopard")!;
    assert.deepEqual(leopard, ["leopard", "Panthera pardus", 2, 2, 2, 1], "boxes, images, events, MaxN");

    // Camtrap DP: scientific names on media and event observations, still valid against the schemas.
    const packageDir = join(speciesDir, "camtrap-dp");
    await mkdir(packageDir);
    for (const [name, bytes] of speciesZip) if (name.startsWith("camtrap-dp/")) await writeFile(join(speciesDir, name), bytes);
    assert.deepEqual(await validateCamtrapPackage(packageDir), []);
    const observations = speciesZip.get("camtrap-dp/observations.csv")!.toString("utf8");
    assert.match(observations, /,media,animal,,Panthera pardus,1,.*,machine,/);
    assert.match(observations, /,event,animal,,Connochaetes taurinus,1,.*,machine,/);
    const descriptor = JSON.parse(speciesZip.get("camtrap-dp/datapackage.json")!.toString("utf8")) as { taxonomic: { scientificName: string; taxonRank: string }[] };
    assert.deepEqual(descriptor.taxonomic.map((t) => [t.scientificName, t.taxonRank]), [["Connochaetes taurinus", "species"], ["Panthera pardus", "species"]]);

    assert.match(speciesZip.get("README.txt")!.toString("utf8"), /Species: classifier tiny-classifier\.onnx/);
  });
}

test("without a classifier README.txt says species were not classified, and detections carry no classifications", () => {
  assert.match(zip.get("README.txt")!.toString("utf8").replace(/\s+/g, " "), /Species were not classified/);
  assert.doesNotMatch(zip.get("detections.json")!.toString("utf8"), /classification/);
});
