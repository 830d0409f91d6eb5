// The RunInfo that report tests share: MegaDetector v5a's names and thresholds, a 90-second run.
import type { RunInfo } from "../../gpu-worker/pipeline/types.ts";

export function sampleRun(overrides: Partial<RunInfo> = {}): RunInfo {
  return {
    detector: "md_v5a.0.0.onnx",
    modelId: "md_v5a.0.0",
    categories: { "1": "animal", "2": "person", "3": "vehicle" },
    outputThreshold: 0.005,
    renderThreshold: 0.2,
    provider: "cpu",
    startedAt: new Date("2026-03-01T10:00:00Z"),
    completedAt: new Date("2026-03-01T10:01:30Z"),
    ...overrides,
  };
}
