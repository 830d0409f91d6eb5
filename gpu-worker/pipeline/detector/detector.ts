// The detector as the pipeline sees it: letterboxed images in, MegaDetector detections out.
// Inference runs on a worker thread (inferenceThread.ts); this side batches, decodes and post-processes.
import { defaultBatchSize, isGpuProvider } from "./batchSize.ts";
import { DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD } from "./constants.ts";
import { queryGpuMemoryMiB } from "./gpuMemory.ts";
import type { ExecutionProvider } from "./inferenceProtocol.ts";
import { InferenceThread } from "./inferenceThread.ts";
import { describeModel, type ModelHints, type ModelInfo } from "./modelInfo.ts";
import { readOnnxMetadataProps } from "./onnxMetadata.ts";
import { decodeCandidates, inferOutputLayout, nonMaxSuppression, toDetections, type OutputLayout } from "./postprocess.ts";
import { writePlanarTensor, type PreprocessedImage } from "./preprocess.ts";
import type { Detection } from "../types.ts";

export interface DetectorOptions {
  modelPath: string;
  provider?: ExecutionProvider;
  /** Images per inference call when the model takes any batch size (default: batchSize.ts's rule). */
  batchSize?: number;
  /** What the manifest (or the user) knows that the model file may not say. */
  hints?: ModelHints;
}

export class Detector {
  private layout: OutputLayout | undefined;

  private readonly thread: InferenceThread;
  readonly info: ModelInfo;
  /** The execution provider that really runs: "cpu", "cuda" or "tensorrt". */
  readonly provider: string;
  /** Why the provider differs from the one asked for, or what limits it, when something does. */
  readonly providerNote: string | undefined;
  readonly maxBatch: number;
  /** Why the batch is this size, when nobody gave one. */
  readonly batchReason: string | undefined;
  /** A batch buffer back from the inference thread, to fill again (detectBatch). */
  private spare: Float32Array | undefined;

  private constructor(thread: InferenceThread, info: ModelInfo, maxBatch: number, batchReason: string | undefined) {
    this.thread = thread;
    this.info = info;
    this.provider = thread.provider;
    this.providerNote = thread.providerNote;
    this.maxBatch = maxBatch;
    this.batchReason = batchReason;
    this.layout = info.layout;
  }

  static async open(options: DetectorOptions): Promise<Detector> {
    const metadataProps = await readOnnxMetadataProps(options.modelPath).catch((error: unknown) => {
      throw new Error(`cannot read model ${options.modelPath}: ${error instanceof Error ? error.message : String(error)}`);
    });
    const thread = await InferenceThread.open(options.modelPath, options.provider ?? "auto");
    let info: ModelInfo;
    try {
      info = describeModel(thread.inputShape, metadataProps, options.hints);
    } catch (error) {
      await thread.close();
      throw error;
    }
    if (!info.dynamicBatch) return new Detector(thread, info, 1, "the model's fixed batch");
    if (options.batchSize !== undefined) return new Detector(thread, info, Math.max(1, options.batchSize), undefined);
    const gpuMemoryMiB = isGpuProvider(thread.provider) ? await queryGpuMemoryMiB() : undefined;
    const { batch, reason } = defaultBatchSize({ provider: thread.provider, inputSize: info.spec.size, gpuMemoryMiB });
    return new Detector(thread, info, batch, reason);
  }

  /**
   * Detect in images letterboxed by preprocessForDetector. Images of the same input size share
   * a batch; each image's detections (above `threshold`) come back in input order.
   */
  async detect(images: PreprocessedImage[], threshold = DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD): Promise<Detection[][]> {
    const results: Detection[][] = new Array<Detection[]>(images.length);
    const groups = new Map<string, number[]>();
    images.forEach((image, index) => {
      const key = `${image.geometry.inputWidth}x${image.geometry.inputHeight}`;
      const group = groups.get(key);
      if (group) group.push(index);
      else groups.set(key, [index]);
    });
    for (const indices of groups.values()) {
      for (let start = 0; start < indices.length; start += this.maxBatch) {
        const chunk = indices.slice(start, start + this.maxBatch);
        const detections = await this.detectBatch(chunk.map((i) => images[i]!), threshold);
        chunk.forEach((imageIndex, k) => (results[imageIndex] = detections[k]!));
      }
    }
    return results;
  }

  private async detectBatch(images: PreprocessedImage[], threshold: number): Promise<Detection[][]> {
    const { inputWidth: width, inputHeight: height } = images[0]!.geometry;
    const imageSize = 3 * width * height;
    const needed = images.length * imageSize;
    // The batch buffer comes back from the inference thread with the result and is filled
    // again (every value is overwritten): a full batch at 1280 px is 79 MB, which a fresh
    // allocation would zero for each batch. At most one is kept, sized for a full batch.
    const buffer = this.spare && this.spare.length >= needed ? this.spare : new Float32Array(Math.max(needed, this.maxBatch * imageSize));
    this.spare = undefined;
    const tensor = buffer.length === needed ? buffer : buffer.subarray(0, needed);
    images.forEach((image, i) => writePlanarTensor(image.pixels, width, height, tensor, i * imageSize));
    const { data, dims, input } = await this.thread.run(tensor, [images.length, 3, height, width]);
    this.spare = input;
    this.layout ??= inferOutputLayout(dims, this.info.classNames.length);
    const layout = this.layout;
    return images.map((image, i) =>
      toDetections(nonMaxSuppression(decodeCandidates(data, dims, layout, i, threshold)), image.geometry),
    );
  }

  async close(): Promise<void> {
    await this.thread.close();
  }
}
