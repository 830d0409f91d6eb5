import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import exifr from "exifr";
import type { Detection } from "../types.ts";
import { categoryColor, detectionLabel, estimateJpegQuality, renderDetections } from "./render.ts";

const CATEGORIES = { "1": "animal", "2": "person", "3": "vehicle" };
const OPTIONS = { threshold: 0.2, categories: CATEGORIES };
const GREY = 128;
const RED = [255, 0, 0];
const ROYAL_BLUE = [65, 105, 225];
const CAMERA_EXIF = {
  IFD0: { Make: "Reconyx", Model: "HC600 HYPERFIRE" },
  IFD2: { DateTimeOriginal: "2013:06:14 06:30:12" },
  IFD3: { GPSLatitudeRef: "S", GPSLatitude: "2/1 30/1 0/1" },
};

type Box = Detection["bbox"];
const detection = (category: string, conf: number, bbox: Box): Detection => ({ category, conf, bbox });

/** A grey camera-style JPEG carrying EXIF; 4:4:4 so colours survive JPEG at known pixels. */
async function cameraJpeg(width: number, height: number, extra: { orientation?: number; quality?: number } = {}) {
  // A black block in the stored top-left corner shows where the pixels went after orientation.
  const marker = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#000000" } }).png().toBuffer();
  const image = sharp({ create: { width, height, channels: 3, background: { r: GREY, g: GREY, b: GREY } } })
    .composite([{ input: marker, left: 0, top: 0 }])
    .withExif(CAMERA_EXIF);
  if (extra.orientation) image.withMetadata({ orientation: extra.orientation, exif: CAMERA_EXIF });
  return image.jpeg({ quality: extra.quality ?? 92, chromaSubsampling: "4:4:4" }).toBuffer();
}

async function greyPng(width: number, height: number) {
  return sharp({ create: { width, height, channels: 3, background: { r: GREY, g: GREY, b: GREY } } }).png().toBuffer();
}

/** Decoded output pixels, read as stored (no rotation), so they are what a viewer shows at Orientation 1. */
async function pixelsOf(image: Buffer) {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => {
    const i = (y * info.width + x) * info.channels;
    return [data[i], data[i + 1], data[i + 2]] as number[];
  };
  return { width: info.width, height: info.height, at };
}

function assertColor(actual: number[], expected: number[], where: string, tolerance = 40) {
  const off = actual.some((value, i) => Math.abs(value - (expected[i] ?? 0)) > tolerance);
  assert.ok(!off, `${where}: expected about rgb(${expected.join(",")}), got rgb(${actual.join(",")})`);
}

/** How many pixels of a region are near a colour. */
function countNear(pixels: Awaited<ReturnType<typeof pixelsOf>>, region: { x0: number; y0: number; x1: number; y1: number }, color: number[], tolerance = 60) {
  let count = 0;
  for (let y = region.y0; y < region.y1; y++) {
    for (let x = region.x0; x < region.x1; x++) {
      if (pixels.at(x, y).every((v, i) => Math.abs(v - (color[i] ?? 0)) <= tolerance)) count++;
    }
  }
  return count;
}

test("draws a red animal box on its edges and a filled label with text above it", async () => {
  const input = await cameraJpeg(2048, 1536);
  const output = await renderDetections(input, [detection("1", 0.87, [0.25, 0.25, 0.5, 0.5])], OPTIONS);
  assert.ok(output);
  assert.equal((await sharp(output).metadata()).format, "jpeg");
  const pixels = await pixelsOf(output);
  assert.deepEqual([pixels.width, pixels.height], [2048, 1536]);

  // Edges at x = 512 and 1536, y = 384 and 1152; 4 px lines on a 2048 px frame.
  assertColor(pixels.at(512, 768), RED, "left edge");
  assertColor(pixels.at(1536, 768), RED, "right edge");
  assertColor(pixels.at(1024, 384), RED, "top edge");
  assertColor(pixels.at(1024, 1152), RED, "bottom edge");
  assertColor(pixels.at(1024, 768), [GREY, GREY, GREY], "inside the box");
  assertColor(pixels.at(505, 768), [GREY, GREY, GREY], "just outside the left edge");

  // The label sits on top of the box: red fill with dark text, nothing red further up.
  const label = { x0: 512, y0: 384 - 36, x1: 512 + 180, y1: 384 - 2 };
  const area = (label.x1 - label.x0) * (label.y1 - label.y0);
  assert.ok(countNear(pixels, label, RED) > area * 0.4, "label background is red");
  assert.ok(countNear(pixels, label, [0, 0, 0]) > area * 0.05, "label text is drawn in black");
  assert.equal(countNear(pixels, { x0: 512, y0: 384 - 70, x1: 700, y1: 384 - 45 }, RED), 0, "nothing above the label");
});

test("draws in display orientation for an EXIF Orientation 6 photo and keeps the camera's EXIF", async () => {
  // Stored 2048x1536 landscape, shown as 1536x2048 portrait.
  const input = await cameraJpeg(2048, 1536, { orientation: 6 });
  assert.equal((await sharp(input).metadata()).orientation, 6);

  const output = await renderDetections(input, [detection("1", 0.9, [0.1, 0.2, 0.3, 0.5])], OPTIONS);
  assert.ok(output);
  const pixels = await pixelsOf(output);
  assert.deepEqual([pixels.width, pixels.height], [1536, 2048]);
  // Rotated 90 degrees clockwise: the stored top-left corner is now the top-right corner.
  assertColor(pixels.at(1536 - 20, 20), [0, 0, 0], "stored top-left marker, now top right");
  assertColor(pixels.at(20, 20), [GREY, GREY, GREY], "top left after rotation");

  // Box edges at x = 154 and 614, y = 410 and 1434 of the displayed image.
  assertColor(pixels.at(154, 900), RED, "left edge");
  assertColor(pixels.at(614, 900), RED, "right edge");
  assertColor(pixels.at(380, 410), RED, "top edge");
  assertColor(pixels.at(380, 1434), RED, "bottom edge");
  assertColor(pixels.at(380, 900), [GREY, GREY, GREY], "inside the box");

  const exif = (await exifr.parse(output, { tiff: true, exif: true, gps: true, translateValues: false, reviveValues: false })) as Record<string, unknown>;
  assert.equal(exif.DateTimeOriginal, "2013:06:14 06:30:12");
  assert.equal(exif.Make, "Reconyx");
  assert.equal(exif.Model, "HC600 HYPERFIRE");
  assert.equal(exif.GPSLatitudeRef, "S");
  assert.deepEqual(exif.GPSLatitude, [2, 30, 0]);
  assert.ok(exif.Orientation === undefined || exif.Orientation === 1, `Orientation is ${String(exif.Orientation)}`);
  assert.ok([undefined, 1].includes((await sharp(output).metadata()).orientation));
});

test("draws a person in royal blue and keeps a PNG a PNG", async () => {
  const output = await renderDetections(await greyPng(800, 600), [detection("2", 0.6, [0.5, 0.5, 0.25, 0.25])], OPTIONS);
  assert.ok(output);
  assert.equal((await sharp(output).metadata()).format, "png");
  const pixels = await pixelsOf(output);
  assert.deepEqual([pixels.width, pixels.height], [800, 600]);
  assert.deepEqual(pixels.at(400, 400), ROYAL_BLUE);
  assert.deepEqual(pixels.at(600, 400), ROYAL_BLUE);
  assert.deepEqual(pixels.at(500, 450), ROYAL_BLUE);
  assert.deepEqual(pixels.at(500, 400), [GREY, GREY, GREY]);
});

test("draws the most confident box on top where two boxes cross", async () => {
  const input = await greyPng(1000, 1000);
  const person = detection("2", 0.9, [0.4, 0.4, 0.4, 0.4]);
  const animal = detection("1", 0.5, [0.2, 0.2, 0.4, 0.4]);
  // Pipeline order (most confident first) and the reverse must draw the same.
  for (const order of [[person, animal], [animal, person]]) {
    const pixels = await pixelsOf((await renderDetections(input, order, OPTIONS))!);
    assert.deepEqual(pixels.at(600, 400), ROYAL_BLUE, "animal's right edge crosses person's top edge");
    assert.deepEqual(pixels.at(400, 600), ROYAL_BLUE, "animal's bottom edge crosses person's left edge");
    assert.deepEqual(pixels.at(600, 300), RED, "animal's right edge away from the person");
  }
});

test("puts the label inside the box when the box touches the top of the frame", async () => {
  const pixels = await pixelsOf((await renderDetections(await greyPng(1000, 800), [detection("1", 0.7, [0.3, 0, 0.4, 0.5])], OPTIONS))!);
  assertColor(pixels.at(300, 1), RED, "top-left corner, line kept inside the frame");
  // 16 px labels on a 1000 px frame: the label covers x 299-413, y 0-20, inside the box.
  const label = { x0: 302, y0: 3, x1: 400, y1: 18 };
  assert.equal(countNear(pixels, label, [GREY, GREY, GREY], 20), 0, "label area is filled");
  assert.ok(countNear(pixels, label, RED) > 98 * 15 * 0.4, "label background is red");
  assert.ok(countNear(pixels, label, [0, 0, 0], 80) > 98 * 15 * 0.05, "label text is drawn");
  assertColor(pixels.at(350, 30), [GREY, GREY, GREY], "below the label, inside the box");
});

test("returns null when no detection reaches the threshold, so the original is kept", async () => {
  const input = await greyPng(200, 100);
  const weak = [detection("1", 0.19, [0.1, 0.1, 0.2, 0.2]), detection("2", 0.005, [0.5, 0.5, 0.2, 0.2])];
  assert.equal(await renderDetections(input, weak, OPTIONS), null);
  assert.equal(await renderDetections(input, [], OPTIONS), null);
  assert.ok(await renderDetections(input, [detection("1", 0.2, [0.1, 0.1, 0.2, 0.2])], OPTIONS), "conf equal to the threshold is drawn");
});

test("re-encodes a JPEG at about its own quality and chroma subsampling", async () => {
  for (const quality of [75, 95]) {
    const input = await cameraJpeg(640, 480, { quality });
    assert.equal(estimateJpegQuality(input), quality);
    const output = (await renderDetections(input, [detection("3", 0.5, [0.1, 0.1, 0.5, 0.5])], OPTIONS))!;
    assert.equal(estimateJpegQuality(output), quality);
    assert.equal((await sharp(output).metadata()).chromaSubsampling, "4:4:4");
  }
  const subsampled = await sharp(await cameraJpeg(640, 480)).jpeg({ quality: 85, chromaSubsampling: "4:2:0" }).toBuffer();
  const output = (await renderDetections(subsampled, [detection("1", 0.5, [0.1, 0.1, 0.5, 0.5])], OPTIONS))!;
  assert.equal((await sharp(output).metadata()).chromaSubsampling, "4:2:0");
  assert.equal(estimateJpegQuality(Buffer.from("not a jpeg")), undefined);
});

test("labels as MegaDetector does: name, colon, percent rounded half to even", () => {
  assert.equal(detectionLabel(detection("1", 0.87, [0, 0, 1, 1]), CATEGORIES), "animal: 87%");
  assert.equal(detectionLabel(detection("3", 0.125, [0, 0, 1, 1]), CATEGORIES), "vehicle: 12%");
  assert.equal(detectionLabel(detection("2", 0.135, [0, 0, 1, 1]), CATEGORIES), "person: 14%");
  assert.equal(detectionLabel(detection("7", 1, [0, 0, 1, 1]), CATEGORIES), "7: 100%");
  const colors = ["1", "2", "3", "4", "5"].map(categoryColor);
  assert.deepEqual(colors.slice(0, 3), ["#ff0000", "#4169e1", "#ffd700"]);
  assert.equal(new Set(colors).size, colors.length, "other categories get their own colours");
});

test("escapes category names in the SVG and draws boxes that run past the frame", async () => {
  const output = await renderDetections(
    await greyPng(400, 300),
    [detection("1", 0.8, [0.9, 0.9, 0.5, 0.5])],
    { threshold: 0.2, categories: { "1": "<deer & \"fawn\">" } },
  );
  const pixels = await pixelsOf(output!);
  assert.deepEqual(pixels.at(399, 295), RED, "line clamped to the bottom-right corner");
});
