// Runs the ONNX Runtime session on its own thread: onnxruntime-node's run() blocks the
// thread it runs on for the whole inference, and the main thread must keep decoding,
// zipping and reporting progress meanwhile.
//
// Buffers: the batch arrives transferred (no copy) and goes back with the result, so the
// detector fills the same Float32Array again (detector.ts); the output is copied once into a
// buffer this thread owns and transferred. ONNX Runtime's IO binding is not used: in
// onnxruntime-node it binds only WebGPU buffers (tensors with location "gpu-buffer",
// preferredOutputLocation), not CUDA memory, so with CUDA or TensorRT each run copies the batch
// to the GPU and the output back, as any run() does. Pre-allocated CPU outputs (run's fetches)
// would save the output copy, but the output's shape follows the letterbox size of each batch
// and it is about a sixth of the input's size (MD v5 at 1280 px: 3.3 MB against 19.7 MB an image).
import { parentPort, workerData } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import type { InferenceReply, InferenceRequest, InferenceWorkerData } from "./inferenceProtocol.ts";
import { planSessions } from "./sessionPlan.ts";

const { modelPath, provider } = workerData as InferenceWorkerData;
const port = parentPort!;

async function createSession(): Promise<{ session: ort.InferenceSession; provider: string; note?: string }> {
  const plans = planSessions(provider);
  let failure: string | undefined;
  for (const [index, plan] of plans.entries()) {
    try {
      const session = await ort.InferenceSession.create(modelPath, plan.options);
      const note = failure !== undefined && plan.noteAfterFailure ? plan.noteAfterFailure(failure) : plan.note;
      return { session, provider: plan.provider, ...(note ? { note } : {}) };
    } catch (error) {
      if (index === plans.length - 1) throw error;
      failure = error instanceof Error ? error.message.split("\n")[0] : String(error);
    }
  }
  throw new Error(`no session to try for provider ${provider}`);
}

function shapeOf(metadata: ort.InferenceSession.ValueMetadata | undefined): (number | string)[] {
  return metadata?.isTensor ? [...metadata.shape] : [];
}

function typeOf(metadata: ort.InferenceSession.ValueMetadata | undefined): string {
  return metadata?.isTensor ? metadata.type : "float32";
}

function reply(message: InferenceReply, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

try {
  const { session, provider: used, note } = await createSession();
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  // A float16 input cannot be fed from Node 24: onnxruntime-common turns float16 data into a
  // Float16Array, which the 1.30 binding reads as 0 bytes ("not enough space: expected 10,
  // got 0", tried with 1.30 on Node 24.21). A float16 output reads fine and is widened below.
  const inputType = typeOf(session.inputMetadata[0]);
  if (inputType !== "float32") {
    throw new Error(
      `the model's input is ${inputType}; onnxruntime-node cannot be given float16 input from Node 24, so use an export with float32 input and output ` +
        `(a graph that casts to float16 inside still runs in FP16 on the GPU)`,
    );
  }
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
        // (A float16 output comes as Float16Array, Node 24's own; from() widens it exactly.)
        const data = output.type === "float16" ? Float32Array.from(output.data as ArrayLike<number>) : new Float32Array(output.data as Float32Array);
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
