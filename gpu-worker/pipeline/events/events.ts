// Bursts and events: the images one trigger produced, grouped per camera. A camera is its
// serial number when the file names one, else its folder. Within a camera, images in time
// order join the previous image's event when the maker note says they belong to one burst
// (same event counter, next in sequence), or else when they were taken within the gap.
//
// One pass over the results keeps a few numbers per image (not the image results), so memory
// grows by about a hundred bytes per image; the reports then read the results again.

import { categoryLabel, drawnCategories, folderOf, isDrawn } from "../categories.ts";
import { settleEventSpecies, type EventSpecies } from "../classifier/eventSpecies.ts";
import type { Detection, ImageMetadata, ImageResult, RunInfo } from "../types.ts";

/** Seconds between two images of one event when the camera says nothing about bursts. */
export const DEFAULT_EVENT_GAP_SECONDS = 60;

/**
 * A camera's event counter can restart (new card, new batteries): the same number more than
 * this far apart is a different event.
 */
const MAKER_EVENT_MAX_SPAN_MS = 60 * 60 * 1000;

export interface EventOptions {
  gapSeconds?: number;
}

export interface CameraEvent {
  id: string;
  camera: string;
  /** Camera wall-clock times (UTC fields = the camera's fields); absent for an image with no date. */
  start?: Date;
  end?: Date;
  imageCount: number;
  /** Highest confidence of any detection in the event (0 when none). */
  maxConfidence: number;
  /** Category ids seen at the render threshold, with the most boxes of each in any one image. */
  maxCounts: Record<string, number>;
  /** Category id -> highest confidence of its boxes at the render threshold. */
  maxConfidenceBy: Record<string, number>;
  /** categoryLabel of those categories: "animal", "animal+person", "empty"... */
  category: string;
  /**
   * When a species classifier ran: the event's species, settled across its frames, with MaxN
   * counts (classifier/eventSpecies.ts), of the boxes drawn at the render threshold.
   */
  species?: EventSpecies[];
}

/** What the reports need about each camera (one Camtrap DP deployment each). */
export interface CameraSummary {
  camera: string;
  folder: string;
  serialNumber?: string;
  make?: string;
  model?: string;
  latitude?: number;
  longitude?: number;
  start?: Date;
  end?: Date;
  imageCount: number;
  /** Trigger modes the maker notes named. */
  triggerModes: Set<string>;
}

export interface EventGrouping {
  events: CameraEvent[];
  cameras: CameraSummary[];
  eventOf(path: string): string | undefined;
}

interface Frame {
  path: string;
  time: number | undefined;
  eventNumber: number | undefined;
  sequence: { index: number; count: number } | undefined;
  maxConfidence: number;
  counts: Record<string, number>;
  confidenceBy: Record<string, number>;
  /** The drawn boxes that carry a species, slimmed to what settling needs (labels shared, not copied). */
  speciesBoxes: Pick<ImageResult, "detections">;
}

/** The camera an image came from: its serial number when known, else its folder. */
export function cameraOf(path: string, metadata: ImageMetadata): string {
  return metadata.serialNumber ?? folderOf(path);
}

/** The time used for grouping and for Camtrap DP: DateTimeOriginal, else the camera's other clocks. */
export function captureTimeOf(metadata: ImageMetadata): Date | undefined {
  return (metadata.dateTimeOriginal ?? metadata.cameraTrap?.captureTime ?? metadata.dateTimeDigitized ?? metadata.dateTime)?.wallClock;
}

export async function groupEvents(
  images: AsyncIterable<ImageResult> | Iterable<ImageResult>,
  run: RunInfo,
  options: EventOptions = {},
): Promise<EventGrouping> {
  const gapMs = (options.gapSeconds ?? DEFAULT_EVENT_GAP_SECONDS) * 1000;
  const framesByCamera = new Map<string, Frame[]>();
  const cameras = new Map<string, CameraSummary>();
  // One copy of each species label however many boxes carry it (a label is ~80 characters).
  const labels = new Map<string, string>();
  const intern = (label: string): string => labels.get(label) ?? (labels.set(label, label), label);
  for await (const image of images) {
    if (image.status !== "ok") continue;
    const { metadata } = image;
    const camera = cameraOf(image.path, metadata);
    const time = captureTimeOf(metadata)?.getTime();
    const drawn = new Set(drawnCategories(image, run));
    const counts: Record<string, number> = {};
    const confidenceBy: Record<string, number> = {};
    for (const { category, conf } of image.detections) {
      if (!drawn.has(category)) continue;
      counts[category] = (counts[category] ?? 0) + 1;
      confidenceBy[category] = Math.max(confidenceBy[category] ?? 0, conf);
    }
    const frames = framesByCamera.get(camera) ?? [];
    framesByCamera.set(camera, frames);
    frames.push({
      path: image.path,
      time,
      eventNumber: metadata.cameraTrap?.eventNumber,
      sequence: metadata.cameraTrap?.sequence,
      maxConfidence: image.detections.reduce((max, d) => Math.max(max, d.conf), 0),
      counts,
      confidenceBy,
      speciesBoxes: {
        detections: image.detections
          .filter((d) => d.species !== undefined && isDrawn(d, run))
          .map((d): Detection => ({ category: d.category, conf: d.conf, bbox: [0, 0, 0, 0], species: { ...d.species!, label: intern(d.species!.label) } })),
      },
    });
    summarise(cameras, camera, image, time);
  }

  const events: CameraEvent[] = [];
  const eventByPath = new Map<string, string>();
  const framesOf = new Map<CameraEvent, Frame[]>();
  for (const camera of [...framesByCamera.keys()].sort()) {
    const frames = framesByCamera.get(camera)!.sort(byTimeThenPath);
    let current: { event: CameraEvent; last: Frame } | undefined;
    for (const frame of frames) {
      if (!current || !sameEvent(current.last, frame, gapMs)) {
        const event: CameraEvent = { id: eventId(events.length + 1), camera, imageCount: 0, maxConfidence: 0, maxCounts: {}, maxConfidenceBy: {}, category: "" };
        if (frame.time !== undefined) event.start = new Date(frame.time);
        events.push(event);
        framesOf.set(event, []);
        current = { event, last: frame };
      }
      framesOf.get(current.event)!.push(frame);
      const { event } = current;
      event.imageCount += 1;
      if (frame.time !== undefined) event.end = new Date(frame.time);
      event.maxConfidence = Math.max(event.maxConfidence, frame.maxConfidence);
      for (const [id, n] of Object.entries(frame.counts)) event.maxCounts[id] = Math.max(event.maxCounts[id] ?? 0, n);
      for (const [id, conf] of Object.entries(frame.confidenceBy)) event.maxConfidenceBy[id] = Math.max(event.maxConfidenceBy[id] ?? 0, conf);
      current.last = frame;
      eventByPath.set(frame.path, event.id);
    }
  }
  for (const event of events) {
    event.category = categoryLabel(Object.keys(event.maxCounts), run);
    if (run.classifier) event.species = settleEventSpecies(framesOf.get(event)!.map((frame) => frame.speciesBoxes));
  }
  return {
    events,
    cameras: [...cameras.values()].sort((a, b) => (a.camera < b.camera ? -1 : a.camera > b.camera ? 1 : 0)),
    eventOf: (path) => eventByPath.get(path),
  };
}

/** The same results with each image's event named. */
export async function* withEvents(images: AsyncIterable<ImageResult> | Iterable<ImageResult>, grouping: EventGrouping): AsyncGenerator<ImageResult> {
  for await (const image of images) {
    const event = grouping.eventOf(image.path);
    yield event === undefined ? image : { ...image, event };
  }
}

function sameEvent(previous: Frame, frame: Frame, gapMs: number): boolean {
  // An image with no date cannot be placed in time: it is an event of its own.
  if (previous.time === undefined || frame.time === undefined) return false;
  const apart = frame.time - previous.time;
  // A triggered burst (count > 0; time-lapse frames are 0 of 0) the camera numbered itself.
  const burst = (f: Frame) => f.sequence !== undefined && f.sequence.count > 0;
  if (burst(previous) && burst(frame)) {
    if (previous.eventNumber !== undefined && frame.eventNumber !== undefined) {
      return previous.eventNumber === frame.eventNumber && apart <= MAKER_EVENT_MAX_SPAN_MS;
    }
    return frame.sequence!.index === previous.sequence!.index + 1 && frame.sequence!.count === previous.sequence!.count && apart <= MAKER_EVENT_MAX_SPAN_MS;
  }
  return apart <= gapMs;
}

function byTimeThenPath(a: Frame, b: Frame): number {
  const ta = a.time ?? Number.POSITIVE_INFINITY;
  const tb = b.time ?? Number.POSITIVE_INFINITY;
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function eventId(n: number): string {
  return `E${String(n).padStart(5, "0")}`;
}

function summarise(cameras: Map<string, CameraSummary>, camera: string, image: ImageResult, time: number | undefined): void {
  const { metadata } = image;
  let summary = cameras.get(camera);
  if (!summary) {
    summary = { camera, folder: folderOf(image.path), imageCount: 0, triggerModes: new Set() };
    cameras.set(camera, summary);
  }
  summary.imageCount += 1;
  summary.serialNumber ??= metadata.serialNumber;
  summary.make ??= metadata.make;
  summary.model ??= metadata.model;
  if (summary.latitude === undefined && metadata.latitude !== undefined && metadata.longitude !== undefined) {
    summary.latitude = metadata.latitude;
    summary.longitude = metadata.longitude;
  }
  if (metadata.cameraTrap?.triggerMode) summary.triggerModes.add(metadata.cameraTrap.triggerMode);
  if (time !== undefined) {
    if (summary.start === undefined || time < summary.start.getTime()) summary.start = new Date(time);
    if (summary.end === undefined || time > summary.end.getTime()) summary.end = new Date(time);
  }
}
