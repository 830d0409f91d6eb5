// YOLOv5's letterbox geometry, as MegaDetector's PyTorch detector applies it, and the
// inverse mapping (YOLOv5 scale_coords) from network-input pixels back to the image.
// Kept pure so the arithmetic can be tested to the pixel without decoding anything.

/** How the network wants its input: a fixed square, or any size padded to a stride multiple. */
export interface InputSpec {
  /** Long side of the network input (MD v5: 1280). */
  size: number;
  /** Pad only up to a multiple of this when the model takes any height/width. */
  stride: number;
  /** True when the model's input is a fixed size x size square. */
  fixedSquare: boolean;
}

export interface LetterboxGeometry {
  /** Image as displayed (after EXIF orientation). */
  sourceWidth: number;
  sourceHeight: number;
  /** Size the image is resized to before padding. */
  resizedWidth: number;
  resizedHeight: number;
  padTop: number;
  padBottom: number;
  padLeft: number;
  padRight: number;
  /** Network input size: resized plus padding. */
  inputWidth: number;
  inputHeight: number;
}

/** Python 3's round(): halves go to the even neighbour (YOLOv5 relies on it). */
export function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function positiveModulo(value: number, divisor: number): number {
  return ((value % divisor) + divisor) % divisor;
}

/**
 * YOLOv5 utils/augmentations.py letterbox(im, new_shape=size, stride, auto, scaleup=True):
 * scale so the long side becomes `size` (small images are scaled up too), round the resized
 * size, then pad, split in half with the -0.1/+0.1 rounding so odd padding goes bottom/right.
 */
export function letterboxGeometry(sourceWidth: number, sourceHeight: number, spec: InputSpec): LetterboxGeometry {
  if (!(sourceWidth > 0 && sourceHeight > 0)) throw new RangeError(`image size ${sourceWidth}x${sourceHeight} is empty`);
  const ratio = Math.min(spec.size / sourceHeight, spec.size / sourceWidth);
  const resizedWidth = Math.max(1, roundHalfEven(sourceWidth * ratio));
  const resizedHeight = Math.max(1, roundHalfEven(sourceHeight * ratio));
  let padWidth = spec.size - resizedWidth;
  let padHeight = spec.size - resizedHeight;
  if (!spec.fixedSquare) {
    padWidth = positiveModulo(padWidth, spec.stride);
    padHeight = positiveModulo(padHeight, spec.stride);
  }
  const halfWidth = padWidth / 2;
  const halfHeight = padHeight / 2;
  const padTop = roundHalfEven(halfHeight - 0.1);
  const padBottom = roundHalfEven(halfHeight + 0.1);
  const padLeft = roundHalfEven(halfWidth - 0.1);
  const padRight = roundHalfEven(halfWidth + 0.1);
  return {
    sourceWidth,
    sourceHeight,
    resizedWidth,
    resizedHeight,
    padTop,
    padBottom,
    padLeft,
    padRight,
    inputWidth: resizedWidth + padLeft + padRight,
    inputHeight: resizedHeight + padTop + padBottom,
  };
}

/** A box in pixels as [x1, y1, x2, y2]. */
export type PixelBox = [number, number, number, number];

/**
 * YOLOv5 scale_coords (what MD calls before .round()): undo the padding and the scale, then
 * clip to the image. Like YOLOv5 it recomputes gain and padding from the two shapes, so the
 * padding it removes is the exact half, not the rounded integers letterbox added.
 */
export function mapBoxToSource(box: PixelBox, geometry: LetterboxGeometry): PixelBox {
  const { sourceWidth, sourceHeight, inputWidth, inputHeight } = geometry;
  const gain = Math.min(inputHeight / sourceHeight, inputWidth / sourceWidth);
  const padX = (inputWidth - sourceWidth * gain) / 2;
  const padY = (inputHeight - sourceHeight * gain) / 2;
  const clip = (value: number, max: number) => Math.min(Math.max(value, 0), max);
  return [
    clip((box[0] - padX) / gain, sourceWidth),
    clip((box[1] - padY) / gain, sourceHeight),
    clip((box[2] - padX) / gain, sourceWidth),
    clip((box[3] - padY) / gain, sourceHeight),
  ];
}
