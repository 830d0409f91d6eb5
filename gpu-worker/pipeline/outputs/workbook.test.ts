import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { buffer } from "node:stream/consumers";
import ExcelJS from "exceljs";
import { groupEvents, withEvents } from "../events/events.ts";
import type { ImageResult, RunInfo } from "../types.ts";
import { forgetFormulae, mapUrl, writeWorkbook, zipEntryBacklog } from "./workbook.ts";
import { sampleRun } from "../../../test/helpers/sampleRun.ts";

const run: RunInfo = sampleRun();

function image(path: string, extra: Partial<ImageResult> = {}): ImageResult {
  return { path, status: "ok", warnings: [], detections: [], metadata: {}, fileSize: 1000, format: "jpeg", ...extra };
}

/** A camera's wall clock: a Date whose UTC fields are what the camera wrote. */
function cameraTime(text: string) {
  const [y, mo, d, h, mi, s] = text.split(/[: ]/).map(Number) as [number, number, number, number, number, number];
  return { text, wallClock: new Date(Date.UTC(y, mo - 1, d, h, mi, s)) };
}

const images: ImageResult[] = [
  image("serengeti/S1/B04/IMG_0001.JPG", {
    detections: [
      { category: "1", conf: 0.93, bbox: [0.1, 0.2, 0.3, 0.4] },
      { category: "1", conf: 0.2, bbox: [0.5, 0.5, 0.1, 0.1] }, // exactly at the render threshold: counted
      { category: "2", conf: 0.19, bbox: [0, 0, 0.05, 0.05] }, // just below: not counted
    ],
    metadata: {
      width: 2048,
      height: 1536,
      dateTimeOriginal: cameraTime("2013:06:14 06:30:12"),
      dateTime: cameraTime("2013:06:14 06:30:13"),
      make: "Cuddeback",
      model: "Capture",
      serialNumber: "C123",
      latitude: -2.333333,
      longitude: 34.833333,
      altitude: 1520.5,
    },
    fileSize: 812_345,
  }),
  image("serengeti/S1/B04/IMG_0002.JPG", {
    metadata: { width: 2048, height: 1536, latitude: 51.5, longitude: -0.1 },
    warnings: ["The JPEG ends early; decoded what was there."],
  }),
  image("serengeti/S1/B04/broken.jpg", { status: "failed", error: "Not an image: the file ends after 12 bytes." }),
  image("top.jpg", { detections: [{ category: "3", conf: 0.8, bbox: [0.25, 0.25, 0.5, 0.5] }], metadata: { width: 100, height: 80 } }),
];

async function withTempDir<T>(use: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "workbook-test-"));
  try {
    return await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeAndRead(list: ImageResult[], options = {}) {
  return withTempDir(async (dir) => {
    const file = join(dir, "results.xlsx");
    const totals = await writeWorkbook(list, run, file, options);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(file);
    return { workbook, totals };
  });
}

/** Rows of a sheet as objects keyed by the header row. */
function rowsOf(sheet: ExcelJS.Worksheet): Array<Record<string, ExcelJS.Cell>> {
  const headers = (sheet.getRow(1).values as unknown[]).slice(1).map(String);
  const rows: Array<Record<string, ExcelJS.Cell>> = [];
  sheet.eachRow((row, number) => {
    if (number === 1) return;
    rows.push(Object.fromEntries(headers.map((header, i) => [header, row.getCell(i + 1)])));
  });
  return rows;
}

function sheet(workbook: ExcelJS.Workbook, name: string): ExcelJS.Worksheet {
  const found = workbook.getWorksheet(name);
  assert.ok(found, `sheet ${name} is missing`);
  return found;
}

test("Images sheet: one typed row per image, dates as the camera wrote them", async () => {
  const { workbook } = await writeAndRead(images);
  assert.deepEqual(
    workbook.worksheets.map((s) => s.name),
    ["Images", "Detections", "Summary"],
  );
  const rows = rowsOf(sheet(workbook, "Images"));
  assert.equal(rows.length, 4);
  const [first, second, failed, top] = rows as [
    Record<string, ExcelJS.Cell>,
    Record<string, ExcelJS.Cell>,
    Record<string, ExcelJS.Cell>,
    Record<string, ExcelJS.Cell>,
  ];

  assert.equal(first["path"]?.value, "serengeti/S1/B04/IMG_0001.JPG");
  assert.equal(first["folder"]?.value, "serengeti/S1/B04");
  assert.equal(first["status"]?.value, "ok");
  assert.equal(first["animal count"]?.value, 2);
  assert.equal(first["person count"]?.value, 0);
  assert.equal(first["vehicle count"]?.value, 0);
  assert.equal(first["total count"]?.value, 2);
  assert.equal(first["max confidence"]?.value, 0.93);

  const taken = first["DateTimeOriginal"]?.value;
  assert.ok(taken instanceof Date, "DateTimeOriginal is a real date cell");
  assert.equal(taken.toISOString(), "2013-06-14T06:30:12.000Z");
  assert.equal(first["DateTimeOriginal"]?.numFmt, "yyyy-mm-dd hh:mm:ss");
  assert.equal((first["DateTime"]?.value as Date).toISOString(), "2013-06-14T06:30:13.000Z");
  assert.equal(first["DateTimeDigitized"]?.value, null);

  assert.equal(first["make"]?.value, "Cuddeback");
  assert.equal(first["serial"]?.value, "C123");
  assert.equal(first["latitude"]?.value, -2.333333);
  assert.equal(first["longitude"]?.value, 34.833333);
  assert.equal(first["altitude (m)"]?.value, 1520.5);
  assert.equal(first["width (px)"]?.value, 2048);
  assert.equal(first["file size (bytes)"]?.value, 812_345);
  assert.equal(typeof first["file size (bytes)"]?.value, "number");
  assert.equal(first["format"]?.value, "jpeg");

  const link = first["map"]?.value as ExcelJS.CellFormulaValue;
  assert.equal(link.formula, `HYPERLINK("${mapUrl(-2.333333, 34.833333)}","map")`);
  assert.equal(link.result, "map");
  assert.match(mapUrl(-2.333333, 34.833333), /^https:\/\/www\.openstreetmap\.org\/\?mlat=-2\.333333&mlon=34\.833333#/);
  assert.equal(first["map"]?.font?.underline, true);

  assert.equal(second["latitude"]?.value, 51.5);
  assert.equal(second["longitude"]?.value, -0.1);
  assert.equal(second["problem"]?.value, "The JPEG ends early; decoded what was there.");
  assert.equal(second["total count"]?.value, 0);
  assert.equal(second["max confidence"]?.value, 0);

  assert.equal(failed["status"]?.value, "failed");
  assert.equal(failed["problem"]?.value, "Not an image: the file ends after 12 bytes.");
  assert.equal(failed["animal count"]?.value, null);
  assert.equal(failed["map"]?.value, null);

  assert.equal(top["folder"]?.value, "(top level)");
  assert.equal(top["vehicle count"]?.value, 1);
});

test("Images and Detections have a frozen header row and a filter", async () => {
  const { workbook } = await writeAndRead(images);
  for (const name of ["Images", "Detections"]) {
    const s = sheet(workbook, name);
    const view = s.views[0];
    assert.equal(view?.state, "frozen");
    assert.equal((view as { ySplit?: number } | undefined)?.ySplit, 1);
    const columns = s.getRow(1).cellCount;
    const lastColumn = s.getColumn(columns).letter;
    assert.equal(s.autoFilter, `A1:${lastColumn}1`);
    assert.equal(s.getRow(1).font?.bold, true);
    assert.ok((s.getColumn(1).width ?? 0) >= 30, `${name} path column is wide enough`);
  }
});

test("Detections sheet: one row per box above the output threshold, with pixel boxes", async () => {
  const { workbook } = await writeAndRead(images);
  const rows = rowsOf(sheet(workbook, "Detections"));
  assert.equal(rows.length, 4);
  const [best, atThreshold, below, vehicle] = rows as [
    Record<string, ExcelJS.Cell>,
    Record<string, ExcelJS.Cell>,
    Record<string, ExcelJS.Cell>,
    Record<string, ExcelJS.Cell>,
  ];
  assert.equal(best["path"]?.value, "serengeti/S1/B04/IMG_0001.JPG");
  assert.equal(best["category"]?.value, "animal");
  assert.equal(best["confidence"]?.value, 0.93);
  assert.deepEqual(
    ["x_min", "y_min", "width", "height"].map((k) => best[k]?.value),
    [0.1, 0.2, 0.3, 0.4],
  );
  // 2048 x 1536: x 0.1..0.4, y 0.2..0.6
  assert.deepEqual(
    ["left (px)", "top (px)", "right (px)", "bottom (px)"].map((k) => best[k]?.value),
    [205, 307, 819, 922],
  );
  assert.equal(best["drawn"]?.value, true);
  assert.equal(atThreshold["drawn"]?.value, true);
  assert.equal(below["category"]?.value, "person");
  assert.equal(below["drawn"]?.value, false);
  assert.deepEqual(
    ["left (px)", "top (px)", "right (px)", "bottom (px)"].map((k) => vehicle[k]?.value),
    [25, 20, 75, 60],
  );
});

test("Summary sheet: totals, run details and one row per folder", async () => {
  const { workbook, totals } = await writeAndRead(images);
  const summary = sheet(workbook, "Summary");
  const values = new Map<string, ExcelJS.CellValue>();
  summary.eachRow((row) => {
    const label = row.getCell(1).value;
    if (typeof label === "string") values.set(label, row.getCell(2).value);
  });
  assert.equal(values.get("images"), 4);
  assert.equal(values.get("processed"), 3);
  assert.equal(values.get("failed"), 1);
  assert.equal(values.get("images with animal"), 1);
  assert.equal(values.get("images with person"), 0);
  assert.equal(values.get("images with vehicle"), 1);
  assert.equal(values.get("empty images (nothing at render threshold)"), 1);
  assert.equal(values.get("animal detections (at render threshold)"), 2);
  assert.equal(values.get("all detections (output threshold)"), 4);
  assert.equal(values.get("model"), "md_v5a.0.0.onnx");
  assert.equal(values.get("execution provider"), "cpu");
  assert.equal(values.get("output threshold"), 0.005);
  assert.equal(values.get("render threshold"), 0.2);
  assert.equal((values.get("started (UTC)") as Date).toISOString(), "2026-03-01T10:00:00.000Z");
  assert.equal(values.get("duration (seconds)"), 90);

  let folderHeader = 0;
  summary.eachRow((row, number) => {
    if (row.getCell(1).value === "folder") folderHeader = number;
  });
  assert.ok(folderHeader > 0, "per-folder table is present");
  const folderRows = [1, 2].map((i) => (summary.getRow(folderHeader + i).values as unknown[]).slice(1));
  assert.deepEqual(folderRows, [
    ["(top level)", 1, 1, 0, 0, 0, 1, 0, 0, 0, 1],
    ["serengeti/S1/B04", 3, 2, 1, 1, 0, 0, 1, 2, 0, 0],
  ]);
  assert.equal(totals.images, 4);
  assert.equal(totals.folders.size, 2);
});

test("long lists continue on a second sheet instead of passing Excel's row limit", async () => {
  const many = Array.from({ length: 7 }, (_, i) =>
    image(`cam/${i}.jpg`, { detections: [{ category: "1", conf: 0.5, bbox: [0, 0, 1, 1] }], metadata: { width: 10, height: 10 } }),
  );
  const { workbook } = await writeAndRead(many, { maxRowsPerSheet: 5 });
  assert.deepEqual(
    workbook.worksheets.map((s) => [s.name, s.rowCount]),
    [
      ["Images", 5],
      ["Images 2", 4],
      ["Detections", 5],
      ["Detections 2", 4],
      ["Summary", sheet(workbook, "Summary").rowCount],
    ],
  );
  assert.equal(sheet(workbook, "Detections 2").getCell("A4").value, "cam/6.jpg");
  assert.equal(sheet(workbook, "Images 2").views[0]?.state, "frozen");
});

test("writes to a stream from an async list and leaves no temporary files", async () => {
  const spoolsBefore = (await readdir(tmpdir())).filter((name) => name.startsWith("trapline-workbook-")).length;
  async function* results(): AsyncGenerator<ImageResult> {
    for (const result of images) yield await Promise.resolve(result);
  }
  const out = new PassThrough();
  const [bytes] = await Promise.all([buffer(out), writeWorkbook(results(), run, out)]);
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(bytes as unknown as ArrayBuffer);
  assert.equal(sheet(workbook, "Images").rowCount, 5);
  assert.equal(sheet(workbook, "Detections").rowCount, 5);
  const spoolsAfter = (await readdir(tmpdir())).filter((name) => name.startsWith("trapline-workbook-")).length;
  assert.equal(spoolsAfter, spoolsBefore);
});

test("Detections from a second read of the images (rereadImages) are cell for cell those from the detections spool, with no spool made", async () => {
  const cells = (workbook: ExcelJS.Workbook) =>
    workbook.worksheets.map((ws) => {
      const values: unknown[] = [];
      ws.eachRow((row) => values.push(JSON.stringify(row.values)));
      return [ws.name, values];
    });
  const spooled = await writeAndRead(images, { maxRowsPerSheet: 3 });
  const spoolsBefore = (await readdir(tmpdir())).filter((name) => name.startsWith("trapline-workbook-")).length;
  let reads = 0;
  const reread = await writeAndRead(images, {
    maxRowsPerSheet: 3,
    scratchDir: "/nonexistent-scratch",
    rereadImages: async function* () {
      reads++;
      for (const result of images) yield await Promise.resolve(result);
    },
  });
  assert.equal(reads, 1);
  assert.deepEqual(cells(reread.workbook), cells(spooled.workbook));
  assert.deepEqual(reread.totals, spooled.totals);
  assert.equal((await readdir(tmpdir())).filter((name) => name.startsWith("trapline-workbook-")).length, spoolsBefore);
});

test("a failing image list rejects and removes its temporary files", async () => {
  await withTempDir(async (dir) => {
    const spoolsBefore = (await readdir(tmpdir())).filter((name) => name.startsWith("trapline-workbook-")).length;
    async function* failing(): AsyncGenerator<ImageResult> {
      yield await Promise.resolve(images[0] as ImageResult);
      throw new Error("worker stopped");
    }
    await assert.rejects(writeWorkbook(failing(), run, join(dir, "results.xlsx")), /worker stopped/);
    const spoolsAfter = (await readdir(tmpdir())).filter((name) => name.startsWith("trapline-workbook-")).length;
    assert.equal(spoolsAfter, spoolsBefore);
  });
});

test("the exceljs internals that keep memory bounded are still there", async () => {
  // writeWorkbook waits on the zip backlog and drops written formulae; an exceljs upgrade
  // that renamed these internals would silently let memory grow with the job, so check them.
  const sink = new PassThrough();
  const done = buffer(sink);
  const writer = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: sink });
  const s = writer.addWorksheet("probe");
  for (let i = 0; i < 20_000; i++) s.addRow([i, "some text to fill the zip entry", { formula: "1+1", result: 2 }]).commit();
  assert.ok(zipEntryBacklog(s) > 100_000, `backlog seen: ${zipEntryBacklog(s)}`);
  const formulae = (s as unknown as { _formulae?: object })._formulae;
  assert.equal(Object.keys(formulae ?? {}).length, 20_000, "exceljs still keeps written formulae here");
  forgetFormulae(s);
  assert.deepEqual((s as unknown as { _formulae?: object })._formulae, {});
  await writer.commit();
  await done;
});

test("camera-trap columns and an Events sheet: each image names its event", async () => {
  const burst = (path: string, time: string, index: number, conf?: number) =>
    image(path, {
      detections: conf === undefined ? [] : [{ category: "1", conf, bbox: [0.1, 0.1, 0.2, 0.2] }],
      metadata: {
        dateTimeOriginal: cameraTime(time),
        serialNumber: "H500EE06130468",
        cameraTrap: {
          format: "Reconyx HyperFire",
          triggerMode: "Motion Detection",
          sequence: { index, count: 2 },
          eventNumber: 31,
          temperatureC: -4,
          moonPhase: "Full",
          batteryVolts: 7.52,
          userLabel: "NORTH",
        },
      },
    });
  const list = [burst("site/RCNX0001.JPG", "2020:03:16 10:00:00", 1, 0.7), burst("site/RCNX0002.JPG", "2020:03:16 10:00:01", 2)];
  const grouping = await groupEvents(list, run);
  const events = [];
  for await (const result of withEvents(list, grouping)) events.push(result);
  const { workbook } = await writeAndRead(events, { events: grouping.events });
  assert.deepEqual(
    workbook.worksheets.map((s) => s.name),
    ["Images", "Detections", "Events", "Summary"],
  );
  const [first, second] = rowsOf(sheet(workbook, "Images"));
  const values = (row: Record<string, ExcelJS.Cell> | undefined, names: string[]) => names.map((name) => row?.[name]?.value);
  const trapColumns = ["event", "trigger", "sequence", "event number", "temperature (°C)", "moon phase", "battery (V)", "camera label"];
  assert.deepEqual(values(first, trapColumns), ["E00001", "Motion Detection", "1 of 2", 31, -4, "Full", 7.52, "NORTH"]);
  assert.equal(second?.["event"]?.value, "E00001");
  const [event, ...more] = rowsOf(sheet(workbook, "Events"));
  assert.equal(more.length, 0);
  assert.deepEqual(values(event, ["event", "camera", "start", "end", "images", "max confidence", "category"]), [
    "E00001",
    "H500EE06130468",
    new Date(Date.UTC(2020, 2, 16, 10, 0, 0)),
    new Date(Date.UTC(2020, 2, 16, 10, 0, 1)),
    2,
    0.7,
    "animal",
  ]);
});

test("formula-like names and EXIF text stay exact text cells, never formulas (the rule in formulaInjection.ts)", async () => {
  const path = '=HYPERLINK("http://evil.example","x")/+cmd.jpg';
  const hostile = image(path, { metadata: { make: "=cmd|' /C calc'!A0", model: "@SUM(1+1)", serialNumber: "-2+3", latitude: 1, longitude: 2 } });
  const { workbook } = await writeAndRead([hostile]);
  const [row] = rowsOf(workbook.getWorksheet("Images")!);
  for (const [column, text] of [["path", path], ["folder", '=HYPERLINK("http://evil.example","x")'], ["make", "=cmd|' /C calc'!A0"], ["model", "@SUM(1+1)"], ["serial", "-2+3"]] as const) {
    assert.equal(row![column]!.type, ExcelJS.ValueType.String, column);
    assert.equal(row![column]!.value, text, column);
  }
  assert.equal(row!.map!.type, ExcelJS.ValueType.Formula, "the map link is the one formula, built from numbers");
});
