// The GPU's total memory, asked of nvidia-smi (installed with NVIDIA's driver, so present
// wherever the CUDA provider can run). Used only to cap the default batch (batchSize.ts):
// without an answer the batch is sized from the model alone.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { GPU_DEVICE_ID } from "./sessionPlan.ts";

/** nvidia-smi answers in well under a second; a hung driver must not hold the model's opening. */
const NVIDIA_SMI_TIMEOUT_MS = 5_000;

/** One line per GPU, in MiB: `nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits`. */
export function parseGpuMemoryMiB(stdout: string, deviceId = GPU_DEVICE_ID): number | undefined {
  const line = stdout.split("\n").map((l) => l.trim()).filter((l) => l.length > 0)[deviceId];
  const mib = Number(line);
  return line !== undefined && Number.isFinite(mib) && mib > 0 ? mib : undefined;
}

export async function queryGpuMemoryMiB(): Promise<number | undefined> {
  try {
    const { stdout } = await promisify(execFile)("nvidia-smi", ["--query-gpu=memory.total", "--format=csv,noheader,nounits"], { timeout: NVIDIA_SMI_TIMEOUT_MS });
    return parseGpuMemoryMiB(stdout);
  } catch {
    return undefined;
  }
}
