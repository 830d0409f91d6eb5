// Messages between an InferenceThread (main thread) and its inference worker thread.

export type ExecutionProvider = "auto" | "cuda" | "cpu";

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
