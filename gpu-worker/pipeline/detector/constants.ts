// Every number that shapes detections lives here, with where it comes from.
// "MD" is MegaDetector (agentmorris/MegaDetector); "YOLOv5" is ultralytics/yolov5, whose
// utilities MegaDetector v5 uses for letterboxing and NMS.

/** MD run_detector.py DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD: everything above goes into detections.json. */
export const DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD = 0.005;

/** MD v5 typical_detection_threshold: boxes drawn and counted above this (v5a and v5b). */
export const DEFAULT_RENDER_THRESHOLD = 0.2;

/** MD ct_utils / run_detector.py CONF_DIGITS: confidences truncated (not rounded) to 3 decimals. */
export const CONF_DIGITS = 3;

/** MD run_detector.py COORD_DIGITS: normalised box coordinates truncated to 4 decimals. */
export const COORD_DIGITS = 4;

/** YOLOv5 non_max_suppression iou_thres default, which MD's PyTorch detector keeps. */
export const NMS_IOU_THRESHOLD = 0.45;

/** YOLOv5 non_max_suppression max_det: at most this many boxes per image. */
export const MAX_DETECTIONS_PER_IMAGE = 300;

/** YOLOv5 non_max_suppression max_nms: candidates kept (by confidence) before NMS. */
export const MAX_BOXES_INTO_NMS = 30_000;

/** YOLOv5 letterbox() default colour: grey 114 on every channel. */
export const LETTERBOX_PAD_VALUE = 114;

/** MD v5 image_size: the long side of the network input. */
export const MD_V5_INPUT_SIZE = 1280;

/** MD v5 models are YOLOv5 P6 models: stride 64 (32 for P5 models such as YOLOv8/9/11 exports). */
export const MD_V5_STRIDE = 64;
export const P5_STRIDE = 32;

/** MD detection_categories: class index i of the model is category String(i + 1). */
export const MEGADETECTOR_CATEGORIES: Readonly<Record<string, string>> = {
  "1": "animal",
  "2": "person",
  "3": "vehicle",
};
