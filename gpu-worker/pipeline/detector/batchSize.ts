// How many images go into one inference call when nobody says (--batch, BATCH_SIZE): the one
// home of that default. On the CPU a larger batch does not run faster (ONNX Runtime already
// uses every core on one image), so it stays small. On a GPU a batch must be large enough to
// keep the GPU busy and small enough to fit its memory: it is sized from the model's input
// (work per image grows with its pixels) and capped by the GPU's memory where nvidia-smi says.
import { MD_V5_INPUT_SIZE } from "./constants.ts";

/** Images per call on the CPU (the default before GPU sizing; bench: no gain above it). */
export const CPU_DEFAULT_BATCH = 4;

/** Images per call on a GPU for a 1280 px model (MD v5); a 640 px model takes 4 times as many. */
export const GPU_BATCH_AT_1280_PX = 8;

/** Never more images per call than this (BATCH_SIZE's ceiling too, core/config.ts). */
export const MAX_BATCH = 64;

/**
 * GPU memory one image of a batch takes at 1280 px in FP32, scaled by pixel count for other
 * sizes. An estimate, not a measurement (no GPU was at hand): YOLOv5x6's largest activations
 * are 80 channels at 640x640 (131 MB in float32) with several alive at once, plus the 19.7 MB
 * input and 3.3 MB output. Check it with nvidia-smi on the first real run and change it here.
 */
export const GPU_MIB_PER_IMAGE_AT_1280_PX = 600;

/** GPU memory kept out of the batch: weights, CUDA context, cuDNN/TensorRT workspaces (TensorRT's default alone is 1 GiB). */
export const GPU_RESERVED_MIB = 2048;

export interface BatchChoice {
  batch: number;
  /** Why this many, for the log line. */
  reason: string;
}

export interface BatchInputs {
  /** The provider that runs (after any fallback): "cpu", "cuda" or "tensorrt". */
  provider: string;
  /** The long side of the model's input in pixels. */
  inputSize: number;
  /** The GPU's total memory in MiB, when known (nvidia-smi). */
  gpuMemoryMiB?: number | undefined;
}

export const isGpuProvider = (provider: string): boolean => provider === "cuda" || provider === "tensorrt";

export function defaultBatchSize({ provider, inputSize, gpuMemoryMiB }: BatchInputs): BatchChoice {
  if (!isGpuProvider(provider)) return { batch: CPU_DEFAULT_BATCH, reason: "the CPU default" };
  const pixels = (inputSize / MD_V5_INPUT_SIZE) ** 2;
  const bySize = clamp(Math.floor(GPU_BATCH_AT_1280_PX / pixels));
  if (gpuMemoryMiB === undefined) return { batch: bySize, reason: `sized to the ${inputSize} px input; GPU memory unknown` };
  const perImage = GPU_MIB_PER_IMAGE_AT_1280_PX * pixels;
  const byMemory = clamp(Math.floor((gpuMemoryMiB - GPU_RESERVED_MIB) / perImage));
  return byMemory < bySize
    ? { batch: byMemory, reason: `capped by ${gpuMemoryMiB} MiB of GPU memory at about ${Math.round(perImage)} MiB an image` }
    : { batch: bySize, reason: `sized to the ${inputSize} px input; fits ${gpuMemoryMiB} MiB of GPU memory` };
}

const clamp = (batch: number): number => Math.min(MAX_BATCH, Math.max(1, batch));
