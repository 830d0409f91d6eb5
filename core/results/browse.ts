// Browsing results (DESIGN.md "Browsing results"): what a job's merge writes beside its zip
// (gpu-worker/pipeline/outputs/browse.ts) and the results routes answer (functions/routes/
// results.ts, re-exported by functions/wire.ts for the page). Types and plain constants only:
// the page bundles this file, and the worker image holds core/ but not functions/.

/** Items in one stored page of a browse view, and the most one GET /images answers. */
export const BROWSE_PAGE_ITEMS = 500;
/** Boxes listed per gallery item: a photo of a herd can hold 300, and a page must stay small. */
export const BROWSE_ITEM_DETECTIONS = 20;
/** GET /images answers this many items when the request does not say. */
export const DEFAULT_IMAGES_LIMIT = 100;
/** The orders a view is stored in: camera time (undated photos last), or confidence (highest first). */
export const BROWSE_SORTS = ["time", "confidence"] as const;
export type BrowseSort = (typeof BROWSE_SORTS)[number];
/** The category filter's word for the blank check (sampled empties). */
export const BLANK_CATEGORY = "empty";

export interface BrowseDetection {
  category: string;
  label: string;
  /** The box's species (its common name, else scientific), where a classifier ran: shown instead of the category's name. */
  species?: string;
  conf: number;
  /** [x, y, w, h], normalised to the photo as displayed. */
  bbox: [number, number, number, number];
}

/** One photo in the gallery: a photo with a detection at the threshold, or one of the blank check. */
export interface BrowseItem {
  file: string;
  status: "ok";
  /** The camera's own clock, "2024-05-01T02:14:00" (no time zone); absent when the photo has no date. */
  datetime?: string;
  /** Detections at or above the render threshold, most confident first (at most BROWSE_ITEM_DETECTIONS; moreDetections counts the rest). */
  detections: BrowseDetection[];
  moreDetections?: number;
  /** Highest confidence among them (0 for the blank check). */
  maxConf: number;
  folder: string;
  camera: string;
  /** The event (burst) it belongs to, as results.xlsx names it. */
  event?: string;
  /** Frames in that event. */
  eventFrames?: number;
  /** The preview's name in the zip and beside it ("previews/<hash>.jpg"). */
  preview?: string;
  /** Why there is no preview (a photo that could not be drawn). */
  previewError?: string;
  /** In the blank check: judged empty, sampled so a person can check the threshold. */
  blank?: true;
  /** Added by GET /images: a presigned link to the preview. */
  previewUrl?: string;
}

export interface ImagesPage {
  images: BrowseItem[];
  /** Absent on the last page. A page may hold fewer than `limit` items (each request reads a bounded number of stored pages) and still have a cursor. */
  cursor?: string;
}

export interface BrowseSummary {
  /** Boxes at or above this confidence count (the job's render threshold). */
  renderThreshold: number;
  /** MD category id → name. */
  categories: Record<string, string>;
  /** Photos looked at (rejected files not counted), and those that could not be read. */
  images: number;
  failed: number;
  /** Photos with at least one detection at the threshold, and those with none. */
  withDetections: number;
  empty: number;
  /** Photos in the blank check. */
  blankSample: number;
  /** Category id → photos with at least one detection of it. */
  perCategory: Record<string, number>;
  /** Per folder, most photos first (at most SUMMARY_MAX_FOLDERS; foldersLeftOut says how many more). */
  folders: { folder: string; images: number; withDetections: number; perCategory: Record<string, number> }[];
  foldersLeftOut: number;
  /** Category id → 24 counts: photos with that category per hour of the camera's clock. */
  hours: Record<string, number[]>;
  /** Photos with a detection but no date: left out of `hours`. */
  undated: number;
  /** Cameras whose photos carry GPS (at most SUMMARY_MAX_CAMERAS), with their counts. */
  cameras: { camera: string; folder: string; latitude: number; longitude: number; images: number; perCategory: Record<string, number> }[];
  /** Events (bursts) with a detection. */
  events: number;
  /** Previews that could not be made. */
  previewsFailed: number;
}

/** Most folders and cameras a summary lists: the answer stays small whatever the job. */
export const SUMMARY_MAX_FOLDERS = 500;
export const SUMMARY_MAX_CAMERAS = 1_000;

/**
 * The stored index the routes read (not sent to clients): per view, how many items and pages in
 * each order, and for the confidence order each page's highest and lowest confidence, so a
 * confidence range starts at the right page. Views: "all" (photos with a detection), "c<id>"
 * (a category), "f<n>" (folders[n]), "blank".
 */
export interface BrowseManifest {
  version: 1;
  pageItems: number;
  /** MD category id → name, so a filter may name a category either way. */
  categories: Record<string, string>;
  folders: string[];
  views: Record<string, { items: number; pages: number; confBounds: [number, number][] }>;
}
