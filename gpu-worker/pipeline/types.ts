// The shapes that flow through the pipeline. Every stage (inputs, detector, metadata,
// rendering, outputs) speaks these, so a stage can be read and tested on its own.

import type { PrivacyOptions } from "../../core/jobs.ts";

/** One detection as MegaDetector's batch format writes it. */
export interface Detection {
  /** MD category id: class index + 1, as a string ("1" animal, "2" person, "3" vehicle). */
  category: string;
  /** Confidence, truncated to CONF_DIGITS. */
  conf: number;
  /** [x_min, y_min, width, height], normalised to the image as displayed, truncated to COORD_DIGITS. */
  bbox: [number, number, number, number];
  /**
   * The species classifier's top classes for this box's crop (at most 5, most likely first):
   * [label index as a string, score], as MD's batch format writes "classifications". The index
   * is into RunInfo.classifier.labels. Set only on boxes the classifier ran on.
   */
  classifications?: [string, number][];
  /** SpeciesNet's ensemble result for this box, when it was classified. */
  species?: SpeciesPrediction;
  /** Why this animal box was not classified (too small, crop impossible, inference failed); it keeps its category. */
  classificationSkipped?: string;
}

/** The label SpeciesNet's ensemble chose for one box, with its score and why it was chosen. */
export interface SpeciesPrediction {
  /** A SpeciesNet label, "uuid;class;order;family;genus;species;common name"; may be a higher taxon than any output class. */
  label: string;
  score: number;
  /** SpeciesNet's prediction_source: "classifier", "detector", "classifier+rollup_to_genus", "classifier+geofence+rollup_to_family"... */
  source: string;
}

/** Where a photo was placed for the species geofence, and why. */
export interface SpeciesLocation {
  /** "option": the job's country; "gps": the photo's GPS position; "none": no country, so no geofence. */
  source: "option" | "gps" | "none";
  /** ISO 3166-1 alpha-3. */
  country?: string;
  /** Two-letter US state code, for the USA only. */
  admin1Region?: string;
}

/** A date and time exactly as the camera wrote it: camera clocks carry no time zone. */
export interface CameraDateTime {
  /** The EXIF text, e.g. "2013:06:14 06:30:12". */
  text: string;
  /**
   * The same wall-clock time in a Date whose UTC fields are the camera's fields
   * (exceljs writes Dates by their UTC value, so a sheet shows exactly what the camera wrote).
   */
  wallClock: Date;
}

export interface ImageMetadata {
  /** Pixel size as displayed, after EXIF orientation. */
  width?: number;
  height?: number;
  /** EXIF orientation 1–8. */
  orientation?: number;
  dateTimeOriginal?: CameraDateTime;
  dateTimeDigitized?: CameraDateTime;
  dateTime?: CameraDateTime;
  make?: string;
  model?: string;
  serialNumber?: string;
  /** Decimal degrees, south and west negative. */
  latitude?: number;
  longitude?: number;
  /** Metres above sea level (negative below). */
  altitude?: number;
  /** What a camera trap wrote in its maker note, when it is one whose format is known. */
  cameraTrap?: CameraTrapInfo;
  /** Why the metadata could not be read, when it could not. */
  error?: string;
}

/** Camera-trap fields from a maker note (see gpu-worker/pipeline/metadata/makerNotes/). */
export interface CameraTrapInfo {
  /** The maker-note format that was read, e.g. "Reconyx HyperFire". */
  format: string;
  captureTime?: CameraDateTime;
  /** Ambient temperature in °C, as the camera measured it. */
  temperatureC?: number;
  /** What fired the camera, e.g. "Motion Detection", "Time Lapse". */
  triggerMode?: string;
  /** Position in the camera's burst: image `index` of `count` (1-based; 0 of 0 on time-lapse frames). */
  sequence?: { index: number; count: number };
  /** The camera's own trigger-event counter: images of one burst share it. */
  eventNumber?: number;
  moonPhase?: string;
  batteryVolts?: number;
  serialNumber?: string;
  /** The label the user typed into the camera (often the site name). */
  userLabel?: string;
}

/** One input image, readable on demand so that memory stays bounded by the batch, not the job. */
export interface ImageSource {
  /** Relative path with forward slashes, unique within the job; also its path in the results zip. */
  path: string;
  /** Size in bytes. */
  size: number;
  read(): Promise<Buffer>;
}

/** An input that is not processed (unsafe zip entry, nested zip, not an image...), with why. */
export interface RejectedInput {
  path: string;
  reason: string;
}

export type InputItem = { kind: "image"; source: ImageSource } | ({ kind: "rejected" } & RejectedInput);

/** Everything the pipeline knows about one image once it has been processed. */
export interface ImageResult {
  path: string;
  status: "ok" | "failed";
  /**
   * Set when the input was never an image to process (unsafe zip entry, not an image file):
   * listed in the workbook with its reason, left out of detections.json.
   */
  rejected?: boolean;
  /** Why the image failed, readable by a person. */
  error?: string;
  /** Problems that did not stop processing (a truncated JPEG decoded as far as it goes). */
  warnings: string[];
  /** Every detection above the output threshold, most confident first. */
  detections: Detection[];
  metadata: ImageMetadata;
  fileSize: number;
  /** Decoded format by content ("jpeg", "png", "tiff", "webp"...). */
  format?: string;
  /** The event (burst) the image belongs to, once events are grouped (gpu-worker/pipeline/events/events.ts). */
  event?: string;
  /** Where the species geofence placed this photo, when species classification ran. */
  speciesLocation?: SpeciesLocation;
  /** Its browsing preview, relative to the zip's root and the job's output prefix ("previews/<hash>.jpg"; outputs/preview.ts). */
  preview?: string;
  /** Why no preview could be made, when one was due. */
  previewError?: string;
  /** An empty photo sampled for the blank check (outputs/preview.ts). */
  blankSample?: true;
}

/** What was run, for detections.json, the workbook's Summary and README.txt. */
export interface RunInfo {
  /** Model file name, e.g. "md_v5a.0.0.onnx" (MD's info.detector). */
  detector: string;
  /** Manifest id, when the model came from the manifest. */
  modelId?: string;
  /** MD category id -> name. */
  categories: Record<string, string>;
  outputThreshold: number;
  renderThreshold: number;
  /** Execution provider that really ran: "cpu" or "cuda". */
  provider: string;
  startedAt: Date;
  completedAt: Date;
  /** The species classifier that ran, when one did (gpu-worker/pipeline/classifier/). */
  classifier?: ClassifierRunInfo;
  /** Why no species classifier ran, when none did and the caller knows why (README.txt says it). */
  classifierAbsent?: string;
  /** People blurred, GPS removed from the photos (core/jobs.ts privacyOf; README.txt says it). */
  privacy?: PrivacyOptions;
}

/** What the reports say about the species classifier. */
export interface ClassifierRunInfo {
  /** Model file name, e.g. "speciesnet-v4.0.2a.onnx". */
  model: string;
  /** Manifest id, when the model came from the manifest. */
  modelId?: string;
  /** One label per output class: Detection.classifications index into this. */
  labels: string[];
  /** Where the labels came from: a file path or "ONNX metadata". */
  labelsSource: string;
  inputWidth: number;
  inputHeight: number;
  inputLayout: "nhwc" | "nchw";
  /** Animal boxes at or above this confidence were classified. */
  threshold: number;
  /** Boxes whose crop is narrower or shorter than this (pixels of the decoded photo) were skipped. */
  minCropSide: number;
  /** The geofence file used, or undefined when none was (then no label was fenced out). */
  geofence?: string;
  /** The taxonomy file roll-ups used, or undefined when it was derived from the labels. */
  taxonomy?: string;
  /** The job's country (and US state), when it gave one; else each photo's GPS decided. */
  country?: string;
  admin1Region?: string;
  /** Execution provider that really ran: "cpu" or "cuda". */
  provider: string;
}
