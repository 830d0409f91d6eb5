// Runs the ONNX Runtime session on its own thread: onnxruntime-node's run() blocks the
// thread it runs on for the whole inference, and the main thread must keep decoding,
// zipping and reporting progress meanwhile.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import type { InferenceReply, InferenceRequest, InferenceWorkerData } from "./inferenceProtocol.ts";

const { modelPath, provider } = workerData as InferenceWorkerData;
const port = parentPort!;

/**
 * onnxruntime-node ships the CUDA provider as a separate download (skipped by this project's
 * .npmrc on machines without a GPU). Look for it before asking for it, so a CPU machine gets
 * a plain note instead of ONNX Runtime's load error.
 */
function cudaProviderInstalled(): boolean {
  const packageDir = dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
  return existsSync(join(packageDir, "bin", "napi-v6", process.platform, process.arch, "libonnxruntime_providers_cuda.so"));
}

/**
 * On the CPU, ONNX Runtime's pool threads spin for a while after each run waiting for the
 * next; here the next batch comes after the decodes, so spinning only takes CPU from the
 * decoder threads: without it, 124-140 against 158-172 CPU ms per Serengeti frame in the
 * bench (tiny model, 2 cores) and more images/s.
 */
const CPU_OPTIONS: ort.InferenceSession.SessionOptions = {
  executionProviders: ["cpu"],
  extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
};

async function createSession(): Promise<{ session: ort.InferenceSession; provider: string; note?: string }> {
  if (provider === "cpu") {
    return { session: await ort.InferenceSession.create(modelPath, CPU_OPTIONS), provider: "cpu" };
  }
  if (provider === "auto" && !cudaProviderInstalled()) {
    const session = await ort.InferenceSession.create(modelPath, CPU_OPTIONS);
    return { session, provider: "cpu", note: "ONNX Runtime's CUDA provider is not installed; running on the CPU" };
  }
  try {
    return { session: await ort.InferenceSession.create(modelPath, { executionProviders: ["cuda"] }), provider: "cuda" };
  } catch (error) {
    if (provider === "cuda") throw error;
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    const session = await ort.InferenceSession.create(modelPath, CPU_OPTIONS);
    return { session, provider: "cpu", note: `CUDA is not available (${reason}); running on the CPU` };
  }
}

function shapeOf(metadata: ort.InferenceSession.ValueMetadata | undefined): (number | string)[] {
  return metadata?.isTensor ? [...metadata.shape] : [];
}

function reply(message: InferenceReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

try {
  const { session, provider: used, note } = await createSession();
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  reply({
    type: "ready",
    provider: used,
    ...(note ? { note } : {}),
    inputShape: shapeOf(session.inputMetadata[0]),
    outputShape: shapeOf(session.outputMetadata[0]),
  });

  port.on("message", (request: InferenceRequest) => {
    void (async () => {
      try {
        const input = new ort.Tensor("float32", request.data, request.dims);
        const outputs = await session.run({ [inputName]: input });
        const output = outputs[outputName]!;
        // Copy into a buffer this thread owns, so it can be handed over without another copy.
        const data = new Float32Array(output.data as Float32Array);
        // The input goes back too: ONNX Runtime is done with it, and the sender reuses it for the next batch.
        reply({ type: "result", id: request.id, data, dims: [...output.dims], input: request.data }, [data.buffer, request.data.buffer as ArrayBuffer]);
      } catch (error) {
        reply({ type: "failed", id: request.id, message: error instanceof Error ? error.message : String(error) });
      }
    })();
  });
} catch (error) {
  reply({ type: "error", message: error instanceof Error ? error.message : String(error) });
}
