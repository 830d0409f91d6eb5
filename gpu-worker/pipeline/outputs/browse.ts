// The browse index of a run (issue 13, DESIGN.md "Browsing results"): the gallery's items in
// pages sorted by camera time and by confidence, per view (every photo with a detection, each
// category, each folder, the blank check), and a summary (counts per category, folder and hour
// of day, cameras with GPS). The worker's merge stores it beside the zip for the results routes;
// report.html is drawn from the same build.
//
// Bounds: items wait in a scratch file, not in memory; memory holds about a hundred bytes per
// gallery item (its sort keys and where its line is), as events.ts does per photo. Pages hold at
// most BROWSE_PAGE_ITEMS items; the summary lists at most SUMMARY_MAX_FOLDERS folders and
// SUMMARY_MAX_CAMERAS cameras.
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BROWSE_ITEM_DETECTIONS,
  BROWSE_PAGE_ITEMS,
  SUMMARY_MAX_CAMERAS,
  SUMMARY_MAX_FOLDERS,
  type BrowseItem,
  type BrowseManifest,
  type BrowseSort,
  type BrowseSummary,
} from "../../../core/results/browse.ts";
import { drawnCategories, folderOf, isDrawn } from "../categories.ts";
import { describeLabel } from "../classifier/taxonomy.ts";
import { cameraOf, captureTimeOf, groupEvents, withEvents } from "../events/events.ts";
import type { Detection, ImageResult, RunInfo } from "../types.ts";

export const ALL_VIEW = "all";
export const BLANK_VIEW = "blank";
export const categoryView = (id: string) => `c${id}`;
export const folderView = (index: number) => `f${index}`;

interface Entry {
  path: string;
  offset: number;
  length: number;
  /** Camera time in ms (wall clock as UTC), or Infinity when undated: last in time order. */
  time: number;
  conf: number;
}

export interface BrowsePage {
  view: string;
  sort: BrowseSort;
  page: number;
  /** NDJSON, one BrowseItem a line. */
  body: string;
}

export interface BrowseBuild {
  summary: BrowseSummary;
  manifest: BrowseManifest;
  /** Every stored page, view by view. */
  pages(): AsyncGenerator<BrowsePage>;
  /** The first `limit` items of a view in an order (report.html's gallery). */
  items(view: string, sort: BrowseSort, limit: number): AsyncGenerator<BrowseItem>;
  dispose(): Promise<void>;
}

const byTime = (a: Entry, b: Entry) => a.time - b.time || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
const byConfidence = (a: Entry, b: Entry) => b.conf - a.conf || byTime(a, b);

/** "2024-05-01T02:14:00": the camera's clock as it wrote it (wall-clock Dates hold it in their UTC fields). */
function cameraTimeText(time: Date): string {
  return time.toISOString().slice(0, 19);
}

/** Reads `images()` twice (events, then items): pass a function that starts a fresh read each time, such as spool.sorted. */
export async function buildBrowse(
  images: () => AsyncIterable<ImageResult> | Iterable<ImageResult>,
  run: RunInfo,
  options: { eventGapSeconds?: number; scratchDir?: string } = {},
): Promise<BrowseBuild> {
  const grouping = await groupEvents(images(), run, options.eventGapSeconds !== undefined ? { gapSeconds: options.eventGapSeconds } : {});
  const framesOf = new Map(grouping.events.map((event) => [event.id, event.imageCount]));
  const eventsWith = grouping.events.filter((event) => Object.keys(event.maxCounts).length > 0).length;
  const scratch = await mkdtemp(join(options.scratchDir ?? tmpdir(), "trapline-browse-"));
  const file = await open(join(scratch, "items.ndjson"), "w+");
  try {
    const ids = Object.keys(run.categories);
    const summary: BrowseSummary = {
      renderThreshold: run.renderThreshold,
      categories: run.categories,
      images: 0,
      failed: 0,
      withDetections: 0,
      empty: 0,
      blankSample: 0,
      perCategory: Object.fromEntries(ids.map((id) => [id, 0])),
      folders: [],
      foldersLeftOut: 0,
      hours: Object.fromEntries(ids.map((id) => [id, new Array<number>(24).fill(0)])),
      undated: 0,
      cameras: [],
      events: eventsWith,
      previewsFailed: 0,
    };
    const folders = new Map<string, BrowseSummary["folders"][number]>();
    const cameraCounts = new Map<string, { images: number; perCategory: Record<string, number> }>();
    const views = new Map<string, Entry[]>();
    const folderIndex = new Map<string, number>();
    const addTo = (view: string, entry: Entry) => {
      const list = views.get(view) ?? [];
      views.set(view, list);
      list.push(entry);
    };
    let size = 0;
    for await (const image of withEvents(images(), grouping)) {
      if (image.rejected) continue;
      summary.images += 1;
      if (image.status !== "ok") {
        summary.failed += 1;
        continue;
      }
      const folder = folderOf(image.path);
      const camera = cameraOf(image.path, image.metadata);
      const drawn = drawnCategories(image, run);
      const perFolder = folders.get(folder) ?? { folder, images: 0, withDetections: 0, perCategory: {} };
      folders.set(folder, perFolder);
      perFolder.images += 1;
      const perCamera = cameraCounts.get(camera) ?? { images: 0, perCategory: {} };
      cameraCounts.set(camera, perCamera);
      perCamera.images += 1;
      if (image.previewError) summary.previewsFailed += 1;
      const time = captureTimeOf(image.metadata);
      if (drawn.length > 0) {
        summary.withDetections += 1;
        perFolder.withDetections += 1;
        if (!time) summary.undated += 1;
        for (const id of drawn) {
          summary.perCategory[id] = (summary.perCategory[id] ?? 0) + 1;
          perFolder.perCategory[id] = (perFolder.perCategory[id] ?? 0) + 1;
          perCamera.perCategory[id] = (perCamera.perCategory[id] ?? 0) + 1;
          if (time) (summary.hours[id] ??= new Array<number>(24).fill(0))[time.getUTCHours()]! += 1;
        }
      } else {
        summary.empty += 1;
        if (!image.blankSample) continue;
        summary.blankSample += 1;
      }
      const detections = image.detections
        .filter((d) => isDrawn(d, run))
        .sort((a, b) => b.conf - a.conf)
        .map((d) => ({ category: d.category, label: run.categories[d.category] ?? d.category, ...speciesOf(d), conf: d.conf, bbox: d.bbox }));
      const item: BrowseItem = {
        file: image.path,
        status: "ok",
        ...(time ? { datetime: cameraTimeText(time) } : {}),
        detections: detections.slice(0, BROWSE_ITEM_DETECTIONS),
        ...(detections.length > BROWSE_ITEM_DETECTIONS ? { moreDetections: detections.length - BROWSE_ITEM_DETECTIONS } : {}),
        maxConf: detections[0]?.conf ?? 0,
        folder,
        camera,
        ...(image.event ? { event: image.event, eventFrames: framesOf.get(image.event) ?? 1 } : {}),
        ...(image.preview ? { preview: image.preview } : {}),
        ...(image.previewError ? { previewError: image.previewError } : {}),
        ...(drawn.length === 0 ? { blank: true as const } : {}),
      };
      const line = Buffer.from(`${JSON.stringify(item)}\n`);
      await file.write(line, 0, line.length, size);
      const entry: Entry = { path: image.path, offset: size, length: line.length, time: time?.getTime() ?? Number.POSITIVE_INFINITY, conf: item.maxConf };
      size += line.length;
      if (drawn.length === 0) {
        addTo(BLANK_VIEW, entry);
        continue;
      }
      addTo(ALL_VIEW, entry);
      for (const id of drawn) addTo(categoryView(id), entry);
      let index = folderIndex.get(folder);
      if (index === undefined) folderIndex.set(folder, (index = folderIndex.size));
      addTo(folderView(index), entry);
    }

    const ranked = [...folders.values()].sort((a, b) => b.images - a.images || (a.folder < b.folder ? -1 : 1));
    summary.folders = ranked.slice(0, SUMMARY_MAX_FOLDERS);
    summary.foldersLeftOut = Math.max(0, ranked.length - SUMMARY_MAX_FOLDERS);
    summary.cameras = grouping.cameras
      .filter((c) => typeof c.latitude === "number" && typeof c.longitude === "number")
      .slice(0, SUMMARY_MAX_CAMERAS)
      .map((c) => ({ camera: c.camera, folder: c.folder, latitude: c.latitude!, longitude: c.longitude!, images: cameraCounts.get(c.camera)?.images ?? c.imageCount, perCategory: cameraCounts.get(c.camera)?.perCategory ?? {} }));

    const sorted: Record<BrowseSort, Map<string, Entry[]>> = { time: new Map(), confidence: new Map() };
    const manifest: BrowseManifest = { version: 1, pageItems: BROWSE_PAGE_ITEMS, categories: run.categories, folders: [...folderIndex.keys()], views: {} };
    for (const [view, entries] of views) {
      sorted.time.set(view, [...entries].sort(byTime));
      const byConf = [...entries].sort(byConfidence);
      sorted.confidence.set(view, byConf);
      const pages = Math.ceil(entries.length / BROWSE_PAGE_ITEMS);
      const confBounds: [number, number][] = [];
      for (let page = 0; page < pages; page++) {
        const slice = byConf.slice(page * BROWSE_PAGE_ITEMS, (page + 1) * BROWSE_PAGE_ITEMS);
        confBounds.push([slice[0]!.conf, slice[slice.length - 1]!.conf]);
      }
      manifest.views[view] = { items: entries.length, pages, confBounds };
    }
    views.clear();

    const readLine = async (entry: Entry) => {
      const buffer = Buffer.alloc(entry.length);
      await file.read(buffer, 0, entry.length, entry.offset);
      return buffer;
    };
    return {
      summary,
      manifest,
      async *pages() {
        for (const sort of ["time", "confidence"] as const) {
          for (const [view, entries] of sorted[sort]) {
            for (let page = 0; page * BROWSE_PAGE_ITEMS < entries.length; page++) {
              const lines = await Promise.all(entries.slice(page * BROWSE_PAGE_ITEMS, (page + 1) * BROWSE_PAGE_ITEMS).map(readLine));
              yield { view, sort, page, body: Buffer.concat(lines).toString("utf8") };
            }
          }
        }
      },
      async *items(view, sort, limit) {
        for (const entry of (sorted[sort].get(view) ?? []).slice(0, limit)) yield JSON.parse((await readLine(entry)).toString("utf8")) as BrowseItem;
      },
      async dispose() {
        await file.close();
        await rm(scratch, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await file.close();
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
}

/** A classified box's species as a person reads it (common name, else scientific name). */
function speciesOf(detection: Detection): { species?: string } {
  if (!detection.species) return {};
  const { commonName, scientificName } = describeLabel(detection.species.label);
  const name = commonName || scientificName;
  return name ? { species: name } : {};
}
