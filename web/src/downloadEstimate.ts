// How big the results zip will be for each `images` choice (core/jobs.ts), from the upload's size,
// so people choose knowing what they will download. Rough on purpose: the page says "about".
import type { ImagesChoice } from "../../core/jobs.ts";

/**
 * Share of camera-trap photos with an animal, person or vehicle at the render threshold. Most
 * triggers are wind, sun or grass: published trap data runs from about half to over 80 % empty.
 * A quarter is our working figure; the page says so in words.
 */
export const DETECTION_SHARE = 0.25;
/** A typical trap photo (12 MP JPEG), for counting photos in zips and folders from their bytes. */
export const TYPICAL_PHOTO_BYTES = 3_000_000;
/** results.xlsx, detections.json and Camtrap DP rows of one photo, all together. */
export const REPORT_BYTES_PER_PHOTO = 1_000;
/** The reports of even a handful of photos (workbook skeleton, README.txt, package metadata). */
const MIN_REPORT_BYTES = 100_000;

/**
 * Expected download for `uploadBytes` uploaded: `all` carries every photo (boxed copies are
 * re-encoded at about their own quality, so about the upload's size), `detections` the share
 * above, `none` only the reports.
 */
export function estimateDownloadBytes(choice: ImagesChoice, uploadBytes: number): number {
  const reports = Math.max(MIN_REPORT_BYTES, (uploadBytes / TYPICAL_PHOTO_BYTES) * REPORT_BYTES_PER_PHOTO);
  if (choice === "none") return reports;
  return (choice === "all" ? uploadBytes : uploadBytes * DETECTION_SHARE) + reports;
}
