// results.xlsx: an Images sheet (one row per image), a Detections sheet (one row per box),
// an Events sheet (one row per burst, when events were grouped) and a Summary sheet, written with exceljs's streaming writer so memory stays bounded.
//
// Bounded memory: the streaming writer adds each sheet to its zip as a separate entry, and a
// zip writes one entry at a time, so rows of any sheet other than the one being written wait
// in memory until it is finished. So Images rows go straight out and the Detections rows are
// written once Images is closed: from a second read of the images where the caller can read
// them again (the run's result spool: `rereadImages`, no copy), else from a temporary spool of
// their detections made during the first read. Summary (a few hundred rows at most) comes
// last from small maps.
//
// Text from the user's files goes into typed string cells, which spreadsheets never run as
// formulas, so it keeps its exact value (the rule for every table: formulaInjection.ts).

import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout } from "node:timers/promises";
import { createInterface } from "node:readline";
import type { Stream } from "node:stream";
import ExcelJS from "exceljs";
import type { CameraEvent } from "../events/events.ts";
import type { Detection, ImageResult, RunInfo } from "../types.ts";
import { categoryIds, folderOf, isDrawn } from "../categories.ts";
import { describeLabel } from "../classifier/taxonomy.ts";
import {
  createTotals,
  drawnCountsByCategory,
  tallyImage,
  type ResultCounts,
  type ResultTotals,
} from "./resultTotals.ts";

/** Excel's row limit per sheet (header included); longer lists continue on "Detections 2"... */
export const EXCEL_MAX_ROWS = 1_048_576;

const DATE_FORMAT = "yyyy-mm-dd hh:mm:ss";

/** Rows written between pauses that let the zip compressor and the output catch up. */
const ROWS_PER_BREATH = 256;

/** Uncompressed sheet XML allowed to wait in front of the zip compressor. */
const ZIP_BACKLOG_LIMIT = 4 * 1024 * 1024;
const ZIP_BACKLOG_POLL_MS = 5;

export interface WorkbookOptions {
  /** Rows per sheet, header included, before a sheet continues on the next (tests lower it). */
  maxRowsPerSheet?: number;
  /** Events (bursts) to list on an Events sheet; images name theirs in `ImageResult.event`. */
  events?: readonly CameraEvent[];
  /** Parent of the detections spool's folder (default: the system's temp folder). */
  scratchDir?: string;
  /**
   * The same images again, in the same order, for the Detections sheet: a source that can be
   * read twice (the run's result spool) saves spooling the detections to a file of their own.
   */
  rereadImages?: () => AsyncIterable<ImageResult>;
}

type Worksheet = ExcelJS.Worksheet;
type CellValue = ExcelJS.CellValue;

interface ColumnSpec {
  header: string;
  width: number;
  numFmt?: string;
  font?: Partial<ExcelJS.Font>;
}

/** How spreadsheets show a link, which a HYPERLINK formula does not get by itself. */
const LINK_FONT: Partial<ExcelJS.Font> = { color: { argb: "FF0563C1" }, underline: true };

/**
 * Writes results.xlsx to a file path or a stream (which it ends). `images` is read once, in
 * order. Returns the job totals, which README.txt also reports.
 */
export async function writeWorkbook(
  images: AsyncIterable<ImageResult> | Iterable<ImageResult>,
  run: RunInfo,
  out: string | NodeJS.WritableStream,
  options: WorkbookOptions = {},
): Promise<ResultTotals> {
  const maxRows = options.maxRowsPerSheet ?? EXCEL_MAX_ROWS;
  const ownStream = typeof out === "string" ? createWriteStream(out) : undefined;
  let spool: DetectionSpool | undefined;
  try {
    if (!options.rereadImages) spool = await DetectionSpool.create(options.scratchDir);
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({
      // exceljs types the option as a bare Stream; it pipes into it and waits for "finish".
      stream: (ownStream ?? out) as unknown as Stream,
      useStyles: true,
      useSharedStrings: false,
    });
    const totals = createTotals(run);
    const species = new SpeciesTally();
    const imageSheets = new SheetSeries(workbook, "Images", imageColumns(run), maxRows);
    for await (const image of images) {
      tallyImage(totals, image, run);
      const imageSpecies = run.classifier ? species.addImage(image, run) : undefined;
      imageSheets.addRow([...imageRow(image, run), ...(imageSpecies !== undefined ? [imageSpecies] : [])]);
      await spool?.add(image);
      await imageSheets.pace();
    }
    imageSheets.close();

    const detectionSheets = new SheetSeries(workbook, "Detections", detectionColumns(run), maxRows);
    for await (const spooled of spool ? spool.read() : detectionsOf(options.rereadImages!())) {
      for (const detection of spooled.detections) detectionSheets.addRow(detectionRow(spooled, detection, run));
      await detectionSheets.pace();
    }
    detectionSheets.close();

    if (options.events) {
      const eventSheets = new SheetSeries(workbook, "Events", eventColumns(run), maxRows);
      for (const event of options.events) {
        species.addEvent(event);
        eventSheets.addRow(eventRow(event, run));
        await eventSheets.pace();
      }
      eventSheets.close();
    }

    writeSummarySheet(workbook.addWorksheet("Summary"), run, totals, run.classifier ? species : undefined);
    await workbook.commit();
    return totals;
  } catch (error) {
    ownStream?.destroy();
    throw error;
  } finally {
    await spool?.remove();
  }
}

function imageColumns(run: RunInfo): ColumnSpec[] {
  return [
    { header: "path", width: 40 },
    { header: "folder", width: 24 },
    { header: "status", width: 8 },
    { header: "problem", width: 40 },
    ...categoryIds(run).map((id) => ({ header: `${categoryName(run, id)} count`, width: 13 })),
    { header: "total count", width: 11 },
    { header: "max confidence", width: 15, numFmt: "0.000" },
    { header: "event", width: 9 },
    { header: "DateTimeOriginal", width: 20, numFmt: DATE_FORMAT },
    { header: "DateTimeDigitized", width: 20, numFmt: DATE_FORMAT },
    { header: "DateTime", width: 20, numFmt: DATE_FORMAT },
    { header: "make", width: 14 },
    { header: "model", width: 18 },
    { header: "serial", width: 16 },
    { header: "trigger", width: 16 },
    { header: "sequence", width: 9 },
    { header: "event number", width: 13 },
    { header: "temperature (°C)", width: 16 },
    { header: "moon phase", width: 15 },
    { header: "battery (V)", width: 11, numFmt: "0.00" },
    { header: "camera label", width: 18 },
    { header: "latitude", width: 12, numFmt: "0.000000" },
    { header: "longitude", width: 12, numFmt: "0.000000" },
    { header: "map", width: 6, font: LINK_FONT },
    { header: "altitude (m)", width: 12, numFmt: "0.0" },
    { header: "width (px)", width: 10 },
    { header: "height (px)", width: 11 },
    { header: "file size (bytes)", width: 16, numFmt: "#,##0" },
    { header: "format", width: 8 },
    ...(run.classifier ? [{ header: "species (boxes)", width: 40 }] : []),
  ];
}

function imageRow(image: ImageResult, run: RunInfo): CellValue[] {
  const { metadata } = image;
  const trap = metadata.cameraTrap;
  const ok = image.status === "ok";
  const drawn = drawnCountsByCategory(image, run);
  const perCategory = categoryIds(run).map((id) => (ok ? (drawn[id] ?? 0) : null));
  const totalDrawn = Object.values(drawn).reduce((sum, n) => sum + n, 0);
  const maxConf = image.detections.reduce((max, d) => Math.max(max, d.conf), 0);
  return [
    image.path,
    folderOf(image.path),
    image.status,
    problemText(image) ?? null,
    ...perCategory,
    ok ? totalDrawn : null,
    ok ? maxConf : null,
    image.event ?? null,
    metadata.dateTimeOriginal?.wallClock ?? null,
    metadata.dateTimeDigitized?.wallClock ?? null,
    metadata.dateTime?.wallClock ?? null,
    metadata.make ?? null,
    metadata.model ?? null,
    metadata.serialNumber ?? null,
    trap?.triggerMode ?? null,
    trap?.sequence ? `${trap.sequence.index} of ${trap.sequence.count}` : null,
    trap?.eventNumber ?? null,
    trap?.temperatureC ?? null,
    trap?.moonPhase ?? null,
    trap?.batteryVolts ?? null,
    trap?.userLabel ?? null,
    metadata.latitude ?? null,
    metadata.longitude ?? null,
    mapLink(metadata.latitude, metadata.longitude),
    metadata.altitude ?? null,
    metadata.width ?? null,
    metadata.height ?? null,
    image.fileSize,
    image.format ?? null,
  ];
}

/** The error, then warnings, then a metadata problem, in one readable cell. */
function problemText(image: ImageResult): string | undefined {
  const parts = [image.error, ...image.warnings, image.metadata.error && `metadata: ${image.metadata.error}`];
  const text = parts.filter((part): part is string => Boolean(part)).join("; ");
  return text || undefined;
}

/** An OpenStreetMap link with a marker at the photo's position. */
export function mapUrl(latitude: number, longitude: number): string {
  return `https://www.openstreetmap.org/?mlat=${latitude}&mlon=${longitude}#map=15/${latitude}/${longitude}`;
}

/**
 * A HYPERLINK formula rather than a hyperlink cell: exceljs keeps every hyperlink cell of a
 * sheet in memory until the sheet ends (about 0.45 kB each, 45 MB per 100,000 photos with
 * GPS), while a formula streams out with its row once forgetFormulae has run. Excel,
 * LibreOffice and Google Sheets all follow it; the cached result shows "map" meanwhile.
 */
function mapLink(latitude: number | undefined, longitude: number | undefined): CellValue {
  if (latitude === undefined || longitude === undefined) return null;
  return { formula: `HYPERLINK("${mapUrl(latitude, longitude)}","map")`, result: "map" };
}

function detectionColumns(run: RunInfo): ColumnSpec[] {
  return [
    { header: "path", width: 40 },
    { header: "category", width: 10 },
    { header: "confidence", width: 11, numFmt: "0.000" },
    { header: "x_min", width: 8, numFmt: "0.0000" },
    { header: "y_min", width: 8, numFmt: "0.0000" },
    { header: "width", width: 8, numFmt: "0.0000" },
    { header: "height", width: 8, numFmt: "0.0000" },
    { header: "left (px)", width: 9 },
    { header: "top (px)", width: 9 },
    { header: "right (px)", width: 10 },
    { header: "bottom (px)", width: 11 },
    { header: "drawn", width: 7 },
    ...(run.classifier
      ? [
          { header: "species", width: 24 },
          { header: "scientific name", width: 24 },
          { header: "species confidence", width: 17, numFmt: "0.000" },
          { header: "species source", width: 30 },
          { header: "not classified because", width: 40 },
        ]
      : []),
  ];
}

function detectionRow(image: SpooledImage, detection: Detection, run: RunInfo): CellValue[] {
  const [x, y, w, h] = detection.bbox;
  const pixels = (fraction: number, size: number | null) =>
    size === null ? null : Math.round(Math.min(Math.max(fraction, 0), 1) * size);
  return [
    image.path,
    categoryName(run, detection.category),
    detection.conf,
    x,
    y,
    w,
    h,
    pixels(x, image.width),
    pixels(y, image.height),
    pixels(x + w, image.width),
    pixels(y + h, image.height),
    isDrawn(detection, run),
    ...(run.classifier ? speciesCells(detection) : []),
  ];
}

/** Species, scientific name, confidence, SpeciesNet's prediction_source, and why a box was not classified. */
function speciesCells(detection: Detection): CellValue[] {
  const { species } = detection;
  if (!species) return [null, null, null, null, detection.classificationSkipped ?? null];
  const described = describeLabel(species.label);
  return [described.commonName || null, described.scientificName ?? null, species.score, species.source, null];
}

function eventColumns(run: RunInfo): ColumnSpec[] {
  return [
    { header: "event", width: 9 },
    { header: "camera", width: 24 },
    { header: "start", width: 20, numFmt: DATE_FORMAT },
    { header: "end", width: 20, numFmt: DATE_FORMAT },
    { header: "images", width: 8 },
    { header: "max confidence", width: 15, numFmt: "0.000" },
    { header: "category", width: 16 },
    ...(run.classifier ? [{ header: "species (MaxN)", width: 40 }] : []),
  ];
}

function eventRow(event: CameraEvent, run: RunInfo): CellValue[] {
  const species = run.classifier ? [speciesList((event.species ?? []).map((s) => [s.label, s.count]))] : [];
  return [event.id, event.camera, event.start ?? null, event.end ?? null, event.imageCount, event.maxConfidence, event.category, ...species];
}

/** "leopard (2); plains zebra (1)": common names with a count each, or null when there are none. */
function speciesList(entries: Array<[string, number]>): string | null {
  return entries.length > 0 ? entries.map(([label, n]) => `${describeLabel(label).commonName || label} (${n})`).join("; ") : null;
}

interface SpeciesTotals {
  boxes: number;
  images: number;
  events: number;
  /** Largest MaxN of any event. */
  maxN: number;
}

/** Per species label: boxes, images and events, for the Summary sheet. Bounded by the number of labels. */
class SpeciesTally {
  readonly byLabel = new Map<string, SpeciesTotals>();

  private entry(label: string): SpeciesTotals {
    let entry = this.byLabel.get(label);
    if (!entry) this.byLabel.set(label, (entry = { boxes: 0, images: 0, events: 0, maxN: 0 }));
    return entry;
  }

  /** Counts the image's drawn boxes by species; returns its Images-sheet cell. */
  addImage(image: ImageResult, run: RunInfo): string | null {
    const counts = new Map<string, number>();
    for (const detection of image.detections) {
      if (detection.species && isDrawn(detection, run)) counts.set(detection.species.label, (counts.get(detection.species.label) ?? 0) + 1);
    }
    for (const [label, n] of counts) {
      const entry = this.entry(label);
      entry.boxes += n;
      entry.images += 1;
    }
    return speciesList([...counts].sort((a, b) => b[1] - a[1]));
  }

  addEvent(event: CameraEvent): void {
    for (const species of event.species ?? []) {
      const entry = this.entry(species.label);
      entry.events += 1;
      entry.maxN = Math.max(entry.maxN, species.count);
    }
  }
}

function writeSummarySheet(sheet: Worksheet, run: RunInfo, totals: ResultTotals, species?: SpeciesTally): void {
  const ids = categoryIds(run);
  const name = (id: string) => categoryName(run, id);
  sheet.columns = [{ width: 40 }, ...Array.from({ length: 4 + ids.length * 2 }, () => ({ width: 14 }))];
  const bold = (row: ExcelJS.Row) => {
    row.font = { bold: true };
    row.commit();
  };
  const pair = (label: string, value: CellValue, numFmt?: string) => {
    const row = sheet.addRow([label, value]);
    if (numFmt) row.getCell(2).numFmt = numFmt;
    row.commit();
  };

  bold(sheet.addRow(["Totals"]));
  pair("images", totals.images);
  pair("processed", totals.ok);
  pair("failed", totals.failed);
  for (const id of ids) pair(`images with ${name(id)}`, totals.imagesWith[id] ?? 0);
  pair("empty images (nothing at render threshold)", totals.empty);
  for (const id of ids) pair(`${name(id)} detections (at render threshold)`, totals.drawnDetections[id] ?? 0);
  pair("all detections (output threshold)", totals.allDetections);
  sheet.addRow([]).commit();

  bold(sheet.addRow(["Run"]));
  pair("model", run.detector);
  if (run.modelId) pair("model id", run.modelId);
  pair("execution provider", run.provider);
  pair("output threshold", run.outputThreshold);
  pair("render threshold", run.renderThreshold);
  pair("started (UTC)", run.startedAt, DATE_FORMAT);
  pair("completed (UTC)", run.completedAt, DATE_FORMAT);
  pair("duration (seconds)", (run.completedAt.getTime() - run.startedAt.getTime()) / 1000, "0.0");
  if (run.classifier) {
    pair("species classifier", run.classifier.model);
    if (run.classifier.modelId) pair("classifier id", run.classifier.modelId);
    pair("classification threshold", run.classifier.threshold);
    pair("country (geofence)", run.classifier.country ? [run.classifier.country, run.classifier.admin1Region].filter(Boolean).join("-") : "from each photo's GPS, else none");
  } else if (run.classifierAbsent) {
    pair("species", `not classified: ${run.classifierAbsent}`);
  }
  sheet.addRow([]).commit();

  if (species) {
    bold(sheet.addRow(["species", "scientific name", "boxes", "images", "events", "max in one event (MaxN)"]));
    const rows = [...species.byLabel].sort(([, a], [, b]) => b.boxes - a.boxes || b.events - a.events);
    for (const [label, counts] of rows) {
      const described = describeLabel(label);
      sheet.addRow([described.commonName || label, described.scientificName ?? null, counts.boxes, counts.images, counts.events, counts.maxN]).commit();
    }
    sheet.addRow([]).commit();
  }

  bold(
    sheet.addRow([
      "folder",
      "images",
      "processed",
      "failed",
      ...ids.map((id) => `with ${name(id)}`),
      "empty",
      ...ids.map((id) => `${name(id)} detections`),
    ]),
  );
  const folders = [...totals.folders.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [folder, counts] of folders) sheet.addRow(folderRow(folder, counts, ids)).commit();
  sheet.commit();
}

function folderRow(folder: string, counts: ResultCounts, ids: string[]): CellValue[] {
  return [
    folder,
    counts.images,
    counts.ok,
    counts.failed,
    ...ids.map((id) => counts.imagesWith[id] ?? 0),
    counts.empty,
    ...ids.map((id) => counts.drawnDetections[id] ?? 0),
  ];
}

function categoryName(run: RunInfo, id: string): string {
  return run.categories[id] ?? `category ${id}`;
}

/**
 * Sheets named "Images", "Images 2"... that each take at most maxRows rows, header
 * included. Each has a frozen, filterable header row, and rows are committed as they come.
 */
class SheetSeries {
  private rowsWritten = 0;
  private rowsAtLastPause = 0;
  private sheet: Worksheet | undefined;
  private rowsInSheet = 0;
  private sheetCount = 0;
  private readonly workbook: ExcelJS.stream.xlsx.WorkbookWriter;
  private readonly baseName: string;
  private readonly columns: ColumnSpec[];
  private readonly maxRows: number;

  constructor(workbook: ExcelJS.stream.xlsx.WorkbookWriter, baseName: string, columns: ColumnSpec[], maxRows: number) {
    this.workbook = workbook;
    this.baseName = baseName;
    this.columns = columns;
    this.maxRows = maxRows;
    this.open();
  }

  addRow(values: CellValue[]): void {
    if (this.rowsInSheet >= this.maxRows) {
      this.sheet?.commit();
      this.open();
    }
    this.sheet?.addRow(values).commit();
    this.rowsInSheet += 1;
    this.rowsWritten += 1;
  }

  close(): void {
    this.sheet?.commit();
  }

  /** Every ROWS_PER_BREATH rows, lets the zip catch up (see letZipCatchUp). */
  async pace(): Promise<void> {
    if (this.rowsWritten - this.rowsAtLastPause < ROWS_PER_BREATH) return;
    this.rowsAtLastPause = this.rowsWritten;
    forgetFormulae(this.sheet);
    await letZipCatchUp(this.sheet);
  }

  private open(): void {
    this.sheetCount += 1;
    const name = this.sheetCount === 1 ? this.baseName : `${this.baseName} ${this.sheetCount}`;
    // Views must be given here: the streaming writer writes them as the sheet opens.
    const sheet = this.workbook.addWorksheet(name, {
      views: [{ state: "frozen", xSplit: 0, ySplit: 1 }],
    });
    sheet.columns = this.columns.map((column) => ({
      header: column.header,
      width: column.width,
      style: { ...(column.numFmt ? { numFmt: column.numFmt } : {}), ...(column.font ? { font: column.font } : {}) },
    }));
    sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: this.columns.length } };
    const header = sheet.getRow(1);
    header.font = { bold: true };
    header.commit();
    this.sheet = sheet;
    this.rowsInSheet = 1;
  }
}

interface SpooledImage {
  path: string;
  width: number | null;
  height: number | null;
  detections: Detection[];
}

/** Detections waiting in a temporary file (JSON lines) until the Images sheet is closed. */
/** What the Detections sheet needs of each image with boxes. */
function spooledImage(image: ImageResult): SpooledImage | undefined {
  if (image.status !== "ok" || image.detections.length === 0) return undefined;
  return { path: image.path, width: image.metadata.width ?? null, height: image.metadata.height ?? null, detections: image.detections };
}

async function* detectionsOf(images: AsyncIterable<ImageResult>): AsyncGenerator<SpooledImage> {
  for await (const image of images) {
    const spooled = spooledImage(image);
    if (spooled) yield spooled;
  }
}

class DetectionSpool {
  private readonly dir: string;
  private readonly file: string;
  private readonly stream: WriteStream;

  private constructor(dir: string) {
    this.dir = dir;
    this.file = join(dir, "detections.jsonl");
    this.stream = createWriteStream(this.file);
  }

  static async create(parent = tmpdir()): Promise<DetectionSpool> {
    return new DetectionSpool(await mkdtemp(join(parent, "trapline-workbook-")));
  }

  async add(image: ImageResult): Promise<void> {
    const spooled = spooledImage(image);
    if (!spooled) return;
    if (!this.stream.write(`${JSON.stringify(spooled)}\n`)) await once(this.stream, "drain");
  }

  async *read(): AsyncGenerator<SpooledImage> {
    this.stream.end();
    await once(this.stream, "close");
    const lines = createInterface({ input: createReadStream(this.file), crlfDelay: Infinity });
    for await (const line of lines) yield JSON.parse(line) as SpooledImage;
  }

  async remove(): Promise<void> {
    this.stream.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Waits while the zip entry of the sheet being written holds more than ZIP_BACKLOG_LIMIT
 * bytes of XML. exceljs hands each sheet's XML to the zip without waiting (its StreamBuf
 * ignores backpressure), so without this a fast producer, such as the Detections pass that
 * reads the spool file, queues the whole sheet in memory in front of the compressor.
 * The queue is reached through exceljs 4 internals; if they change, this only yields.
 */
async function letZipCatchUp(sheet: Worksheet | undefined): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  while (zipEntryBacklog(sheet) > ZIP_BACKLOG_LIMIT) await setTimeout(ZIP_BACKLOG_POLL_MS);
}

interface ExcelJsSheetInternals {
  stream?: { pipes?: Array<{ _writableState?: { length?: number } }> };
  _formulae?: Record<string, unknown>;
}

/**
 * exceljs's streaming sheet keeps every formula cell it has written, by address, in case a
 * later cell shares its formula; these sheets share none, so the written ones can go.
 */
export function forgetFormulae(sheet: Worksheet | undefined): void {
  const internals = sheet as unknown as ExcelJsSheetInternals | undefined;
  if (internals?._formulae) internals._formulae = {};
}

/** Bytes queued in the zip entry that the sheet's StreamBuf pipes into (a readable-stream 3 PassThrough). */
export function zipEntryBacklog(sheet: Worksheet | undefined): number {
  const entry = (sheet as unknown as ExcelJsSheetInternals | undefined)?.stream?.pipes?.[0];
  return entry?._writableState?.length ?? 0;
}
