// Previews: small, boxed, metadata-free JPEGs of the photos with a detection, and a blank check
// chosen by path alone. processImages with the tiny detector makes them from the bytes in memory.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import exifr from "exifr";
import sharp from "sharp";
import { ascii, jpegWithExif, rational } from "../../../test/helpers/exifImages.ts";
import { assertWithinJpegTolerance } from "../../../test/helpers/jpegTolerance.ts";
import { writeTinyDetector } from "../../../test/helpers/tinyModels.ts";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Detector } from "../detector/detector.ts";
import { processImages } from "../run/processImages.ts";
import type { ImageResult, InputItem } from "../types.ts";
import { preprocessForDetector } from "../detector/preprocess.ts";
import { BLANK_SAMPLE_MIN, blankSampleRate, inBlankSample, letterboxCoversPreview, makePreview, PREVIEW_LONG_SIDE, previewName } from "./preview.ts";

const categories = { "1": "animal", "2": "person", "3": "vehicle" };

async function grey(width: number, height: number, target?: { left: number; top: number; width: number; height: number }): Promise<Buffer> {
  const composite = target
    ? [{ input: await sharp({ create: { width: target.width, height: target.height, channels: 3, background: { r: 255, g: 0, b: 230 } } }).png().toBuffer(), left: target.left, top: target.top }]
    : [];
  return sharp({ create: { width, height, channels: 3, background: { r: 60, g: 60, b: 60 } } })
    .composite(composite)
    .jpeg({ quality: 95 })
    .toBuffer();
}

test("a preview is at most 800 px on its long side, boxed like the full-size copy, and carries no EXIF (no GPS)", async () => {
  const withGps = await jpegWithExif({ ifd0: { 0x010f: ascii("RECONYX") }, gps: { 0x0001: ascii("S"), 0x0002: rational([2, 1], [20, 1], [0, 1]), 0x0003: ascii("W"), 0x0004: rational([61, 1], [30, 1], [0, 1]) } }, 2000, 1500);
  assert.ok((await exifr.gps(withGps))?.latitude, "the input has GPS");
  const preview = await makePreview(withGps, [{ category: "1", conf: 0.9, bbox: [0.25, 0.25, 0.5, 0.5] }], { threshold: 0.2, categories });
  const meta = await sharp(preview).metadata();
  assert.equal(meta.format, "jpeg");
  assert.equal(Math.max(meta.width, meta.height), PREVIEW_LONG_SIDE);
  assert.equal(meta.width, 800);
  assert.equal(meta.height, 600);
  assert.equal(meta.exif, undefined, "no EXIF at all");
  assert.equal(await exifr.gps(preview).catch(() => undefined), undefined);
  // The box's left edge is drawn in the animal colour (red) at x = 200.
  const { data, info } = await sharp(preview).raw().toBuffer({ resolveWithObject: true });
  const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
  // A 2 px line through JPEG's chroma subsampling: the reddest pixel across the edge.
  const reddest = Math.max(...[198, 199, 200, 201, 202].map((x) => at(x, 300)[0]! - at(x, 300)[1]!));
  assert.ok(reddest > 80, `box edge is red (R - G = ${reddest})`);
  // Below the threshold nothing is drawn: the same spot keeps the photo's own colour.
  const plain = await makePreview(withGps, [{ category: "1", conf: 0.1, bbox: [0.25, 0.25, 0.5, 0.5] }], { threshold: 0.2, categories });
  const plainPixels = await sharp(plain).raw().toBuffer({ resolveWithObject: true });
  const p = plainPixels.data.subarray((300 * plainPixels.info.width + 201) * 3, (300 * plainPixels.info.width + 201) * 3 + 3);
  assert.ok(p[0]! - p[1]! < 0, `the photo's own green-grey, not red (${[...p].join(",")})`);
});

test("a small photo is not enlarged; a person box is blurred when asked", async () => {
  const small = await grey(320, 240);
  const meta = await sharp(await makePreview(small, [], { threshold: 0.2, categories })).metadata();
  assert.deepEqual([meta.width, meta.height], [320, 240]);
  // A sharp checkerboard inside the person's box: blurred, its contrast falls.
  const board = await sharp(Buffer.from(Array.from({ length: 400 * 300 * 3 }, (_, i) => ((Math.floor(i / 3) % 400 >> 2) + (Math.floor(i / 1200) >> 2)) % 2 ? 255 : 0)), { raw: { width: 400, height: 300, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  const person = [{ category: "2", conf: 0.8, bbox: [0.1, 0.1, 0.5, 0.5] as [number, number, number, number] }];
  const contrast = async (jpeg: Buffer) => {
    const { data, info } = await sharp(jpeg).extract({ left: 80, top: 60, width: 100, height: 80 }).greyscale().raw().toBuffer({ resolveWithObject: true });
    const mean = data.reduce((s, v) => s + v, 0) / (info.width * info.height);
    return Math.sqrt(data.reduce((s, v) => s + (v - mean) ** 2, 0) / (info.width * info.height));
  };
  const shown = await contrast(await makePreview(board, person, { threshold: 0.2, categories }));
  const blurred = await contrast(await makePreview(board, person, { threshold: 0.2, categories, blurPeople: true }));
  assert.ok(shown > 100, `checkerboard visible: ${shown}`);
  assert.ok(blurred < 30, `checkerboard blurred: ${blurred}`);
});

test("a truncated JPEG still gets a preview of what decodes; bytes that are no image say why", async () => {
  const whole = await grey(640, 480);
  const truncated = whole.subarray(0, Math.floor(whole.length * 0.6));
  assert.equal((await sharp(await makePreview(truncated, [], { threshold: 0.2, categories })).metadata()).width, 640);
  await assert.rejects(makePreview(Buffer.from("not a photo"), [], { threshold: 0.2, categories }), /the preview could not be made/);
});

test("the blank check: a fixed function of the path, 1 % of a large job's empties, at least 50 in a smaller one", () => {
  assert.equal(blankSampleRate(100), 1);
  assert.equal(blankSampleRate(100_000), 0.01);
  assert.equal(blankSampleRate(5_000), BLANK_SAMPLE_MIN / 2_500);
  const paths = Array.from({ length: 100_000 }, (_, i) => `cam${i % 7}/IMG_${i}.JPG`);
  const picked = paths.filter((path) => inBlankSample(path, 0.01));
  assert.ok(picked.length > 850 && picked.length < 1150, `about 1 %: ${picked.length}`);
  // Order and split do not matter: two halves pick the same paths as the whole.
  const halves = [...paths.slice(50_000), ...paths.slice(0, 50_000)].filter((path) => inBlankSample(path, 0.01)).sort();
  assert.deepEqual(halves, [...picked].sort());
  // A job of 5,000 photos, half empty: the floor of 50 holds.
  const empties = paths.slice(0, 2_500).filter((path) => inBlankSample(path, blankSampleRate(5_000)));
  assert.ok(empties.length >= 35, `near 50: ${empties.length}`);
  assert.equal(previewName("a/b.jpg"), previewName("a/b.jpg"));
  assert.match(previewName("a/b.jpg"), /^previews\/[0-9a-f]{32}\.jpg$/);
});

let dir: string;
let detector: Detector;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-preview-"));
  await writeTinyDetector(join(dir, "tiny.onnx"), { layout: "yolov5" });
  detector = await Detector.open({ modelPath: join(dir, "tiny.onnx"), provider: "cpu", batchSize: 2 });
});
after(async () => {
  await detector?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("processImages makes previews from the bytes it holds: every detection, the sampled empties, and the same sample whatever the split", async () => {
  const animal = await grey(1600, 1200, { left: 400, top: 300, width: 600, height: 400 });
  const empty = await grey(1600, 1200);
  const names = Array.from({ length: 40 }, (_, i) => `cam/IMG_${String(i).padStart(3, "0")}.JPG`);
  const item = (path: string, bytes: Buffer): InputItem => {
    let reads = 0;
    return {
      kind: "image",
      source: {
        path,
        size: bytes.length,
        read: () => {
          reads += 1;
          assert.equal(reads, 1, `${path} read once`);
          return Promise.resolve(bytes);
        },
      },
    };
  };
  const run = async (paths: string[]) => {
    const seen: { result: ImageResult; preview?: Buffer }[] = [];
    await processImages(
      paths.map((path, i) => item(path, i % 4 === 0 ? animal : empty)),
      { add: (result, _bytes, preview) => Promise.resolve(void seen.push({ result, ...(preview ? { preview } : {}) })) },
      { detector, images: "none", previews: { blankRate: 0.25 } },
    );
    return seen;
  };
  const whole = await run(names);
  const withAnimal = whole.filter(({ result }) => result.detections.some((d) => d.conf >= 0.2));
  assert.equal(withAnimal.length, 10);
  for (const { result, preview } of withAnimal) {
    assert.ok(preview, `${result.path} has a preview`);
    assert.equal(result.preview, previewName(result.path));
    assert.equal(result.blankSample, undefined);
    const meta = await sharp(preview).metadata();
    assert.deepEqual([meta.width, meta.height], [800, 600]);
  }
  const blanks = whole.filter(({ result }) => result.blankSample).map(({ result }) => result.path);
  assert.deepEqual(blanks, names.filter((path, i) => i % 4 !== 0 && inBlankSample(path, 0.25)));
  assert.ok(blanks.length > 0 && blanks.length < 30);
  for (const { result, preview } of whole.filter(({ result }) => result.blankSample)) assert.ok(preview && result.preview);
  // Split into two "shards" in another order: the same previews, the same blank check.
  const split = [...(await run(names.slice(20))), ...(await run(names.slice(0, 20)))];
  assert.deepEqual(split.filter(({ result }) => result.blankSample).map(({ result }) => result.path).sort(), [...blanks].sort());
  assert.deepEqual(split.filter(({ preview }) => preview).map(({ result }) => result.preview).sort(), whole.filter(({ preview }) => preview).map(({ result }) => result.preview).sort());
});

test("a preview from pixels the pipeline already decoded is the one made from the bytes (nothing decoded again)", async () => {
  const jpeg = await grey(1600, 1200, { left: 400, top: 300, width: 400, height: 300 });
  const decoded = await sharp(jpeg).autoOrient().removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const detections = [{ category: "1", conf: 0.9, bbox: [0.25, 0.25, 0.25, 0.25] as [number, number, number, number] }];
  const fromBytes = await sharp(await makePreview(jpeg, detections, { threshold: 0.2, categories })).raw().toBuffer({ resolveWithObject: true });
  const fromPixels = await sharp(
    await makePreview({ pixels: decoded.data, width: decoded.info.width, height: decoded.info.height, fullSize: true }, detections, { threshold: 0.2, categories }),
  )
    .raw()
    .toBuffer({ resolveWithObject: true });
  assert.deepEqual([fromPixels.info.width, fromPixels.info.height], [fromBytes.info.width, fromBytes.info.height]);
  assert.deepEqual([fromPixels.info.width, fromPixels.info.height], [PREVIEW_LONG_SIDE, 600]);
  let difference = 0;
  for (let i = 0; i < fromBytes.data.length; i++) difference += Math.abs(fromBytes.data[i]! - fromPixels.data[i]!);
  assert.ok(difference / fromBytes.data.length < 1, `mean difference ${(difference / fromBytes.data.length).toFixed(2)} of 255`);
});

test("a preview's boxes drawn into its resized pixels match the SVG overlay composited in the resize", async () => {
  const jpeg = await grey(2048, 1536, { left: 400, top: 300, width: 700, height: 500 });
  const detections = [
    { category: "1", conf: 0.9, bbox: [0.2, 0.2, 0.35, 0.33] },
    { category: "2", conf: 0.6, bbox: [0.3, 0.25, 0.6, 0.7] },
    { category: "3", conf: 0.4, bbox: [0, 0, 1, 1] },
    { category: "1", conf: 0.25, bbox: [0.5, 0.5, 0, 0.2] },
  ] as Array<{ category: string; conf: number; bbox: [number, number, number, number] }>;
  const decoded = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const fromPixels = { pixels: decoded.data, width: decoded.info.width, height: decoded.info.height, fullSize: true };
  for (const source of [jpeg, fromPixels]) {
    const [a, b] = await Promise.all([makePreview(source, detections, { threshold: 0.2, categories }), makePreview(source, detections, { threshold: 0.2, categories, method: "overlay" })]);
    await assertWithinJpegTolerance(a, b, "drawn into pixels or overlaid");
  }
});

test("a preview shrunk from the detector's letterbox (1280 px, padded) is the one from the full-size pixels, within JPEG tolerance", async () => {
  const jpeg = await grey(2048, 1536, { left: 400, top: 300, width: 700, height: 500 });
  const detections = [{ category: "1", conf: 0.9, bbox: [0.2, 0.2, 0.35, 0.33] as [number, number, number, number] }];
  const decoded = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const options = { threshold: 0.2, categories };
  // A fixed square input pads the frame top and bottom: the preview must leave the padding out.
  for (const spec of [{ size: 1280, stride: 64, fixedSquare: false }, { size: 1280, stride: 64, fixedSquare: true }]) {
    const letterbox = await preprocessForDetector(jpeg, spec);
    assert.ok(letterboxCoversPreview(letterbox.geometry));
    const [a, b] = await Promise.all(
      [
        makePreview({ letterboxed: letterbox.pixels, geometry: letterbox.geometry }, detections, options),
        makePreview({ pixels: decoded.data, width: decoded.info.width, height: decoded.info.height, fullSize: true }, detections, options),
      ].map(async (made) => sharp(await made).raw().toBuffer({ resolveWithObject: true })),
    );
    assert.deepEqual([a!.info.width, a!.info.height], [800, 600]);
    assert.deepEqual([a!.info.width, a!.info.height], [b!.info.width, b!.info.height]);
    let total = 0;
    for (let i = 0; i < a!.data.length; i++) total += Math.abs(a!.data[i]! - b!.data[i]!);
    assert.ok(total / a!.data.length < 1, `fixedSquare ${spec.fixedSquare}: mean difference ${(total / a!.data.length).toFixed(3)} of 255`);
  }
  // A letterbox smaller than the preview is refused (a small model input), not enlarged.
  const small = await preprocessForDetector(jpeg, { size: 640, stride: 32, fixedSquare: false });
  assert.equal(letterboxCoversPreview(small.geometry), false);
  await assert.rejects(makePreview({ letterboxed: small.pixels, geometry: small.geometry }, detections, options), /the preview could not be made/);
});
