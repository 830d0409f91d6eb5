// The shapes that flow through the pipeline. Every stage (inputs, detector, metadata,
// rendering, outputs) speaks these, so a stage can be read and tested on its own.

/** One detection as MegaDetector's batch format writes it. */
export interface Detection {
  /** MD category id: class index + 1, as a string ("1" animal, "2" person, "3" vehicle). */
  category: string;
  /** Confidence, truncated to CONF_DIGITS. */
  conf: number;
  /** [x_min, y_min, width, height], normalised to the image as displayed, truncated to COORD_DIGITS. */
  bbox: [number, number, number, number];
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
}
