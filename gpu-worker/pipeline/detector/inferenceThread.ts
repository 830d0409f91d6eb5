// One ONNX Runtime session on its own worker thread, as the main thread sees it: open it,
// send float32 batches, get the first output back. The detector and the species classifier
// each hold one, so both run on the same provider choice with the same machinery.
import { Worker } from "node:worker_threads";
import type { ExecutionProvider, InferenceReply, InferenceWorkerData } from "./inferenceProtocol.ts";

export type Dimension = number | string;

export interface InferenceOutput {
  data: Float32Array;
  dims: number[];
  /** The batch buffer that was sent, back for reuse (whole, whatever view of it was sent). */
  input?: Float32Array;
}

type Pending = { resolve: (value: InferenceOutput) => void; reject: (error: Error) => void };

export class InferenceThread {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly worker: Worker;
  /** The execution provider that really runs: "cpu", "cuda" or "tensorrt". */
  readonly provider: string;
  /** Why the provider differs from the one asked for, when it does. */
  readonly providerNote: string | undefined;
  /** Shape of the session's first input and first output, as the model declares them. */
  readonly inputShape: Dimension[];
  readonly outputShape: Dimension[];

  private constructor(worker: Worker, ready: Extract<InferenceReply, { type: "ready" }>) {
    this.worker = worker;
    this.provider = ready.provider;
    this.providerNote = ready.note;
    this.inputShape = ready.inputShape;
    this.outputShape = ready.outputShape;
    worker.on("message", (reply: InferenceReply) => this.settle(reply));
    worker.on("error", (error: Error) => this.failAll(error));
    worker.on("exit", (code) => this.failAll(new Error(`inference thread stopped (exit code ${code})`)));
  }

  /** Starts the thread and loads the model; rejects with ONNX Runtime's reason when it cannot. */
  static async open(modelPath: string, provider: ExecutionProvider = "auto"): Promise<InferenceThread> {
    const workerData: InferenceWorkerData = { modelPath, provider };
    const worker = new Worker(new URL("./inferenceWorker.ts", import.meta.url), { workerData });
    const ready = await new Promise<Extract<InferenceReply, { type: "ready" }>>((resolve, reject) => {
      worker.once("message", (reply: InferenceReply) => {
        if (reply.type === "ready") resolve(reply);
        else reject(new Error(`cannot load model ${modelPath}: ${reply.type === "error" ? reply.message : reply.type}`));
      });
      worker.once("error", reject);
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    return new InferenceThread(worker, ready);
  }

  /** Runs the session on one batch; `data` is transferred to the thread (unusable here afterwards). */
  run(data: Float32Array, dims: number[]): Promise<InferenceOutput> {
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
    if (reply.type === "result") pending.resolve({ data: reply.data, dims: reply.dims, ...(reply.input ? { input: new Float32Array(reply.input.buffer) } : {}) });
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
