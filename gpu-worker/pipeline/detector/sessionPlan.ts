// Which ONNX Runtime sessions to try for the provider the user asked for, in order: the first
// that opens runs. Kept apart from the inference thread so every choice can be tested on a
// machine without a GPU.
//
// What onnxruntime-node (1.30) can tell a GPU provider is only its device id: its binding
// (js/node/src/session_options_helper.cc) reads `deviceId` from an executionProviders entry and
// nothing else for "cuda" and "tensorrt", and builds TensorRT's options with
// CreateTensorRTProviderOptions, whose defaults leave the engine cache and FP16 off. TensorRT's
// ORT_TENSORRT_* environment variables do not help: the provider reads them only when no options
// struct was given (has_trt_options false), and the V2 options the binding passes set it
// (onnxruntime tensorrt_provider_factory.cc), as users found (microsoft/onnxruntime#18380,
// #26854). So TensorRT here builds its engine at every start, in FP32, and says so.
import type * as ort from "onnxruntime-node";
import type { ExecutionProvider } from "./inferenceProtocol.ts";
import { providerLibraryInstalled, providerLibraryPath, type GpuProviderLibrary } from "./providerLibraries.ts";

export type RunningProvider = "cpu" | "cuda" | "tensorrt";

export interface SessionPlan {
  provider: RunningProvider;
  options: ort.InferenceSession.SessionOptions;
  /** Said beside the provider's name when it differs from what was asked, or runs with a limit. */
  note?: string;
  /** For a fallback: the note, given why the plan before it failed. */
  noteAfterFailure?: (reason: string) => string;
}

/** The GPU the providers run on. One session, one GPU: a second GPU means a second worker. */
export const GPU_DEVICE_ID = 0;

/**
 * On the CPU, ONNX Runtime's pool threads spin for a while after each run waiting for the
 * next; here the next batch comes after the decodes, so spinning only takes CPU from the
 * decoder threads: without it, 124-140 against 158-172 CPU ms per Serengeti frame in the
 * bench (tiny model, 2 cores) and more images/s.
 */
export const CPU_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ["cpu"],
  extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
};

const CUDA_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: [{ name: "cuda", deviceId: GPU_DEVICE_ID }],
};

/**
 * TensorRT takes the subgraphs it can build an engine for; CUDA, listed after it, takes the
 * rest, as ONNX Runtime's TensorRT page advises (nodes neither takes fall to the CPU).
 */
const TENSORRT_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: [
    { name: "tensorrt", deviceId: GPU_DEVICE_ID },
    { name: "cuda", deviceId: GPU_DEVICE_ID },
  ],
};

export const TENSORRT_NOTE =
  "TensorRT builds its engine each time the model opens (minutes for MegaDetector v5) and runs it in FP32: onnxruntime-node passes TensorRT no engine-cache or FP16 option";

/** The sentence for a GPU provider named explicitly whose library is not there. */
export function missingProviderMessage(requested: "cuda" | "tensorrt", missing: GpuProviderLibrary[]): string {
  const name = requested === "cuda" ? "CUDA" : "TensorRT";
  return (
    `--provider ${requested}: ONNX Runtime's ${name} provider is not installed (${missing.map(providerLibraryPath).join(", ")} missing). ` +
    `onnxruntime-node downloads it on Linux x64 when installed without --onnxruntime-node-install=skip` +
    (requested === "tensorrt" ? "; it also needs TensorRT 10 and CUDA 12 libraries on the library path" : "; it also needs CUDA 12 and cuDNN 9") +
    `. Or use --provider auto, which runs on the CPU when no GPU provider is there.`
  );
}

export function planSessions(requested: ExecutionProvider, installed: (name: GpuProviderLibrary) => boolean = providerLibraryInstalled): SessionPlan[] {
  const cpu: SessionPlan = { provider: "cpu", options: CPU_OPTIONS };
  switch (requested) {
    case "cpu":
      return [cpu];
    case "auto":
      return installed("cuda")
        ? [{ provider: "cuda", options: CUDA_OPTIONS }, { ...cpu, noteAfterFailure: (reason) => `CUDA is not available (${reason}); running on the CPU` }]
        : [{ ...cpu, note: "ONNX Runtime's CUDA provider is not installed; running on the CPU" }];
    case "cuda":
      if (!installed("cuda")) throw new Error(missingProviderMessage("cuda", ["cuda"]));
      return [{ provider: "cuda", options: CUDA_OPTIONS }];
    case "tensorrt": {
      const missing = (["tensorrt", "cuda"] as const).filter((name) => !installed(name));
      if (missing.length > 0) throw new Error(missingProviderMessage("tensorrt", missing));
      return [{ provider: "tensorrt", options: TENSORRT_OPTIONS, note: TENSORRT_NOTE }];
    }
  }
}
