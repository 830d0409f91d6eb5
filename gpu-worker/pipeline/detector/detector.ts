// The detector as the pipeline sees it: letterboxed images in, MegaDetector detections out.
// Inference runs on a worker thread; this side batches, decodes and post-processes.
import { Worker } from "node:worker_threads";
import { DEFAULT_OUTPUT_CONFIDENCE_THRESHOLD } from "./constants.ts";
import type { ExecutionProvider, InferenceReply, InferenceWorkerData } from "./inferenceProtocol.ts";
import { describeModel, type ModelHints, type ModelInfo } from "./modelInfo.ts";
import { readOnnxMetadataProps } from "./onnxMetadata.ts";
import { decodeCandidates, inferOutputLayout, nonMaxSuppression, toDetections, type OutputLayout } from "./postprocess.ts";
import { writePlanarTensor, type PreprocessedImage } from "./preprocess.ts";
import type { Detection } from "../types.ts";

export interface DetectorOptions {
  modelPath: string;
  provider?: ExecutionProvider;
  /** Images per inference call when the model takes any batch size. */
  batchSize?: number;
  /** What the manifest (or the user) knows that the model file may not say. */
  hints?: ModelHints;
}

type Pending = { resolve: (value: { data: Float32Array; dims: number[] }) => void; reject: (error: Error) => void };

export class Detector {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private layout: OutputLayout | undefined;

  private readonly worker: Worker;
  readonly info: ModelInfo;
  /** The execution provider that really runs: "cuda" or "cpu". */
  readonly provider: string;
  /** Why the provider differs from the one asked for, when it does. */
  readonly providerNote: string | undefined;
  readonly maxBatch: number;

  private constructor(worker: Worker, info: ModelInfo, provider: string, providerNote: string | undefined, maxBatch: number) {
    this.worker = worker;
    this.info = info;
    this.provider = provider;
    this.providerNote = providerNote;
    this.maxBatch = maxBatch;
    this.layout = info.layout;
    worker.on("message", (reply: InferenceReply) => this.settle(reply));
    worker.on("error", (error: Error) => this.failAll(error));
    worker.on("exit", (code) => this.failAll(new Error(`inference thread stopped (exit code ${code})`)));
  }

  static async open(options: DetectorOptions): Promise<Detector> {
    const metadataProps = await readOnnxMetadataProps(options.modelPath).catch((error: unknown) => {
      throw new Error(`cannot read model ${options.modelPath}: ${error instanceof Error ? error.message : String(error)}`);
    });
    const workerData: InferenceWorkerData = { modelPath: options.modelPath, provider: options.provider ?? "auto" };
    const worker = new Worker(new URL("./inferenceWorker.ts", import.meta.url), { workerData });
    const ready = await new Promise<Extract<InferenceReply, { type: "ready" }>>((resolve, reject) => {
      worker.once("message", (reply: InferenceReply) => {
        if (reply.type === "ready") resolve(reply);
        else reject(new Error(`cannot load model ${options.modelPath}: ${reply.type === "error" ? reply.message : reply.type}`));
      });
      worker.once("error", reject);
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    let info: ModelInfo;
    try {
      info = describeModel(ready.inputShape, metadataProps, options.hints);
    } catch (error) {
      await worker.terminate();
      throw error;
    }
    const maxBatch = info.dynamicBatch ? Math.max(1, options.batchSize ?? 4) : 1;
    return new Detector(worker, info, ready.provider, ready.note, maxBatch);
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
    const tensor = new Float32Array(images.length * imageSize);
    images.forEach((image, i) => writePlanarTensor(image.pixels, width, height, tensor, i * imageSize));
    const { data, dims } = await this.run(tensor, [images.length, 3, height, width]);
    this.layout ??= inferOutputLayout(dims, this.info.classNames.length);
    const layout = this.layout;
    return images.map((image, i) =>
      toDetections(nonMaxSuppression(decodeCandidates(data, dims, layout, i, threshold)), image.geometry),
    );
  }

  private run(data: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: number[] }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, data, dims }, [data.buffer as ArrayBuffer]);
    });
  }

  private settle(reply: InferenceReply): void {
    if (reply.type !== "result" && reply.type !== "failed") return;
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    this.pending.delete(reply.id);
    if (reply.type === "result") pending.resolve({ data: reply.data, dims: reply.dims });
    else pending.reject(new Error(`inference failed: ${reply.message}`));
  }

  private failAll(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners("exit");
    await this.worker.terminate();
  }
}
