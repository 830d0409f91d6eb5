// One header parse and one decode per photo (issue 14): the boxed photos drawn into the pixels
// the detector's decode kept come out as the decode-again path draws them (within JPEG
// tolerance, EXIF kept, Orientation 1), for all eight EXIF orientations; the workbook's pixel
// columns are the normalised boxes times the size the decoder displays.
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
import { ascii, exifApp1Segment, rational, short } from "../../../test/helpers/exifImages.ts";
import { readZip } from "../../../test/helpers/readZip.ts";
import { assertWithinJpegTolerance } from "../../../test/helpers/jpegTolerance.ts";
import { writeTinyDetector } from "../../../test/helpers/tinyModels.ts";
import { Detector } from "../detector/detector.ts";
import { preprocessForDetector } from "../detector/preprocess.ts";
import { collectInputs } from "../inputs/collectInputs.ts";
import { readImageHeader } from "../metadata/imageHeader.ts";
import { estimateJpegQuality, renderDetections, uprightExif } from "../outputs/render.ts";
import { runPipeline } from "./runPipeline.ts";

const ORIENTATIONS = [1, 2, 3, 4, 5, 6, 7, 8];
const CATEGORIES = { "1": "animal", "2": "person", "3": "vehicle" };
let dir: string;
let detector: Detector;
let zip: Map<string, Buffer>;
const inputs = new Map<string, Buffer>();

/** 640x480 stored, a magenta target the tiny model finds off-centre (so every orientation moves it), camera EXIF. */
async function orientedPhoto(orientation: number): Promise<Buffer> {
  const target = await sharp({ create: { width: 200, height: 120, channels: 3, background: { r: 255, g: 0, b: 230 } } }).png().toBuffer();
  const jpeg = await sharp({ create: { width: 640, height: 480, channels: 3, background: { r: 60, g: 60, b: 60 } } })
    .composite([{ input: target, left: 40, top: 60 }])
    .jpeg({ quality: 90, chromaSubsampling: "4:2:0" })
    .toBuffer();
  const exif = exifApp1Segment({
    ifd0: { 0x010f: ascii("RECONYX"), 0x0110: ascii("HC500 HYPERFIRE"), 0x0112: short(orientation) },
    exif: { 0x9003: ascii("2023:07:14 05:32:10") },
    gps: { 0x0001: ascii("S"), 0x0002: rational([2, 1], [20, 1], [0, 1]), 0x0003: ascii("E"), 0x0004: rational([34, 1], [50, 1], [0, 1]) },
  });
  return Buffer.concat([jpeg.subarray(0, 2), exif, jpeg.subarray(2)]);
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-one-decode-"));
  await mkdir(join(dir, "in"));
  for (const orientation of ORIENTATIONS) {
    const bytes = await orientedPhoto(orientation);
    inputs.set(`o${orientation}.jpg`, bytes);
    await writeFile(join(dir, "in", `o${orientation}.jpg`), bytes);
  }
  const modelPath = join(dir, "tiny.onnx");
  await writeTinyDetector(modelPath, { layout: "yolov5", inputSize: 640, dynamicSpatial: true, stride: 32 });
  // A 640-px input: the decoder cannot shrink these 640x480 photos on load, so their pixels are kept to draw into.
  detector = await Detector.open({ modelPath, provider: "cpu", batchSize: 3 });
  const out = createWriteStream(join(dir, "results.zip"));
  await runPipeline(collectInputs([join(dir, "in")]), out, { detector, detectorName: "tiny.onnx", images: "all" });
  await finished(out);
  zip = await readZip(join(dir, "results.zip"));
});

after(async () => {
  await detector?.close();
  await rm(dir, { recursive: true, force: true });
});

interface JsonImage {
  file: string;
  detections: Array<{ category: string; conf: number; bbox: [number, number, number, number] }>;
}

function imagesOf(): JsonImage[] {
  return (JSON.parse(zip.get("detections.json")!.toString("utf8")) as { images: JsonImage[] }).images;
}

test("the decode keeps full-size pixels only where the decoder could not shrink on load, and the detector's input is the same either way", async () => {
  // 1280-px input from 1600x1200 frames: no shrink on load. Orientations 5-8 are not kept (see turnsQuarter).
  const spec = { size: 1280, stride: 64, fixedSquare: false };
  for (const orientation of ORIENTATIONS) {
    const target = await sharp({ create: { width: 400, height: 240, channels: 3, background: { r: 255, g: 0, b: 230 } } }).png().toBuffer();
    const jpeg = await sharp({ create: { width: 1600, height: 1200, channels: 3, background: { r: 60, g: 90, b: 60 }, noise: { type: "gaussian", mean: 90, sigma: 30 } } })
      .composite([{ input: target, left: 100, top: 150 }])
      .jpeg({ quality: 85 })
      .toBuffer();
    const photo = Buffer.concat([jpeg.subarray(0, 2), exifApp1Segment({ ifd0: { 0x0112: short(orientation) } }), jpeg.subarray(2)]);
    const kept = await preprocessForDetector(photo, spec, { keepForDrawing: true });
    const plain = await preprocessForDetector(photo, spec);
    assert.equal(plain.displayed, undefined);
    assert.equal(kept.displayed?.fullSize === true, orientation <= 4, `orientation ${orientation}: kept`);
    assert.ok(plain.pixels.equals(kept.pixels), `orientation ${orientation}: the letterbox is the same whether the pixels are kept or not`);
  }
  const tinyInput = await preprocessForDetector(inputs.get("o1.jpg")!, { size: 64, stride: 32, fixedSquare: false }, { keepForDrawing: true });
  assert.equal(tinyInput.displayed, undefined, "a 64-px input shrinks on load");
  const big = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: "#404040" } }).jpeg().toBuffer();
  const shrunk = await preprocessForDetector(big, spec, { keepForDrawing: true });
  assert.equal(shrunk.displayed, undefined, "a 3000-px frame shrinks on load for a 1280-px input");
});

test("boxed photos in all eight orientations: drawn once into the decoded pixels, as the SVG overlay path draws them", async () => {
  const images = imagesOf();
  for (const orientation of ORIENTATIONS) {
    const name = `o${orientation}.jpg`;
    const original = inputs.get(name)!;
    const found = images.find((image) => image.file === name)!;
    assert.ok(found.detections.some((d) => d.conf >= 0.2), `${name}: the target is found`);
    const drawn = zip.get(name)!;
    // The SVG overlay composited on a second decode, as every boxed photo was drawn before.
    const again = (await renderDetections(original, found.detections, { threshold: 0.2, categories: CATEGORIES, method: "overlay" }))!;
    await assertWithinJpegTolerance(drawn, again, name);
    const header = await readImageHeader(original);
    assert.ok(header.ok);
    const shown = await sharp(drawn).metadata();
    assert.deepEqual([shown.width, shown.height], [header.width, header.height], `${name}: drawn as displayed`);
    // EXIF kept, Orientation reset; the quality estimate and subsampling as the other path chose.
    const [tags, againTags] = (await Promise.all(
      [drawn, again].map((image) => exifr.parse(image, { translateValues: false, reviveValues: false })),
    )) as Array<Record<string, unknown>>;
    assert.ok(tags && againTags);
    assert.equal(tags.Orientation ?? 1, 1, name);
    for (const key of ["Make", "Model", "DateTimeOriginal", "GPSLatitude", "GPSLatitudeRef", "GPSLongitude"]) {
      assert.deepEqual(tags[key], againTags[key], `${name}: ${key}`);
    }
    // The drawn photo carries the original's EXIF block byte for byte but its Orientation:
    // it was drawn into the kept pixels, not decoded again (libvips would rewrite the block).
    const originalMeta = await sharp(original).metadata();
    const drawnMeta = await sharp(drawn).metadata();
    assert.ok(drawnMeta.exif?.equals(uprightExif(originalMeta.exif!)), `${name}: the EXIF block is the original's`);
    const [meta, againMeta] = await Promise.all([drawn, again].map((image) => sharp(image).metadata()));
    assert.equal(meta?.chromaSubsampling, againMeta?.chromaSubsampling);
    assert.equal(estimateJpegQuality(drawn), estimateJpegQuality(again), `${name}: encoded at the same quality`);
  }
});

test("the Detections sheet's pixels are the normalised boxes times the displayed size the decoder shows", async () => {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(zip.get("results.xlsx")! as unknown as ExcelJS.Buffer);
  const sheet = workbook.getWorksheet("Detections")!;
  const images = workbook.getWorksheet("Images")!;
  const header = (ws: ExcelJS.Worksheet) => (ws.getRow(1).values as unknown[]).map(String);
  const col = (ws: ExcelJS.Worksheet, name: string) => header(ws).indexOf(name);
  let rows = 0;
  for (let r = 2; r <= sheet.rowCount; r++) {
    const row = sheet.getRow(r);
    const path = row.getCell(col(sheet, "path")).text;
    const parsed = await readImageHeader(inputs.get(path)!);
    assert.ok(parsed.ok);
    const [x, y, w, h] = ["x_min", "y_min", "width", "height"].map((name) => Number(row.getCell(col(sheet, name)).value));
    const px = (fraction: number, size: number) => Math.round(Math.min(Math.max(fraction, 0), 1) * size);
    assert.deepEqual(
      ["left (px)", "top (px)", "right (px)", "bottom (px)"].map((name) => row.getCell(col(sheet, name)).value),
      [px(x!, parsed.width), px(y!, parsed.height), px(x! + w!, parsed.width), px(y! + h!, parsed.height)],
      path,
    );
    rows++;
  }
  assert.ok(rows >= ORIENTATIONS.length);
  for (let r = 2; r <= images.rowCount; r++) {
    const row = images.getRow(r);
    const parsed = await readImageHeader(inputs.get(row.getCell(col(images, "path")).text)!);
    assert.ok(parsed.ok);
    assert.deepEqual([row.getCell(col(images, "width (px)")).value, row.getCell(col(images, "height (px)")).value], [parsed.width, parsed.height]);
  }
});

test("boxes drawn into decoded pixels match the SVG overlay: crossing boxes, frame edges, a zero-width box, every category colour", async () => {
  const original = inputs.get("o3.jpg")!;
  const detections = [
    { category: "1", conf: 0.9, bbox: [0.1, 0.1, 0.5, 0.4] },
    { category: "2", conf: 0.6, bbox: [0.3, 0.2, 0.6, 0.7] },
    { category: "3", conf: 0.4, bbox: [0, 0, 1, 1] },
    { category: "7", conf: 0.3, bbox: [0.95, 0.5, 0.2, 0.3] },
    { category: "1", conf: 0.25, bbox: [0.5, 0.5, 0, 0.2] },
  ] as Array<{ category: string; conf: number; bbox: [number, number, number, number] }>;
  const header = await readImageHeader(original);
  assert.ok(header.ok);
  const kept = await preprocessForDetector(original, { size: 640, stride: 32, fixedSquare: false }, { keepForDrawing: true, header });
  assert.ok(kept.displayed?.fullSize);
  const drawn = (await renderDetections(original, detections, { threshold: 0.2, categories: CATEGORIES, header: header.meta, decoded: kept.displayed }))!;
  const again = (await renderDetections(original, detections, { threshold: 0.2, categories: CATEGORIES, method: "overlay" }))!;
  // Without kept pixels (a frame the decoder shrank on load for the detector), decoded once here and drawn the same way.
  const decodedHere = (await renderDetections(original, detections, { threshold: 0.2, categories: CATEGORIES }))!;
  const [here, reference] = await Promise.all([decodedHere, drawn].map((image) => sharp(image).raw().toBuffer()));
  assert.ok(here!.equals(reference!), "drawn into kept pixels or pixels decoded at render time: the same");
  await assertWithinJpegTolerance(drawn, again, "drawn into kept pixels or overlaid");
});
