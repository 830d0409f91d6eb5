// The job's privacy options: person boxes blurred in the full-size boxed copies and the
// previews (and nothing else changed), GPS removed from the photos the zip carries while the
// rest of their EXIF stays. Read back with sharp and exifr; processImages with the tiny
// person detector shows both reach the photos a run hands to its sink.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import exifr from "exifr";
import sharp from "sharp";
import { ascii, exifApp1Segment, rational, webpWithExifChunk, type ExifSpec } from "../../../test/helpers/exifImages.ts";
import { writeTinyDetector } from "../../../test/helpers/tinyModels.ts";
import { Detector } from "../detector/detector.ts";
import { processImages } from "../run/processImages.ts";
import type { Detection, ImageResult, InputItem } from "../types.ts";
import { makePreview } from "./preview.ts";
import { renderDetections } from "./render.ts";
import { BLUR_CELLS, peopleToBlur, withoutGps } from "./privacy.ts";

const categories = { "1": "animal", "2": "person", "3": "vehicle" };
const CAMERA: ExifSpec = {
  ifd0: { 0x010f: ascii("RECONYX"), 0x0110: ascii("HC600 HYPERFIRE") },
  exif: { 0x9003: ascii("2013:06:14 06:30:12") },
  gps: { 0x0001: ascii("S"), 0x0002: rational([2, 1], [20, 1], [0, 1]), 0x0003: ascii("E"), 0x0004: rational([34, 1], [50, 1], [0, 1]) },
};

/** A JPEG of sharp 6 px black-and-white squares (a face's worth of detail everywhere), with `exif` spliced in. */
async function texturedJpeg(width: number, height: number, exif: ExifSpec = CAMERA): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels.fill(((x / 6) ^ (y / 6)) & 1 ? 235 : 20, (y * width + x) * 3, (y * width + x) * 3 + 3);
  const jpeg = await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
  return Buffer.concat([jpeg.subarray(0, 2), exifApp1Segment(exif), jpeg.subarray(2)]);
}

/** exifr's tags, typed as what they are to a test: named values. */
async function tagsOf(input: Buffer, options?: { gps: boolean }): Promise<Record<string, unknown> | undefined> {
  return (await exifr.parse(input, options)) as Record<string, unknown> | undefined;
}

interface Region {
  left: number;
  top: number;
  width: number;
  height: number;
}

async function greyPixels(image: Buffer) {
  const { data, info } = await sharp(image).greyscale().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Standard deviation of the grey values in `region`. */
function spread(pixels: Awaited<ReturnType<typeof greyPixels>>, region: Region): number {
  const values: number[] = [];
  for (let y = region.top; y < region.top + region.height; y++) for (let x = region.left; x < region.left + region.width; x++) values.push(pixels.data[y * pixels.width + x]!);
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
}

/** Pixels that differ between two images of one size, counting only those more than `margin` px outside `box`. */
function differingOutside(a: Awaited<ReturnType<typeof greyPixels>>, b: Awaited<ReturnType<typeof greyPixels>>, box: Region, margin: number): number {
  let differing = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const near = x >= box.left - margin && x < box.left + box.width + margin && y >= box.top - margin && y < box.top + box.height + margin;
      if (!near && a.data[y * a.width + x] !== b.data[y * b.width + x]) differing++;
    }
  }
  return differing;
}

/** The middle of a box in pixels, clear of its drawn edges. */
function inside(bbox: Detection["bbox"], width: number, height: number): Region {
  const [x, y, w, h] = bbox;
  return { left: Math.round((x + w * 0.15) * width), top: Math.round((y + h * 0.15) * height), width: Math.round(w * 0.7 * width), height: Math.round(h * 0.7 * height) };
}

function boxRegion(bbox: Detection["bbox"], width: number, height: number): Region {
  const [x, y, w, h] = bbox;
  return { left: Math.floor(x * width), top: Math.floor(y * height), width: Math.ceil(w * width), height: Math.ceil(h * height) };
}

const PERSON: Detection = { category: "2", conf: 0.8, bbox: [0.25, 0.3, 0.25, 0.5] };
const ANIMAL: Detection = { category: "1", conf: 0.9, bbox: [0.6, 0.3, 0.3, 0.4] };

test("blurPeople: a person box in the full-size boxed copy is blurred past its detail, an animal box and everything outside are untouched", async () => {
  const photo = await texturedJpeg(1200, 900);
  // A blurred copy is drawn by the overlay pipeline (render.ts): compare it with the same pipeline unblurred.
  const plain = await greyPixels((await renderDetections(photo, [PERSON, ANIMAL], { threshold: 0.2, categories, method: "overlay" }))!);
  const blurred = await greyPixels((await renderDetections(photo, [PERSON, ANIMAL], { threshold: 0.2, categories, blurPeople: true }))!);
  const person = inside(PERSON.bbox, 1200, 900);
  assert.ok(spread(plain, person) > 80, `the squares show without the option (${spread(plain, person).toFixed(1)})`);
  assert.ok(spread(blurred, person) < 15, `the person box is blurred (${spread(blurred, person).toFixed(1)})`);
  const animal = inside(ANIMAL.bbox, 1200, 900);
  assert.ok(Math.abs(spread(blurred, animal) - spread(plain, animal)) < 1, "the animal box keeps its detail");
  // Outside the person box (beyond JPEG's 16 px blocks and their chroma smoothing), the same pixels.
  assert.equal(differingOutside(plain, blurred, boxRegion(PERSON.bbox, 1200, 900), 32), 0);
  // Still the camera's EXIF on the blurred copy.
  assert.equal((await tagsOf((await renderDetections(photo, [PERSON], { threshold: 0.2, categories, blurPeople: true }))!))?.Make, "RECONYX");
});

test("blurPeople: the preview's person box is blurred too; a person under the render threshold is not (it is not drawn either)", async () => {
  const photo = await texturedJpeg(1600, 1200);
  const plain = await greyPixels(await makePreview(photo, [PERSON, ANIMAL], { threshold: 0.2, categories }));
  const blurred = await greyPixels(await makePreview(photo, [PERSON, ANIMAL], { threshold: 0.2, categories, blurPeople: true }));
  assert.deepEqual([blurred.width, blurred.height], [800, 600]);
  const person = inside(PERSON.bbox, 800, 600);
  assert.ok(spread(plain, person) > 60, `the squares show without the option (${spread(plain, person).toFixed(1)})`);
  assert.ok(spread(blurred, person) < 15, `the person box is blurred (${spread(blurred, person).toFixed(1)})`);
  assert.equal(differingOutside(plain, blurred, boxRegion(PERSON.bbox, 800, 600), 32), 0);
  const weak = { ...PERSON, conf: 0.1 };
  const under = await greyPixels(await makePreview(photo, [weak], { threshold: 0.2, categories, blurPeople: true }));
  assert.ok(spread(under, person) > 60, "a person under the threshold is shown as it is");
  assert.deepEqual(peopleToBlur([weak, PERSON, ANIMAL, { ...PERSON, conf: 0.2 }], 0.2), [PERSON, { ...PERSON, conf: 0.2 }], "at or above the threshold, people only");
  assert.ok(BLUR_CELLS <= 8);
});

test("withoutGps: the GPS IFD emptied in JPEG (either byte order), PNG and WebP; dates and camera kept; pixels and input unchanged", async () => {
  for (const bigEndian of [false, true]) {
    const photo = await texturedJpeg(64, 48, { ...CAMERA, bigEndian });
    const before = Buffer.from(photo);
    assert.equal((await exifr.gps(photo))?.latitude.toFixed(4), (-(2 + 20 / 60)).toFixed(4), "the input has GPS");
    const dropped = withoutGps(photo);
    assert.ok(photo.equals(before), "the input is not changed");
    assert.equal(dropped.length, photo.length, "every other byte stays where it was");
    assert.equal(await exifr.gps(dropped), undefined, `no GPS (${bigEndian ? "big" : "little"}-endian)`);
    const tags = await tagsOf(dropped, { gps: true });
    assert.equal(tags?.Make, "RECONYX");
    assert.equal(tags?.Model, "HC600 HYPERFIRE");
    assert.ok(tags?.DateTimeOriginal, "the date is kept");
    assert.equal(tags?.GPSLatitude, undefined);
    assert.ok(dropped.toString("latin1").indexOf("RECONYX") > 0);
    assert.ok((await sharp(dropped).raw().toBuffer()).equals(await sharp(photo).raw().toBuffer()), "the same pixels");
  }
  // XMP can say the position again: a JPEG's XMP is left out.
  const xmpBody = Buffer.from('http://ns.adobe.com/xap/1.0/\0<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="2,20.0S"/></rdf:RDF></x:xmpmeta>', "latin1");
  const xmp = Buffer.concat([Buffer.from([0xff, 0xe1, (xmpBody.length + 2) >> 8, (xmpBody.length + 2) & 0xff]), xmpBody]);
  const withXmp = await texturedJpeg(64, 48);
  const both = Buffer.concat([withXmp.subarray(0, 2), xmp, withXmp.subarray(2)]);
  const noXmp = withoutGps(both);
  assert.equal(noXmp.indexOf("GPSLatitude"), -1);
  assert.equal(noXmp.length, both.length - xmp.length);
  assert.equal((await tagsOf(noXmp))?.Make, "RECONYX");
  // PNG's eXIf chunk (its CRC rewritten) and WebP's EXIF chunk.
  const png = await sharp({ create: { width: 32, height: 24, channels: 3, background: "#406080" } })
    .withExif({ IFD0: { Make: "RECONYX" }, IFD3: { GPSLatitudeRef: "S", GPSLatitude: "2/1 20/1 0/1", GPSLongitudeRef: "E", GPSLongitude: "34/1 50/1 0/1" } })
    .png()
    .toBuffer();
  assert.ok((await exifr.gps(png))?.latitude, "the PNG has GPS");
  const pngDropped = withoutGps(png);
  assert.equal(await exifr.gps(pngDropped), undefined);
  assert.equal((await tagsOf(pngDropped))?.Make, "RECONYX");
  assert.equal((await sharp(pngDropped).metadata()).width, 32, "the PNG still reads (chunk CRC valid)");
  // exifr does not open WebP: its EXIF chunk as sharp hands it back.
  const webpExif = (webp: Buffer) => sharp(webp).metadata().then((meta) => tagsOf(meta.exif!, { gps: true }));
  const webp = await webpWithExifChunk(exifApp1Segment(CAMERA).subarray(10));
  assert.ok((await webpExif(webp))?.latitude, "the WebP has GPS");
  const webpDropped = withoutGps(webp);
  assert.equal((await webpExif(webpDropped))?.latitude, undefined);
  assert.equal((await webpExif(webpDropped))?.Make, "RECONYX");
  // Bytes that are no photo, or a photo without EXIF, come back as they were.
  assert.ok(withoutGps(Buffer.from("not a photo")).equals(Buffer.from("not a photo")));
});

let dir: string;
let detector: Detector;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-privacy-"));
  // The tiny detector reports its red target as a person (class 1).
  await writeTinyDetector(join(dir, "person.onnx"), { layout: "yolov5", classIndex: 1 });
  detector = await Detector.open({ modelPath: join(dir, "person.onnx"), provider: "cpu", batchSize: 2 });
});
after(async () => {
  await detector?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Grey 1600 x 1200 with GPS; with `person`, a textured red "person" (two reds the tiny detector both sees) at 600..1000 x 300..900. */
async function cameraPhoto(person: boolean): Promise<Buffer> {
  const width = 1600;
  const height = 1200;
  const pixels = Buffer.alloc(width * height * 3, 90);
  if (person) {
    for (let y = 300; y < 900; y++) {
      for (let x = 600; x < 1000; x++) {
        const light = ((x / 12) ^ (y / 12)) & 1;
        pixels.set(light ? [250, 10, 200] : [150, 10, 60], (y * width + x) * 3);
      }
    }
  }
  const jpeg = await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 92, chromaSubsampling: "4:4:4" }).toBuffer();
  return Buffer.concat([jpeg.subarray(0, 2), exifApp1Segment(CAMERA), jpeg.subarray(2)]);
}

test("processImages with the privacy options: the boxed copy has its person blurred and no GPS, an unboxed copy no GPS; without them both keep GPS", async () => {
  const personPhoto = await cameraPhoto(true);
  const emptyPhoto = await cameraPhoto(false);
  const item = (path: string, bytes: Buffer): InputItem => ({ kind: "image", source: { path, size: bytes.length, read: () => Promise.resolve(bytes) } });
  const run = async (privacy: { blurPeople?: boolean; dropGps?: boolean }) => {
    const out = new Map<string, { result: ImageResult; bytes?: Buffer; preview?: Buffer }>();
    await processImages(
      [item("cam/person.jpg", personPhoto), item("cam/empty.jpg", emptyPhoto)],
      { add: (result, bytes, preview) => Promise.resolve(void out.set(result.path, { result, ...(bytes ? { bytes } : {}), ...(preview ? { preview } : {}) })) },
      { detector, images: "all", previews: { blankRate: 0 }, privacy },
    );
    return out;
  };
  const plain = await run({});
  const kept = plain.get("cam/person.jpg")!;
  assert.ok(kept.result.detections.some((d) => d.category === "2" && d.conf >= 0.2), "the tiny detector saw a person");
  assert.ok((await exifr.gps(kept.bytes!))?.latitude, "without dropGps the boxed copy keeps GPS");
  assert.ok(plain.get("cam/empty.jpg")!.bytes!.equals(emptyPhoto), "without dropGps an unboxed copy is the very file");

  const privateRun = await run({ blurPeople: true, dropGps: true });
  const person = privateRun.get("cam/person.jpg")!;
  assert.equal(await exifr.gps(person.bytes!), undefined, "the boxed copy has no GPS");
  const tags = await tagsOf(person.bytes!);
  assert.equal(tags?.Make, "RECONYX");
  assert.ok(tags?.DateTimeOriginal, "the date is kept");
  assert.ok(person.result.metadata.latitude !== undefined, "the reports still place the photo (the map)");
  const empty = privateRun.get("cam/empty.jpg")!.bytes!;
  assert.equal(await exifr.gps(empty), undefined, "the unboxed copy has no GPS");
  assert.equal(empty.length, emptyPhoto.length);
  // Inside the person: the red squares flattened in the boxed copy and the preview.
  const middle = { left: 700, top: 450, width: 200, height: 300 };
  const half = { left: 350, top: 225, width: 100, height: 150 };
  assert.ok(spread(await greyPixels(kept.bytes!), middle) > 15, "without blurPeople the squares show");
  assert.ok(spread(await greyPixels(person.bytes!), middle) < 3, "the boxed copy's person is blurred");
  assert.ok(spread(await greyPixels(kept.preview!), half) > 15, "without blurPeople the preview shows the squares");
  assert.ok(spread(await greyPixels(person.preview!), half) < 3, "the preview's person is blurred");
});
