import { test } from "node:test";
import assert from "node:assert/strict";
import { EXECUTION_PROVIDERS } from "./inferenceProtocol.ts";
import { providerLibraryPath } from "./providerLibraries.ts";
import { CPU_OPTIONS, GPU_DEVICE_ID, planSessions, TENSORRT_NOTE } from "./sessionPlan.ts";

const none = () => false;
const all = () => true;
const namesOf = (plan: ReturnType<typeof planSessions>[number]) =>
  plan.options.executionProviders!.map((ep) => (typeof ep === "string" ? ep : ep.name));

test("cpu is the CPU, whatever is installed", () => {
  for (const installed of [none, all]) {
    const plans = planSessions("cpu", installed);
    assert.deepEqual(plans.map((p) => p.provider), ["cpu"]);
    assert.equal(plans[0]!.options, CPU_OPTIONS);
    assert.equal(plans[0]!.note, undefined);
  }
});

test("auto: CUDA then the CPU when the CUDA library is there, the CPU with a note when not; never TensorRT", () => {
  const withCuda = planSessions("auto", (name) => name === "cuda");
  assert.deepEqual(withCuda.map((p) => p.provider), ["cuda", "cpu"]);
  assert.equal(withCuda[1]!.noteAfterFailure!("libcudart.so.12: cannot open shared object file"), "CUDA is not available (libcudart.so.12: cannot open shared object file); running on the CPU");
  assert.deepEqual(planSessions("auto", all).map((p) => p.provider), ["cuda", "cpu"], "TensorRT is opt-in only");
  const without = planSessions("auto", none);
  assert.deepEqual(without.map((p) => p.provider), ["cpu"]);
  assert.equal(without[0]!.note, "ONNX Runtime's CUDA provider is not installed; running on the CPU");
});

test("tensorrt: TensorRT first with CUDA behind it for what TensorRT cannot take, on the same GPU, and a note on what it lacks", () => {
  const [plan, ...rest] = planSessions("tensorrt", all);
  assert.equal(rest.length, 0, "no silent fallback when TensorRT was asked for");
  assert.equal(plan!.provider, "tensorrt");
  assert.deepEqual(namesOf(plan!), ["tensorrt", "cuda"]);
  assert.deepEqual(plan!.options.executionProviders, [{ name: "tensorrt", deviceId: GPU_DEVICE_ID }, { name: "cuda", deviceId: GPU_DEVICE_ID }]);
  assert.equal(plan!.note, TENSORRT_NOTE);
  assert.match(TENSORRT_NOTE, /builds its engine each time.*FP32.*no engine-cache or FP16 option/);
});

test("tensorrt or cuda named without their libraries: an error naming the missing files and what to do", () => {
  assert.throws(() => planSessions("tensorrt", none), (error: Error) => {
    assert.match(error.message, /^--provider tensorrt: ONNX Runtime's TensorRT provider is not installed/);
    assert.ok(error.message.includes(providerLibraryPath("tensorrt")));
    assert.ok(error.message.includes(providerLibraryPath("cuda")));
    assert.match(error.message, /TensorRT 10 and CUDA 12.*--provider auto/);
    return true;
  });
  assert.throws(() => planSessions("tensorrt", (name) => name === "cuda"), (error: Error) => !error.message.includes(providerLibraryPath("cuda")) && error.message.includes(providerLibraryPath("tensorrt")));
  assert.throws(() => planSessions("cuda", none), /^Error: --provider cuda: ONNX Runtime's CUDA provider is not installed \(.*libonnxruntime_providers_cuda\.so missing\)/);
});

test("every provider the CLI and PROVIDER accept has a plan", () => {
  assert.deepEqual([...EXECUTION_PROVIDERS], ["auto", "cpu", "cuda", "tensorrt"]);
  for (const provider of EXECUTION_PROVIDERS) assert.ok(planSessions(provider, all).length > 0);
});
