import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import ExcelJS from "exceljs";
import { damagedIsoMediaFiles, damagedTiffFiles } from "../../test/helpers/isoMedia.ts";
import { readZip } from "../../test/helpers/readZip.ts";
import { writeTinyDetector } from "../../test/helpers/tinyModels.ts";

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
  for (const option of ["--out", "--model", "--threshold", "--batch", "--provider", "--sorted", "--event-gap", "--utc-offset", "--location"]) {
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
  assert.ok(entries.has("photos/animal.jpg") && entries.has("results.xlsx") && entries.has("detections.json"));
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
  const { code, stderr } = trapline("process", join(dir, "photos"), "--out", out, "--model", model, "--provider", "cpu", "--sorted", "--event-gap", "30", "--utc-offset", "+02:00", "--no-progress");
  assert.equal(code, 0, stderr);
  const entries = await readZip(out);
  assert.ok(entries.has("sorted/animal/photos/animal.jpg") && entries.has("sorted/empty/photos/empty.jpg"), [...entries.keys()].join(", "));
  assert.match(entries.get("README.txt")!.toString("utf8"), /UTC offset \+02:00 given when\s+processing/);
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
  for (const name of Object.keys(damaged)) assert.match(rows.get(`hostile/${name}`) ?? "", /\S/, `${name} has a row with its reason`);
  assert.equal(rows.get("hostile/good.jpg"), "", "the good photo is processed");
});
