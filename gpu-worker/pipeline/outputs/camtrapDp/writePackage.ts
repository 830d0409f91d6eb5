// The Camtrap DP 1.0.2 export (https://camtrap-dp.tdwg.org): datapackage.json plus
// deployments.csv (one per camera), media.csv (one per processed image with a capture time)
// and observations.csv (the detector's machine observations, per image and per event).
// Rows stream out of the result spool through csv-stringify; only the per-camera and
// per-event summaries are held in memory.

import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { PassThrough, type Readable } from "node:stream";
import { stringify } from "csv-stringify";
import type { EventGrouping, CameraSummary } from "../../events/events.ts";
import { cameraOf, captureTimeOf } from "../../events/events.ts";
import type { Detection, ImageResult, RunInfo, SpeciesPrediction } from "../../types.ts";
import { SPECIESNET_LABELS } from "../../classifier/constants.ts";
import { describeLabel, parseLabel } from "../../classifier/taxonomy.ts";
import { isDrawn } from "../../categories.ts";
import { inertCsvText } from "../formulaInjection.ts";
import { calendarDate, DEFAULT_UTC_OFFSET, utcInstant, withOffset } from "./timestamps.ts";

export const CAMTRAP_DP_VERSION = "1.0.2";
const SCHEMA_BASE = `https://raw.githubusercontent.com/tdwg/camtrap-dp/${CAMTRAP_DP_VERSION}`;
export const PROFILE_URL = `${SCHEMA_BASE}/camtrap-dp-profile.json`;
export const TABLES = ["deployments", "media", "observations"] as const;
export type TableName = (typeof TABLES)[number];

/** Column order of each table, as its table schema lists the fields. */
export const COLUMNS: Record<TableName, string[]> = {
  deployments: [
    "deploymentID", "locationID", "locationName", "latitude", "longitude", "coordinateUncertainty", "deploymentStart",
    "deploymentEnd", "setupBy", "cameraID", "cameraModel", "cameraDelay", "cameraHeight", "cameraDepth", "cameraTilt",
    "cameraHeading", "detectionDistance", "timestampIssues", "baitUse", "featureType", "habitat", "deploymentGroups",
    "deploymentTags", "deploymentComments",
  ],
  media: ["mediaID", "deploymentID", "captureMethod", "timestamp", "filePath", "filePublic", "fileName", "fileMediatype", "exifData", "favorite", "mediaComments"],
  observations: [
    "observationID", "deploymentID", "mediaID", "eventID", "eventStart", "eventEnd", "observationLevel", "observationType",
    "cameraSetupType", "scientificName", "count", "lifeStage", "sex", "behavior", "individualID", "individualPositionRadius",
    "individualPositionAngle", "individualSpeed", "bboxX", "bboxY", "bboxWidth", "bboxHeight", "classificationMethod",
    "classifiedBy", "classificationTimestamp", "classificationProbability", "observationTags", "observationComments",
  ],
};

/** MegaDetector's categories in Camtrap DP's observationType vocabulary. */
const OBSERVATION_TYPES: Readonly<Record<string, string>> = { animal: "animal", person: "human", vehicle: "vehicle" };

/** Trigger modes (maker notes) in Camtrap DP's captureMethod vocabulary. */
const CAPTURE_METHODS: Readonly<Record<string, string>> = {
  "Motion Detection": "activityDetection",
  "External Sensor": "activityDetection",
  "Time Lapse": "timeLapse",
};

const MEDIA_TYPES: Readonly<Record<string, string>> = { jpeg: "image/jpeg", png: "image/png", tiff: "image/tiff", webp: "image/webp", gif: "image/gif", heif: "image/heif", avif: "image/avif" };

export interface CamtrapOptions {
  /** UTC offset of the cameras' clocks, "+HH:MM" (default +00:00). */
  utcOffset?: string;
  /** Coordinates for cameras whose photos carry no GPS. */
  location?: { latitude: number; longitude: number };
}

/** Receives one file of the package (name relative to the package folder) and consumes it. */
export type PackageSink = (name: string, data: Readable | Buffer) => Promise<void>;

type Row = Record<string, string | number | boolean | undefined>;

interface MediaRecord {
  image: ImageResult;
  mediaID: string;
  timestamp: Date;
}

export interface PackageSummary {
  media: number;
  /** Processed images left out because no clock in the file gave a capture time. */
  withoutTime: number;
  /** Processed images left out because Camtrap DP cannot name their path (see nameableInPackage). */
  unnameable: number;
  /** Deployments with neither GPS nor a location given: the package needs coordinates before publishing. */
  withoutCoordinates: string[];
}

/**
 * Writes the package through `sink`. `results` is called once per pass and must yield the
 * same results in the same order each time (the spool's sorted read does).
 */
export async function writeCamtrapPackage(
  sink: PackageSink,
  results: () => AsyncIterable<ImageResult> | Iterable<ImageResult>,
  grouping: EventGrouping,
  run: RunInfo,
  options: CamtrapOptions = {},
): Promise<PackageSummary> {
  const offset = options.utcOffset ?? DEFAULT_UTC_OFFSET;
  const cameras = grouping.cameras.filter((camera) => camera.start !== undefined);
  const withoutCoordinates = cameras.filter((c) => c.latitude === undefined && !options.location).map((c) => c.camera);

  await writeCsv(sink, "deployments", async (write) => {
    for (const camera of cameras) await write(deploymentRow(camera, offset, options));
  });

  let media = 0;
  let withoutTime = 0;
  let unnameable = 0;
  await writeCsv(sink, "media", async (write) => {
    for await (const record of mediaRecords(results(), (why) => (why === "time" ? withoutTime++ : unnameable++))) {
      media++;
      await write(mediaRow(record, offset));
    }
  });

  const classification = { classificationMethod: "machine", classifiedBy: classifier(run), classificationTimestamp: utcInstant(run.completedAt) };
  const taxa = new Taxa();
  await writeCsv(sink, "observations", async (write) => {
    for await (const record of mediaRecords(results())) {
      for (const row of mediaObservations(record, grouping, run, offset, taxa)) await write({ ...row, ...classification });
    }
    for (const event of grouping.events) {
      if (event.start === undefined || event.end === undefined) continue;
      const base: Row = {
        deploymentID: event.camera,
        eventID: event.id,
        eventStart: withOffset(event.start, offset),
        eventEnd: withOffset(event.end, offset),
        observationLevel: "event",
        ...classification,
      };
      const ids = Object.keys(event.maxCounts);
      if (ids.length === 0) await write({ ...base, observationID: `${event.id}_blank`, observationType: "blank" });
      for (const id of ids) {
        const name = run.categories[id] ?? id;
        if (name === "animal" && event.species && event.species.length > 0) {
          // The event's species, settled across its frames, each with its MaxN count.
          for (const [i, species] of event.species.entries()) {
            await write({ ...base, observationID: `${event.id}_${name}_${i + 1}`, count: species.count, ...speciesFields(species, taxa) });
          }
          continue;
        }
        await write({
          ...base,
          observationID: `${event.id}_${name}`,
          observationType: OBSERVATION_TYPES[name] ?? "unknown",
          count: event.maxCounts[id],
          classificationProbability: event.maxConfidenceBy[id],
        });
      }
    }
  });

  const descriptor = packageDescriptor(cameras, grouping, run, options, { media, withoutTime, unnameable, withoutCoordinates }, taxa.list());
  await sink("datapackage.json", Buffer.from(`${JSON.stringify(descriptor, null, 2)}\n`));
  return { media, withoutTime, unnameable, withoutCoordinates };
}

/**
 * Camtrap DP's media.filePath pattern: no leading ".", "/" or "~", and no "..". A photo in a
 * hidden folder at the top (".cam2/IMG_0001.JPG") is processed, but the package cannot list it.
 */
function nameableInPackage(path: string): boolean {
  return !/^[./~]/.test(path) && !path.includes("..");
}

/** Processed images with a capture time and a path the package can name, numbered in the order the results come. */
async function* mediaRecords(results: AsyncIterable<ImageResult> | Iterable<ImageResult>, onLeftOut?: (why: "time" | "path") => void): AsyncGenerator<MediaRecord> {
  let n = 0;
  for await (const image of results) {
    if (image.status !== "ok") continue;
    if (!nameableInPackage(image.path)) {
      onLeftOut?.("path");
      continue;
    }
    const timestamp = captureTimeOf(image.metadata);
    if (timestamp === undefined) {
      onLeftOut?.("time");
      continue;
    }
    n++;
    yield { image, mediaID: `m${String(n).padStart(6, "0")}`, timestamp };
  }
}

function deploymentRow(camera: CameraSummary, offset: string, options: CamtrapOptions): Row {
  const position = camera.latitude !== undefined ? { latitude: camera.latitude, longitude: camera.longitude } : options.location;
  return {
    deploymentID: camera.camera,
    locationName: camera.folder,
    latitude: position?.latitude,
    longitude: position?.longitude,
    deploymentStart: withOffset(camera.start!, offset),
    deploymentEnd: withOffset(camera.end!, offset),
    cameraID: camera.serialNumber,
    cameraModel: [camera.make, camera.model].filter(Boolean).join(" ") || undefined,
  };
}

function mediaRow({ image, mediaID, timestamp }: MediaRecord, offset: string): Row {
  const trigger = image.metadata.cameraTrap?.triggerMode;
  return {
    mediaID,
    deploymentID: cameraOf(image.path, image.metadata),
    captureMethod: trigger ? CAPTURE_METHODS[trigger] : undefined,
    timestamp: withOffset(timestamp, offset),
    filePath: image.path,
    filePublic: false,
    fileName: image.path.slice(image.path.lastIndexOf("/") + 1),
    fileMediatype: MEDIA_TYPES[image.format ?? ""] ?? `image/${image.format ?? "jpeg"}`,
  };
}

/** One observation per box at the render threshold, or one "blank" when there is none. */
function mediaObservations({ image, mediaID, timestamp }: MediaRecord, grouping: EventGrouping, run: RunInfo, offset: string, taxa: Taxa): Row[] {
  const at = withOffset(timestamp, offset);
  const base: Row = {
    deploymentID: cameraOf(image.path, image.metadata),
    mediaID,
    eventID: grouping.eventOf(image.path),
    eventStart: at,
    eventEnd: at,
    observationLevel: "media",
  };
  const drawn = image.detections.filter((d) => isDrawn(d, run));
  if (drawn.length === 0) return [{ ...base, observationID: `${mediaID}_blank`, observationType: "blank" }];
  return drawn.map((detection, i) => {
    const name = run.categories[detection.category] ?? detection.category;
    return {
      ...base,
      observationID: `${mediaID}_${i + 1}`,
      observationType: OBSERVATION_TYPES[name] ?? "unknown",
      count: 1,
      ...bbox(detection),
      classificationProbability: detection.conf,
      ...(detection.species ? speciesFields(detection.species, taxa) : {}),
    };
  });
}

/**
 * A SpeciesNet label as Camtrap DP's observation fields: its type (human, vehicle, blank,
 * "unknown" for "no cv result", else animal), its scientific name when it has one, and the
 * ensemble's score as the probability. Names go into `taxa` for datapackage.json.
 */
function speciesFields(species: Pick<SpeciesPrediction, "label" | "score">, taxa: Taxa): Row {
  const { label, score } = species;
  const described = describeLabel(label);
  const observationType =
    label === SPECIESNET_LABELS.human ? "human" : described.rank === "unknown" ? "unknown" : described.rank === "blank" || described.rank === "vehicle" ? described.rank : "animal";
  if (described.scientificName) taxa.add(label);
  return {
    observationType,
    scientificName: described.scientificName,
    // A roll-up's summed score may pass 1 by a rounding error; the schema's maximum is 1.
    classificationProbability: Math.min(1, score),
  };
}

/** The taxa the observations name, for datapackage.json's "taxonomic". Bounded by the classifier's labels. */
class Taxa {
  private readonly byName = new Map<string, Record<string, unknown>>();

  add(label: string): void {
    const described = describeLabel(label);
    const name = described.scientificName;
    if (!name || this.byName.has(name)) return;
    const parts = parseLabel(label);
    const capitalise = (taxon: string) => (taxon ? taxon.charAt(0).toUpperCase() + taxon.slice(1) : undefined);
    this.byName.set(name, {
      scientificName: name,
      ...(described.rank !== "blank" && described.rank !== "vehicle" && described.rank !== "unknown" ? { taxonRank: described.rank } : {}),
      kingdom: "Animalia",
      ...Object.fromEntries(
        (["class", "order", "family", "genus"] as const)
          .map((level): [string, string | undefined] => [level, capitalise(parts[level])])
          .filter(([, taxon]) => taxon !== undefined),
      ),
      ...(described.commonName ? { vernacularNames: { eng: described.commonName } } : {}),
    });
  }

  list(): Record<string, unknown>[] {
    return [...this.byName.values()].sort((a, b) => String(a.scientificName).localeCompare(String(b.scientificName)));
  }
}

/** MegaDetector's [x, y, width, height] already is Camtrap DP's bbox; a box with no area gets none. */
function bbox({ bbox: [x, y, width, height] }: Detection): Row {
  const clamp = (v: number) => Math.min(Math.max(v, 0), 1);
  if (!(width > 0 && height > 0)) return {};
  return { bboxX: clamp(x), bboxY: clamp(y), bboxWidth: clamp(width), bboxHeight: clamp(height) };
}

function classifier(run: RunInfo): string {
  const species = run.classifier ? ` and species classifier ${run.classifier.modelId ?? run.classifier.model} with SpeciesNet's ensemble` : "";
  return `MegaDetector ${run.modelId ?? run.detector}${species} (Trapline)`;
}

/**
 * Columns whose text is kept exactly, formula-like or not (see ../formulaInjection.ts): filePath
 * locates the photo in the results zip, and a changed path points at no file. Every other text
 * cell, keys included, goes through inertCsvText; a key changes the same way in every table
 * (deploymentID, eventID), so the references between the tables still hold.
 */
const EXACT_TEXT_COLUMNS = new Set(["filePath"]);

async function writeCsv(sink: PackageSink, table: TableName, produce: (write: (row: Row) => Promise<void>) => Promise<void>): Promise<void> {
  const csv = stringify({
    header: true,
    columns: COLUMNS[table],
    cast: {
      boolean: (value) => String(value),
      string: (value, context) => (EXACT_TEXT_COLUMNS.has(String(context.column)) ? value : inertCsvText(value)),
    },
  });
  const out = new PassThrough();
  csv.pipe(out);
  const consumed = sink(`${table}.csv`, out);
  const produced = (async () => {
    try {
      await produce(async (row) => {
        if (!csv.write(row)) await once(csv, "drain");
      });
      csv.end();
    } catch (error) {
      csv.destroy(error as Error);
      throw error;
    }
  })();
  await Promise.all([consumed, produced]);
}

function packageDescriptor(
  cameras: CameraSummary[],
  grouping: EventGrouping,
  run: RunInfo,
  options: CamtrapOptions,
  summary: PackageSummary,
  taxonomic: Record<string, unknown>[],
): Record<string, unknown> {
  const starts = cameras.map((c) => c.start!.getTime());
  const ends = cameras.map((c) => c.end!.getTime());
  const positions = cameras
    .map((c) => (c.latitude !== undefined ? [c.longitude!, c.latitude] : options.location ? [options.location.longitude, options.location.latitude] : undefined))
    .filter((p): p is [number, number] => p !== undefined);
  const methods = new Set(cameras.flatMap((c) => [...c.triggerModes].map((mode) => CAPTURE_METHODS[mode]).filter((m): m is string => m !== undefined)));
  const notes = [
    `Machine observations by ${classifier(run)}: boxes at or above confidence ${run.renderThreshold}, per image and per event (${grouping.events.length} events).`,
    "Timestamps are the cameras' clock times with the UTC offset given when processing" +
      ` (${options.utcOffset ?? DEFAULT_UTC_OFFSET}); file paths are relative to the top of the results zip.`,
    summary.withoutTime > 0 ? `${summary.withoutTime} processed images had no capture time and are not listed.` : "",
    summary.unnameable > 0 ? `${summary.unnameable} processed images have paths Camtrap DP cannot name (starting with "." or "~", or holding "..") and are not listed.` : "",
    summary.withoutCoordinates.length > 0 ? `Deployments without coordinates (add them before publishing): ${summary.withoutCoordinates.join(", ")}.` : "",
  ].filter(Boolean);
  return {
    resources: TABLES.map((name) => ({
      name,
      path: `${name}.csv`,
      profile: "tabular-data-resource",
      format: "csv",
      mediatype: "text/csv",
      encoding: "utf-8",
      schema: `${SCHEMA_BASE}/${name}-table-schema.json`,
    })),
    profile: PROFILE_URL,
    name: "trapline-detections",
    id: randomUUID(),
    created: utcInstant(run.completedAt),
    title: "Camera-trap detections by Trapline",
    description: notes.join(" "),
    contributors: [{ title: "Trapline (automated processing)", role: "contributor" }],
    sources: [{ title: "Trapline" }],
    project: {
      title: "Camera-trap photos processed with Trapline",
      samplingDesign: "opportunistic",
      captureMethod: methods.size > 0 ? [...methods].sort() : ["activityDetection"],
      individualAnimals: false,
      observationLevel: ["media", "event"],
    },
    ...(positions.length > 0 ? { spatial: geometry(positions) } : {}),
    ...(starts.length > 0 ? { temporal: { start: calendarDate(new Date(Math.min(...starts))), end: calendarDate(new Date(Math.max(...ends))) } } : {}),
    taxonomic,
  };
}

/** A point for one place, else the bounding box as a polygon (GeoJSON: longitude first). */
function geometry(positions: Array<[number, number]>): Record<string, unknown> {
  const xs = positions.map(([x]) => x);
  const ys = positions.map(([, y]) => y);
  const [west, east, south, north] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (west === east && south === north) return { type: "Point", coordinates: [west, south] };
  return { type: "Polygon", coordinates: [[[west, south], [east, south], [east, north], [west, north], [west, south]]] };
}
