// The reports of a run, from its results sorted by path: results.xlsx, detections.json, the
// Camtrap DP package and README.txt, added to the results zip after the photos. Reads results
// from a spool (disk), one at a time, so memory does not grow with the job.
import { PassThrough } from "node:stream";
import type { ImagesChoice } from "../../../core/jobs.ts";
import { groupEvents, withEvents } from "../events/events.ts";
import { writeCamtrapPackage, type CamtrapOptions, type PackageSummary } from "../outputs/camtrapDp/writePackage.ts";
import { writeDetectionsJson } from "../outputs/detectionsJson.ts";
import { resultsReadme } from "../outputs/readme.ts";
import type { ResultsZip } from "../outputs/resultsZip.ts";
import type { ResultTotals } from "../outputs/resultTotals.ts";
import { writeWorkbook } from "../outputs/workbook.ts";
import type { RunInfo } from "../types.ts";
import { CAMTRAP_DP_FOLDER, DETECTIONS_JSON, RESULTS_README, RESULTS_WORKBOOK, type PathRoot } from "../zipLayout.ts";
import type { ResultSpool } from "./resultSpool.ts";

export interface ReportOptions {
  /** Seconds between images of one event when the camera does not number its bursts (default 60). */
  eventGapSeconds?: number;
  /** Camtrap DP export settings: the cameras' UTC offset, coordinates for cameras without GPS. */
  camtrapDp?: CamtrapOptions;
  /** What the inputs' paths start from (InputPlan.root), for README.txt. */
  pathRoot?: PathRoot;
  /** The sorted/<category>/ copies are in the zip. */
  sortedView?: boolean;
  /** Which photos the zip carries, for README.txt. */
  images: ImagesChoice;
  /** Parent of any temporary folder the reports need (default: the system's temp folder). */
  scratchDir?: string;
}

export async function writeReports(zip: ResultsZip, spool: ResultSpool, run: RunInfo, options: ReportOptions): Promise<ResultTotals> {
  const grouping = await groupEvents(spool.sorted(), run, options.eventGapSeconds !== undefined ? { gapSeconds: options.eventGapSeconds } : {});
  // Straight into the zip (exceljs streams its own zip into the entry; no temp copy), its
  // Detections sheet from a second read of the spool rather than a spool of its own.
  const xlsx = new PassThrough();
  const workbook = writeWorkbook(withEvents(spool.sorted(), grouping), run, xlsx, {
    events: grouping.events,
    ...(options.scratchDir !== undefined ? { scratchDir: options.scratchDir } : {}),
    rereadImages: () => spool.sorted(),
  });
  workbook.catch((error: unknown) => xlsx.destroy(error instanceof Error ? error : new Error(String(error))));
  // An xlsx is a zip already: stored, not deflated a second time.
  const [, totals] = await Promise.all([zip.addStream(RESULTS_WORKBOOK, xlsx, { store: true }), workbook]);
  const json = new PassThrough();
  const written = writeDetectionsJson(
    (async function* () {
      for await (const image of spool.sorted()) if (!image.rejected) yield image;
    })(),
    run,
    json,
  );
  await Promise.all([zip.addStream(DETECTIONS_JSON, json), written]);
  const folder = CAMTRAP_DP_FOLDER;
  const camtrap: PackageSummary = await writeCamtrapPackage(
    (name, data) => (Buffer.isBuffer(data) ? zip.addBuffer(`${folder}/${name}`, data) : zip.addStream(`${folder}/${name}`, data)),
    () => withEvents(spool.sorted(), grouping),
    grouping,
    run,
    options.camtrapDp,
  );
  await zip.addBuffer(
    RESULTS_README,
    Buffer.from(
      resultsReadme(run, totals, {
        sortedView: options.sortedView === true,
        images: options.images,
        ...(options.pathRoot ? { pathRoot: options.pathRoot } : {}),
        camtrapDp: { folder, ...camtrap, ...(options.camtrapDp?.utcOffset ? { utcOffset: options.camtrapDp.utcOffset } : {}) },
      }),
    ),
  );
  return totals;
}
