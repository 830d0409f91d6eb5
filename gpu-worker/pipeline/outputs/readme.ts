// README.txt for the results zip: what each file is, what the columns and the two thresholds
// mean, and how to open detections.json elsewhere. Plain text, wrapped for any editor.

import { DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD, DEFAULT_RENDER_THRESHOLD } from "../detector/constants.ts";
import { ENSEMBLE_THRESHOLDS } from "../classifier/constants.ts";
import type { PackageSummary } from "./camtrapDp/writePackage.ts";
import { DEFAULT_UTC_OFFSET } from "./camtrapDp/timestamps.ts";
import type { RunInfo } from "../types.ts";
import { mdTimestamp } from "./detectionsJson.ts";
import { categoryIds } from "../categories.ts";
import type { ResultTotals } from "./resultTotals.ts";
import type { ImagesChoice } from "../../../core/jobs.ts";
import { CAMTRAP_DP_FOLDER, DETECTIONS_JSON, RESULTS_README, RESULTS_WORKBOOK, SORTED_FOLDER, type PathRoot } from "../zipLayout.ts";

/** Lines are wrapped to this width. */
export const README_WIDTH = 90;

/** Box colours as render.ts draws them (MD's DEFAULT_COLORS indexed by category id). */
const BOX_COLOURS: Readonly<Record<string, string>> = { "1": "red", "2": "blue", "3": "gold" };

type Block = string | { term: string; text: string };

/** What else the zip holds, when the pipeline wrote it. */
export interface ReadmeExtras {
  /** What the photos' paths start from, when the caller knows (InputPlan.root). */
  pathRoot?: PathRoot;
  sortedView?: boolean;
  /** Which photos the zip carries (default: every photo, as a run without the option wrote). */
  images?: ImagesChoice;
  camtrapDp?: PackageSummary & { folder: string; utcOffset?: string };
}

export function resultsReadme(run: RunInfo, totals: ResultTotals, extras: ReadmeExtras = {}): string {
  const ids = categoryIds(run);
  const name = (id: string) => run.categories[id] ?? `category ${id}`;
  const names = ids.map(name);
  const seconds = Math.round((run.completedAt.getTime() - run.startedAt.getTime()) / 1000);
  const output = run.outputThreshold;
  const render = run.renderThreshold;

  const sections: Array<[string, Block[]]> = [
    [
      "TRAPLINE RESULTS",
      [
        `Model ${run.detector}${run.modelId ? ` (${run.modelId})` : ""}, run on ${run.provider}, from ` +
          `${mdTimestamp(run.startedAt)} to ${mdTimestamp(run.completedAt)} UTC (${seconds} seconds).`,
        `${plural(totals.images, "image")}: ${totals.ok} processed, ${totals.failed} could not be read. ` +
          ids.map((id) => `${totals.imagesWith[id] ?? 0} with ${name(id)}`).join(", ") +
          `, ${totals.empty} empty (at the render threshold of ${render}).`,
        speciesBlock(run),
      ],
    ],
    [
      "WHAT IS IN THIS ZIP",
      [
        ...photosBlock(extras.images ?? "all", run.privacy?.dropGps === true),
        { term: RESULTS_WORKBOOK, text: "A spreadsheet with one row per photo and one per detection (below)." },
        {
          term: DETECTIONS_JSON,
          text:
            "Every detection in MegaDetector's batch output format (version 1.6), for Timelapse, AddaxAI " +
            "and MegaDetector's own tools.",
        },
        ...zipExtras(extras),
        { term: RESULTS_README, text: "This file." },
      ],
    ],
    ...privacySection(run),
    ["PATHS", [pathsStart(extras.pathRoot), PATHS_ARE_SHARED]],
    ...camtrapSection(extras, run),
    [
      "THE TWO THRESHOLDS",
      [
        "The model gives every box it finds a confidence between 0 and 1. Two cut-offs were used:",
        {
          term: `output ${output}`,
          text:
            `Boxes with a confidence above ${output} are kept in detections.json and on the Detections ` +
            `sheet. ${output === DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD ? "This is MegaDetector's own default, " : "This is "}` +
            "deliberately low, so that review tools can let you choose your own cut-off later. Most " +
            "boxes near it are rocks, shadows and grass.",
        },
        {
          term: `render ${render}`,
          text:
            `Boxes with a confidence of ${render} or more are drawn on the photos and counted in the ` +
            `count columns, the "with" totals and "empty". ` +
            (render === DEFAULT_RENDER_THRESHOLD ? `${render} is MegaDetector v5's recommended default. ` : "") +
            "A lower threshold misses fewer animals but shows more false alarms; a higher one the " +
            "reverse. Look through a sample of your own photos before relying on any threshold.",
        },
      ],
    ],
    [
      "BOXES",
      [
        ids.map((id) => `${name(id)} ${BOX_COLOURS[id] ?? "in another colour"}`).join(", ") +
          ". Each label gives the category and the confidence.",
      ],
    ],
    [
      "DATES AND TIMES",
      [
        "Dates and times are exactly as the camera recorded them. Camera clocks carry no time zone, so " +
          "nothing has been converted: if a camera's clock was wrong, or not changed for daylight " +
          "saving, these times are too. Only the start and end of processing (above and on the Summary " +
          "sheet) are in UTC.",
      ],
    ],
    [
      "RESULTS.XLSX",
      [
        "Images sheet, one row per photo:",
        { term: "path, folder", text: "Where the photo is in your upload." },
        {
          term: "status, problem",
          text: 'ok, or failed with the reason; "problem" also notes files that were read only in part.',
        },
        {
          term: "<category> count",
          text: `Detections of ${names.join(", ")} at or above the render threshold; "total count" adds them up.`,
        },
        { term: "max confidence", text: "The highest confidence of any box in the photo (0 when there is none)." },
        {
          term: "DateTimeOriginal",
          text: "When the photo was taken (EXIF); DateTimeDigitized and DateTime are the camera's other clocks.",
        },
        { term: "event", text: "The event (burst) the photo belongs to; see the Events sheet." },
        { term: "make, model, serial", text: "The camera, as it names itself." },
        {
          term: "trigger ... label",
          text:
            "Camera-trap fields from the maker note of cameras whose format is published (Reconyx HyperFire, " +
            'HyperFire 2, UltraFire): what fired the camera, the position in its burst ("2 of 3"), its event ' +
            "counter, temperature in degrees Celsius, moon phase, battery voltage and the label typed into the camera. When " +
            "standard EXIF has no DateTimeOriginal or serial, the maker note's are used.",
        },
        {
          term: "latitude, longitude",
          text: 'Decimal degrees, south and west negative; "map" opens the spot in OpenStreetMap.',
        },
        { term: "altitude (m)", text: "Metres above sea level, when the camera recorded it." },
        { term: "width, height", text: "Pixels, as the photo is displayed (after rotation)." },
        { term: "file size, format", text: "Bytes, and the image format found in the file." },
        "Detections sheet, one row per box above the output threshold:",
        { term: "category", text: `${names.join(", ")}.` },
        { term: "confidence", text: "From 0 to 1." },
        {
          term: "x_min ... height",
          text: "The box as fractions of the photo's width and height, measured from the top-left corner.",
        },
        { term: "left ... bottom", text: "The same box in pixels." },
        { term: "drawn", text: "TRUE when the box is at or above the render threshold." },
        "Events sheet, one row per event: the photos one camera took in one burst. Photos are grouped per " +
          "camera (its serial number, else its folder): by the camera's own burst numbering where its maker " +
          "note has one, else photos less than the event gap apart (60 seconds unless chosen otherwise) join " +
          "one event. Each row gives the camera, first and last time, number of photos, highest confidence " +
          'and the categories seen at the render threshold ("empty" for none).',
        "Summary sheet: the totals above, per folder, and the model and thresholds used. Very long " +
          'lists continue on sheets named "Images 2", "Detections 2" and so on.',
      ],
    ],
    [
      "OPENING DETECTIONS.JSON",
      [
        `Paths in detections.json start from ${topFolder(extras.pathRoot)}. Keep the photos (the ` +
          "originals or these copies) in the same folders below it.",
        {
          term: "Timelapse",
          text:
            "Create or open your Timelapse template in that folder, then import detections.json as " +
            "recognition data (see the Image Recognition guide on the Timelapse website). Timelapse " +
            `offers ${render} as the starting threshold.`,
        },
        {
          term: "AddaxAI",
          text:
            "Copy detections.json into that folder and rename it image_recognition_file.json; " +
            "AddaxAI's post-processing then reads it as if AddaxAI had made it.",
        },
      ],
    ],
  ];

  return sections.map(([title, blocks]) => `${title}\n\n${formatBlocks(blocks)}`).join("\n\n\n") + "\n";
}

/** What the paths start from, in the words of someone who chose the inputs. */
function pathsStart(root: PathRoot | undefined): string {
  switch (root?.kind) {
    case "folder":
      return `Paths are relative to the folder you chose, ${JSON.stringify(root.name)}: its own name is not part of them.`;
    case "zip":
      return `Paths are those inside the zip you chose, ${JSON.stringify(root.name)}.`;
    case "file":
      return `The photo you chose keeps its own name, ${JSON.stringify(root.name)}.`;
    case "several":
      return (
        `You chose ${root.count} folders, photos or zips: each path starts with the name of the one it ` +
        'came from (a zip\'s name without ".zip"; a second one with the same name gets " (2)").'
      );
    default:
      return (
        "Paths are relative to what you chose: inside the folder or zip when you chose one, starting " +
        "with each one's own name when you chose several."
      );
  }
}

const PATHS_ARE_SHARED =
  `The same paths are used in this zip, ${RESULTS_WORKBOOK}, ${DETECTIONS_JSON} and ${CAMTRAP_DP_FOLDER}/, as ` +
  "MegaDetector (with --output_relative_filenames), AddaxAI and Timelapse expect them. A photo whose " +
  `path would be one of this zip's own names (${RESULTS_README}, ${RESULTS_WORKBOOK}, ${DETECTIONS_JSON}, ` +
  `${CAMTRAP_DP_FOLDER}/, ${SORTED_FOLDER}/) or another photo's path (names that differ only in upper and ` +
  'lower case count as the same) gets " (2)" added, as in "README (2).txt".';

/** The folder detections.json's paths start from, once the results are beside the photos. */
function topFolder(root: PathRoot | undefined): string {
  switch (root?.kind) {
    case "folder":
      return `the folder you chose (${JSON.stringify(root.name)})`;
    case "zip":
      return `the folder you unzip ${JSON.stringify(root.name)} into`;
    case "file":
      return "the folder that holds the photo";
    case "several":
      return "the folder that holds what you chose (each zip unzipped into a folder of its own name)";
    default:
      return "the folder described under PATHS above";
  }
}

/** What the zip says about the photos, by the job's images choice (core/jobs.ts). */
function photosBlock(images: ImagesChoice, gpsDropped: boolean): Block[] {
  if (images === "none") {
    return [
      {
        term: "no photos",
        text:
          "This zip holds the reports only, as was chosen when the job was started: your photos are where " +
          "you keep them, and the paths below point to them.",
      },
    ];
  }
  if (images === "detections") {
    return [
      {
        term: "your folders",
        text:
          "A copy of each photo with a detection at or above the render threshold, with boxes and labels drawn " +
          "on it, at its path (see PATHS below). Photos without such a detection are left out, as was chosen " +
          "when the job was started (you have the originals, and sending them back would double the download); " +
          "every photo still has its row in the reports.",
      },
    ];
  }
  return [
    {
      term: "your folders",
      text:
        "Every photo, at its path (see PATHS below). Photos with a detection at or above the " +
        "render threshold have boxes and labels drawn on them; all others are the very files you " +
        (gpsDropped ? "uploaded, byte for byte but for their GPS position, which was removed (see PRIVACY)." : "uploaded, byte for byte."),
    },
  ];
}

/** What was done to the photos for privacy, when the job asked (core/jobs.ts PrivacyOptions). */
function privacySection(run: RunInfo): Array<[string, Block[]]> {
  const { blurPeople, dropGps } = run.privacy ?? {};
  if (!blurPeople && !dropGps) return [];
  const blocks: Block[] = [];
  if (blurPeople) {
    blocks.push({
      term: "people blurred",
      text:
        `Every box of a person at or above the render threshold (${run.renderThreshold}) is blurred in the photos with ` +
        "boxes, in the previews and in report.html, as was chosen when the job was started. A person the model missed " +
        "or scored below the threshold is not blurred: look through the photos before sharing them.",
    });
  }
  if (dropGps) {
    blocks.push({
      term: "GPS removed",
      text:
        "The photos in this zip carry no GPS position (the rest of their EXIF, such as dates and camera, is kept), " +
        "as was chosen when the job was started; previews never carry any. The reports still give each photo's " +
        "position, so the cameras can be mapped: remove the latitude and longitude columns before sharing them.",
    });
  }
  return [["PRIVACY", blocks]];
}

function zipExtras(extras: ReadmeExtras): Block[] {
  const blocks: Block[] = [];
  if (extras.sortedView) {
    blocks.push({
      term: `${SORTED_FOLDER}/`,
      text:
        "A second copy of every photo this zip carries, by what it shows at the render threshold: animal, person, " +
        "vehicle, empty, or combinations such as animal+person, each keeping its own path below. Where species were " +
        "classified, animals sit one level deeper, under their species (animal/leopard/…, animal/impala+leopard/…).",
    });
  }
  if (extras.camtrapDp) {
    blocks.push({ term: `${extras.camtrapDp.folder}/`, text: "The detections as a Camera Trap Data Package (Camtrap DP 1.0.2); see below." });
  }
  return blocks;
}

function camtrapSection(extras: ReadmeExtras, run: RunInfo): Array<[string, Block[]]> {
  const camtrap = extras.camtrapDp;
  if (!camtrap) return [];
  const offset = camtrap.utcOffset ?? DEFAULT_UTC_OFFSET;
  const blocks: Block[] = [
    "Camtrap DP is the TDWG standard for camera-trap data that GBIF, Agouti and camtraptor read. " +
      "deployments.csv has one row per camera, media.csv one per photo with a capture time, and " +
      "observations.csv the detector's machine observations: one per box at the render threshold " +
      '(animal, human or vehicle; "blank" when there is none) and one per event and category. ' +
      (run.classifier
        ? "Animal boxes carry the species the classifier named (scientificName, with its score as classificationProbability), " +
          "and each event lists its species settled across its frames, counted as the most seen in one photo (MaxN)."
        : "No species are named: the detector only finds animals."),
    `Times are the cameras' clock times written with the UTC offset ${offset}` +
      (camtrap.utcOffset ? " given when processing." : ", because camera clocks carry no zone: if your cameras ran on another zone, process again with that offset (trapline --utc-offset) or correct it before publishing.") +
      " File paths are relative to the top of this zip.",
    "Text that starts with =, +, - or @ (a folder or camera name, say) is written behind an apostrophe, so a " +
      "spreadsheet opening the CSVs shows it as text instead of running it as a formula; file paths are kept exact.",
    "Before publishing, edit datapackage.json: the project title, sampling design and contributors are placeholders.",
  ];
  if (camtrap.withoutTime > 0) blocks.push(`${plural(camtrap.withoutTime, "processed photo")} had no capture time and are not in the package.`);
  if (camtrap.unnameable > 0) {
    blocks.push(`Not in the package: ${plural(camtrap.unnameable, "processed photo")} whose path Camtrap DP cannot name (it starts with "." or "~", or holds "..").`);
  }
  if (camtrap.withoutCoordinates.length > 0) {
    blocks.push(
      `These cameras' photos carry no GPS, so their deployments have no coordinates, which Camtrap DP requires: ${camtrap.withoutCoordinates.join(", ")}. ` +
        "Add latitude and longitude to deployments.csv (or process again with trapline --location).",
    );
  }
  return [["CAMTRAP DP", blocks]];
}

/** Paragraphs apart; the terms of one list on consecutive lines. */
/** Which species classifier ran, on what, with which geofence; or why none did. */
function speciesBlock(run: RunInfo): string {
  const classifier = run.classifier;
  if (!classifier) {
    return `Species were not classified: ${run.classifierAbsent ?? "no species classifier was given"}. Every animal box says "animal" only.`;
  }
  const where = classifier.country
    ? `the geofence placed every photo in ${[classifier.country, classifier.admin1Region].filter(Boolean).join("-")} (the job's country)`
    : "the geofence placed each photo by its GPS position, and photos without one were not geofenced";
  return (
    `Species: classifier ${classifier.model}${classifier.modelId ? ` (${classifier.modelId})` : ""} on ${classifier.provider}, ` +
    `${classifier.labels.length} labels, named each animal box at or above confidence ${classifier.threshold} with SpeciesNet's ` +
    `ensemble (its rules, roll-up to the first taxon above ${ENSEMBLE_THRESHOLDS.rollUp}, and ${classifier.geofence ? "its geofence" : "no geofence file"}); ${where}. ` +
    `Boxes under ${classifier.minCropSide} px a side were not classified and say why.`
  );
}

function formatBlocks(blocks: Block[]): string {
  let text = "";
  blocks.forEach((block, i) => {
    const previous = blocks[i - 1];
    if (previous !== undefined) text += typeof block !== "string" && typeof previous !== "string" ? "\n" : "\n\n";
    text += formatBlock(block);
  });
  return text;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

const TERM_WIDTH = 24;

function formatBlock(block: Block): string {
  if (typeof block === "string") return wrap(block, README_WIDTH).join("\n");
  const indent = " ".repeat(TERM_WIDTH);
  const lines = wrap(block.text, README_WIDTH - TERM_WIDTH);
  const head = `  ${block.term}`;
  const first = head.length < TERM_WIDTH ? head.padEnd(TERM_WIDTH) + (lines.shift() ?? "") : head;
  return [first, ...lines.map((line) => indent + line)].join("\n");
}

/** Greedy word wrap; a word longer than the width stays whole on its own line. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}
