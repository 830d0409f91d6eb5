import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ExcelJS from "exceljs";
import sharp from "sharp";
import exifr from "exifr";
import { ascii, exifApp1Segment, jpegWithExif, rational } from "../../test/helpers/exifImages.ts";
import { damagedIsoMediaFiles, damagedTiffFiles } from "../../test/helpers/isoMedia.ts";
import { readZip } from "../../test/helpers/readZip.ts";
import { LABELS, labelsFile } from "../../test/helpers/speciesLabels.ts";
import { writeTinyClassifier, writeTinyDetector } from "../../test/helpers/tinyModels.ts";
import { storedEntry, zipBytes } from "../../test/helpers/zipBytes.ts";
import { providerLibraryPath } from "../pipeline/detector/providerLibraries.ts";
import { ZIP_OWN_NAMES } from "../pipeline/zipLayout.ts";

const CLI = join(import.meta.dirname, "main.ts");
let dir: string;
let model: string;

/** Runs the CLI; a run that has not ended in two minutes is killed and reported as hung. */
function trapline(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, TRAPLINE_MODELS_DIR: join(dir, "no-weights") } });
  assert.notEqual(result.signal, "SIGTERM", `trapline ${args.join(" ")} hung and was killed`);
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-cli-"));
  model = join(dir, "tiny.onnx");
  await writeTinyDetector(model, { layout: "yolov8", inputSize: 64, dynamicSpatial: true, stride: 32 });
  await mkdir(join(dir, "photos"));
  const grey = { width: 320, height: 240, channels: 3 as const, background: { r: 50, g: 50, b: 50 } };
  const target = await sharp({ create: { width: 80, height: 80, channels: 3, background: { r: 255, g: 0, b: 200 } } }).png().toBuffer();
  await sharp({ create: grey }).composite([{ input: target, left: 40, top: 40 }]).jpeg().toFile(join(dir, "photos", "animal.jpg"));
  await sharp({ create: grey }).jpeg().toFile(join(dir, "photos", "empty.jpg"));
  await writeFile(join(dir, "photos", "notes.txt"), "not a photo");
});
after(() => rm(dir, { recursive: true, force: true }));

test("--help explains the command and its options", () => {
  const { code, stdout } = trapline("process", "--help");
  assert.equal(code, 0);
  for (const option of ["--out", "--model", "--threshold", "--batch", "--provider", "--images", "--sorted", "--event-gap", "--utc-offset", "--location", "--classifier", "--no-classifier", "--country", "--classification-threshold", "--blur-people", "--drop-gps"]) {
    assert.match(stdout, new RegExp(option));
  }
});

test("process writes the results zip and prints a summary; a skipped file does not fail the run", async () => {
  const out = join(dir, "results.zip");
  const { code, stdout, stderr } = trapline("process", join(dir, "photos"), "--out", out, "--model", model, "--provider", "cpu");
  assert.equal(code, 0, stderr);
  assert.match(stderr, /on CPU/);
  assert.match(stdout, /3 images: 1 with animals, 0 with people, 0 with vehicles, 1 empty, 1 failed/);
  assert.ok(!existsSync(`${out}.partial`));
  const entries = await readZip(out);
  assert.ok(entries.has("animal.jpg") && entries.has("results.xlsx") && entries.has("detections.json"), [...entries.keys()].join(", "));
});

test("runs that cannot complete exit non-zero with a message that says what to do", () => {
  const missingModel = trapline("process", join(dir, "photos"), "--out", join(dir, "x.zip"));
  assert.equal(missingModel.code, 1);
  assert.match(missingModel.stderr, /npm run models:fetch -- md_v5a\.0\.0/);
  const typo = trapline("process", join(dir, "photoz"), "--out", join(dir, "x.zip"), "--model", model);
  assert.equal(typo.code, 1);
  assert.match(typo.stderr, /not found: .*photoz/);
  const badThreshold = trapline("process", join(dir, "photos"), "--out", join(dir, "x.zip"), "--threshold", "20");
  assert.notEqual(badThreshold.code, 0);
  assert.match(badThreshold.stderr, /between 0 and 1/);
  const badOffset = trapline("process", join(dir, "photos"), "--out", join(dir, "x.zip"), "--utc-offset", "2");
  assert.notEqual(badOffset.code, 0);
  assert.match(badOffset.stderr, /\+HH:MM/);
  assert.ok(!existsSync(join(dir, "x.zip")));
});

test("--sorted adds sorted/<category>/ copies", async () => {
  const out = join(dir, "sorted.zip");
  const { code, stderr } = trapline("process", join(dir, "photos"), "--out", out, "--model", model, "--provider", "cpu", "--sorted", "--images", "all", "--event-gap", "30", "--utc-offset", "+02:00", "--no-progress");
  assert.equal(code, 0, stderr);
  const entries = await readZip(out);
  assert.ok(entries.has("sorted/animal/animal.jpg") && entries.has("sorted/empty/empty.jpg"), [...entries.keys()].join(", "));
  assert.match(entries.get("README.txt")!.toString("utf8"), /UTC offset \+02:00 given when\s+processing/);
});

test("--blur-people and --drop-gps reach the run: the person in the boxed copy blurred, no GPS in it, README.txt says so", async () => {
  const personModel = join(dir, "person.onnx");
  await writeTinyDetector(personModel, { layout: "yolov8", inputSize: 64, dynamicSpatial: true, stride: 32, classIndex: 1 });
  // A "person" of two reds in 10 px squares the tiny detector sees as one target, on a photo with GPS.
  const pixels = Buffer.alloc(640 * 480 * 3, 60);
  for (let y = 120; y < 360; y++) for (let x = 240; x < 400; x++) pixels.set(((x / 10) ^ (y / 10)) & 1 ? [250, 10, 200] : [150, 10, 60], (y * 640 + x) * 3);
  const jpeg = await sharp(pixels, { raw: { width: 640, height: 480, channels: 3 } }).jpeg({ quality: 92, chromaSubsampling: "4:4:4" }).toBuffer();
  const gps = exifApp1Segment({ ifd0: { 0x010f: ascii("RECONYX") }, gps: { 0x0001: ascii("S"), 0x0002: rational([2, 1], [20, 1], [0, 1]), 0x0003: ascii("E"), 0x0004: rational([34, 1], [50, 1], [0, 1]) } });
  const folder = await writeFolder(join(dir, "rangers"), { "ranger.jpg": Buffer.concat([jpeg.subarray(0, 2), gps, jpeg.subarray(2)]) });
  const spread = async (image: Buffer) => {
    const { data } = await sharp(image).extract({ left: 270, top: 160, width: 100, height: 160 }).greyscale().raw().toBuffer({ resolveWithObject: true });
    const mean = data.reduce((sum, v) => sum + v, 0) / data.length;
    return Math.sqrt(data.reduce((sum, v) => sum + (v - mean) ** 2, 0) / data.length);
  };
  const run = async (name: string, ...flags: string[]) => {
    const out = join(dir, name);
    const result = trapline("process", folder, "--out", out, "--model", personModel, "--provider", "cpu", "--no-progress", ...flags);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /1 with people/);
    return readZip(out);
  };
  const plain = await run("plain.zip");
  assert.ok((await exifr.gps(plain.get("ranger.jpg")!))?.latitude, "without --drop-gps the boxed copy keeps its GPS");
  assert.ok((await spread(plain.get("ranger.jpg")!)) > 15, "without --blur-people the squares show");
  assert.doesNotMatch(plain.get("README.txt")!.toString("utf8"), /PRIVACY/);
  const hidden = await run("hidden.zip", "--blur-people", "--drop-gps");
  const copy = hidden.get("ranger.jpg")!;
  assert.equal(await exifr.gps(copy), undefined, "no GPS in the boxed copy");
  assert.equal(((await exifr.parse(copy)) as { Make?: string } | undefined)?.Make, "RECONYX", "the rest of the EXIF kept");
  assert.ok((await spread(copy)) < 3, `the person is blurred (${(await spread(copy)).toFixed(1)})`);
  const preview = [...hidden.entries()].find(([name]) => name.startsWith("previews/"))?.[1];
  assert.ok(preview, "a preview of the photo with a person");
  const readme = hidden.get("README.txt")!.toString("utf8").replace(/\s+/g, " ");
  assert.match(readme, /PRIVACY/);
  assert.match(readme, /Every box of a person at or above the render threshold \(0\.2\) is blurred/);
  assert.match(readme, /The photos in this zip carry no GPS position/);
});

/** One CSV line's fields (csv-stringify quotes a field with "" when it holds a comma or a quote). */
function csvFields(line: string): string[] {
  return [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(?:,|$)/g)].slice(0, -1).map(([, field]) => (field!.startsWith('"') ? field!.slice(1, -1).replaceAll('""', '"') : field!));
}

/** The photos' paths as each output of a results zip names them, each list sorted. */
async function pathsInEveryOutput(zipPath: string) {
  const entries = await readZip(zipPath);
  const photos = [...entries.keys()].filter((name) => !ZIP_OWN_NAMES.includes(name.split("/")[0]!));
  const json = JSON.parse(entries.get("detections.json")!.toString("utf8")) as { images: { file: string }[] };
  const workbook = new ExcelJS.Workbook();
  const xlsxPath = `${zipPath}.xlsx`;
  await writeFile(xlsxPath, entries.get("results.xlsx")!);
  await workbook.xlsx.readFile(xlsxPath);
  const images = workbook.getWorksheet("Images")!;
  const pathColumn = (images.getRow(1).values as unknown[]).indexOf("path");
  const workbookPaths: string[] = [];
  images.eachRow((row, n) => n > 1 && workbookPaths.push(String((row.values as unknown[])[pathColumn])));
  const [header, ...rows] = entries.get("camtrap-dp/media.csv")!.toString("utf8").trim().split("\n");
  const filePath = csvFields(header!).indexOf("filePath");
  return {
    zip: photos.sort(),
    detectionsJson: json.images.map((image) => image.file).sort(),
    workbook: workbookPaths.sort(),
    camtrapMedia: rows.map((row) => csvFields(row)[filePath]!).sort(),
    readme: entries.get("README.txt")!.toString("utf8").replace(/\s+/g, " "),
  };
}

function assertEveryOutputNames(paths: Awaited<ReturnType<typeof pathsInEveryOutput>>, expected: string[]): void {
  const sorted = [...expected].sort();
  for (const output of ["zip", "detectionsJson", "workbook", "camtrapMedia"] as const) assert.deepEqual(paths[output], sorted, output);
}

/** A card's layout as a camera writes it, with capture times (Camtrap DP lists only dated photos). */
async function cardPhotos(): Promise<Record<string, Buffer>> {
  const dated = (time: string) => jpegWithExif({ exif: { 0x9003: ascii(time) } }, 320, 240);
  return { "DCIM/100RECNX/IMG_0001.JPG": await dated("2024:05:01 06:00:00"), "DCIM/100RECNX/IMG_0002.JPG": await dated("2024:05:01 06:00:01") };
}

async function writeFolder(folder: string, files: Record<string, Buffer>): Promise<string> {
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(join(folder, path, ".."), { recursive: true });
    await writeFile(join(folder, path), bytes);
  }
  return folder;
}

function processInto(out: string, ...inputs: string[]) {
  // Every photo back (--images all), so the paths rules can be read off the zip's entries.
  const result = trapline("process", ...inputs, "--out", out, "--model", model, "--provider", "cpu", "--no-progress", "--images", "all");
  assert.equal(result.code, 0, result.stderr);
}

test("one folder given: every output's paths are relative to it, as --output_relative_filenames writes them", async () => {
  const card = await writeFolder(join(dir, "one-folder", "SDcard01"), await cardPhotos());
  const out = join(dir, "one-folder.zip");
  processInto(out, card);
  const paths = await pathsInEveryOutput(out);
  assertEveryOutputNames(paths, ["DCIM/100RECNX/IMG_0001.JPG", "DCIM/100RECNX/IMG_0002.JPG"]);
  assert.match(paths.readme, /Paths are relative to the folder you chose, "SDcard01"/);
});

test("one zip given: every output's paths are those inside it", async () => {
  const files = await cardPhotos();
  const zipPath = join(dir, "card.zip");
  await writeFile(zipPath, zipBytes(Object.entries(files).map(([path, bytes]) => storedEntry(path, bytes))));
  const out = join(dir, "one-zip.zip");
  processInto(out, zipPath);
  const paths = await pathsInEveryOutput(out);
  assertEveryOutputNames(paths, ["DCIM/100RECNX/IMG_0001.JPG", "DCIM/100RECNX/IMG_0002.JPG"]);
  assert.match(paths.readme, /Paths are those inside the zip you chose, "card\.zip"/);
});

test("two folders of the same name and layout: each keeps its name first, the second with (2)", async () => {
  const first = await writeFolder(join(dir, "two", "a", "SDcard01"), await cardPhotos());
  const second = await writeFolder(join(dir, "two", "b", "SDcard01"), await cardPhotos());
  const out = join(dir, "two-folders.zip");
  processInto(out, first, second);
  const paths = await pathsInEveryOutput(out);
  assertEveryOutputNames(paths, [
    "SDcard01/DCIM/100RECNX/IMG_0001.JPG",
    "SDcard01/DCIM/100RECNX/IMG_0002.JPG",
    "SDcard01 (2)/DCIM/100RECNX/IMG_0001.JPG",
    "SDcard01 (2)/DCIM/100RECNX/IMG_0002.JPG",
  ]);
  assert.match(paths.readme, /You chose 2 folders, photos or zips/);
});

test("photos named like the zip's own files (README.txt, sorted/) all come back, under paths of their own", async () => {
  const [one, two] = Object.values(await cardPhotos());
  const folder = await writeFolder(join(dir, "clashes"), { "README.txt": one!, "README (2).txt": two!, "sorted/x.jpg": one!, "sorted (2)/x.jpg": two! });
  const out = join(dir, "clashes.zip");
  const result = trapline("process", folder, "--out", out, "--model", model, "--provider", "cpu", "--no-progress", "--sorted", "--images", "all");
  assert.equal(result.code, 0, result.stderr);
  const entries = await readZip(out);
  const expected = ["README (2).txt", "README (3).txt", "sorted (2)/x.jpg", "sorted (2)/x (2).jpg"];
  assertEveryOutputNames(await pathsInEveryOutput(out), expected);
  assert.ok(entries.get("README (2).txt")!.equals(two!) && entries.get("README (3).txt")!.equals(one!), "each photo under its own path, byte-identical");
  assert.match(entries.get("README.txt")!.toString("utf8"), /^TRAPLINE RESULTS/);
  assert.equal([...entries.keys()].filter((name) => name.startsWith("sorted/")).length, 4, "the sorted view holds each photo once");

  // The same four given one by one: each keeps its own name first, moved aside the same way.
  const several = join(dir, "clashes-several.zip");
  processInto(several, ...["README.txt", "README (2).txt", "sorted", "sorted (2)"].map((name) => join(folder, name)));
  assertEveryOutputNames(await pathsInEveryOutput(several), ["README (2).txt", "README (2) (2).txt", "sorted (2)/x.jpg", "sorted (2) (2)/x.jpg"]);
});

/** The Images sheet of a results zip: path -> problem text. */
async function imageRows(entries: Map<string, Buffer>): Promise<Map<string, string>> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(entries.get("results.xlsx")! as unknown as ArrayBuffer);
  const rows = new Map<string, string>();
  workbook.getWorksheet("Images")!.eachRow((row, index) => {
    if (index > 1) rows.set(row.getCell(1).text, row.getCell(4).text);
  });
  return rows;
}

test("damaged HEIF and TIFF files (issue 9's 32-byte HEIF first) each get a row, and the run ends", async () => {
  const folder = join(dir, "hostile");
  await mkdir(folder);
  const damaged = { ...damagedIsoMediaFiles(), ...damagedTiffFiles() };
  for (const [name, bytes] of Object.entries(damaged)) await writeFile(join(folder, name), bytes);
  await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 50, g: 50, b: 50 } } }).jpeg().toFile(join(folder, "good.jpg"));
  const out = join(dir, "hostile.zip");
  const { code, stdout, stderr } = trapline("process", folder, "--out", out, "--model", model, "--provider", "cpu", "--no-progress");
  assert.equal(code, 0, stderr);
  const count = Object.keys(damaged).length;
  assert.match(stdout, new RegExp(`${count + 1} images: .* ${count} failed`));
  const rows = await imageRows(await readZip(out));
  for (const name of Object.keys(damaged)) assert.match(rows.get(name) ?? "", /\S/, `${name} has a row with its reason`);
  assert.equal(rows.get("good.jpg"), "", "the good photo is processed");
});

test("--classifier names each animal box's species; --country sets the geofence; without one README says why none", async () => {
  const classifierPath = join(dir, "species.onnx");
  await writeTinyClassifier(classifierPath, { layout: "nhwc", inputSize: 32 });
  await writeFile(join(dir, "species.labels.txt"), labelsFile([LABELS.leopard, LABELS.zebra, LABELS.wildebeest]));
  const out = join(dir, "species.zip");
  const { code, stderr } = trapline(
    "process", join(dir, "photos"), "--out", out, "--model", model, "--provider", "cpu", "--no-progress",
    "--classifier", classifierPath, "--country", "ken", "--classification-threshold", "0.2",
  );
  assert.equal(code, 0, stderr);
  assert.match(stderr, /Species classifier species\.onnx on CPU: 3 labels, input 32 px NHWC, boxes at or above 0\.2; country KEN/);
  const json = JSON.parse((await readZip(out)).get("detections.json")!.toString("utf8")) as {
    images: { file: string; detections: { classifications?: [string, number][] }[] | null }[];
    classification_categories: Record<string, string>;
    info: { classifier_metadata: { country: string; classification_threshold: number } };
  };
  const animal = json.images.find((image) => image.file === "animal.jpg")!;
  assert.equal(json.classification_categories[animal.detections![0]!.classifications![0]![0]], "leopard");
  assert.equal(json.info.classifier_metadata.country, "KEN");
  assert.equal(json.info.classifier_metadata.classification_threshold, 0.2);

  const off = join(dir, "no-species.zip");
  const none = trapline("process", join(dir, "photos"), "--out", off, "--model", model, "--provider", "cpu", "--no-progress", "--no-classifier");
  assert.equal(none.code, 0, none.stderr);
  assert.match((await readZip(off)).get("README.txt")!.toString("utf8").replace(/\s+/g, " "), /Species were not classified: species classification was turned off/);
  // No classifier named and none in the weights folder: the run goes on and says how to get SpeciesNet.
  const absent = trapline("process", join(dir, "photos"), "--out", off, "--model", model, "--provider", "cpu", "--no-progress");
  assert.equal(absent.code, 0, absent.stderr);
  assert.match(absent.stderr, /Species will not be classified: the speciesnet-v4\.0\.0a weights are not on this machine/);
});

test("a classifier whose labels do not fit, an unreadable labels file, an unknown country or classifier: an error before the first photo", async () => {
  const classifierPath = join(dir, "bad.onnx");
  await writeTinyClassifier(classifierPath, { layout: "nchw", inputSize: 32, classCount: 4 });
  const run = (...args: string[]) => trapline("process", join(dir, "photos"), "--out", join(dir, "bad.zip"), "--model", model, "--provider", "cpu", "--no-progress", ...args);
  const expectError = (result: ReturnType<typeof trapline>, message: RegExp) => {
    assert.equal(result.code, 1);
    assert.match(result.stderr, message);
    assert.doesNotMatch(result.stderr, /images to process/, "stopped before any photo");
  };
  await writeFile(join(dir, "bad.labels.txt"), labelsFile([LABELS.leopard, LABELS.zebra, LABELS.wildebeest]));
  expectError(run("--classifier", classifierPath), /has 4 output classes but .*bad\.labels\.txt has 3 labels/);
  await rm(join(dir, "bad.labels.txt"));
  await mkdir(join(dir, "bad.labels.txt"));
  expectError(run("--classifier", classifierPath), /cannot read the labels file .*bad\.labels\.txt/);
  await rm(join(dir, "bad.labels.txt"), { recursive: true });
  await writeFile(join(dir, "bad.labels.txt"), labelsFile([LABELS.leopard, LABELS.zebra, LABELS.wildebeest, LABELS.lion]));
  expectError(run("--classifier", classifierPath, "--country", "XYZ"), /unknown country code "XYZ"/);
  expectError(run("--no-classifier", "--country", "XYZ"), /unknown country code "XYZ"/);
  expectError(run("--classifier", "speciesnet-v9"), /unknown classifier "speciesnet-v9"\. Known classifiers: speciesnet-v4\.0\.0a/);
  expectError(run("--classifier", "speciesnet-v4.0.0a"), /the weights for speciesnet-v4\.0\.0a are not on this machine.*tf2onnx/);
  assert.ok(!existsSync(join(dir, "bad.zip")));
});

test("--provider: tensorrt is offered; named where its library is missing, the run stops before the first photo saying what is missing", { skip: existsSync(providerLibraryPath("tensorrt")) ? "the TensorRT provider is installed here" : false }, () => {
  assert.match(trapline("process", "--help").stdout, /choices: "auto", "cpu",\s+"cuda", "tensorrt"/);
  const result = trapline("process", join(dir, "photos"), "--out", join(dir, "trt.zip"), "--model", model, "--provider", "tensorrt", "--no-progress", "--no-classifier");
  assert.equal(result.code, 1);
  assert.match(result.stderr, /--provider tensorrt: ONNX Runtime's TensorRT provider is not installed \(.*libonnxruntime_providers_tensorrt\.so/);
  assert.doesNotMatch(result.stderr, /images to process/);
  assert.match(trapline("process", join(dir, "photos"), "--out", join(dir, "x.zip"), "--provider", "gpu").stderr, /Allowed choices are auto, cpu, cuda, tensorrt/);
});
