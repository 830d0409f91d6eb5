// Messages between an InferenceThread (main thread) and its inference worker thread.

/**
 * What the user asks for. "auto" tries CUDA, then the CPU; TensorRT is only ever used when
 * named (its engine build takes minutes at every start, see sessionPlan.ts).
 */
export const EXECUTION_PROVIDERS = ["auto", "cpu", "cuda", "tensorrt"] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

export interface InferenceWorkerData {
  modelPath: string;
  provider: ExecutionProvider;
}

export interface InferenceRequest {
  id: number;
  /** Planar float32 batch, transferred (not copied) to the worker. */
  data: Float32Array;
  dims: number[];
}

export type InferenceReply =
  | { type: "ready"; provider: string; note?: string; inputShape: (number | string)[]; outputShape: (number | string)[] }
  | { type: "error"; message: string }
  /** `input`: the request's batch buffer handed back (transferred), so the sender can fill it again. */
  | { type: "result"; id: number; data: Float32Array; dims: number[]; input?: Float32Array }
  | { type: "failed"; id: number; message: string };
