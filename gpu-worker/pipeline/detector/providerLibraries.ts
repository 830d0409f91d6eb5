// Where onnxruntime-node keeps its GPU execution providers, and whether they are there.
// They are not part of the npm package: its install script downloads them (CUDA 12, Linux x64
// only) into bin/napi-v6/<platform>/<arch>/ beside the bundled CPU library, unless the install
// was told to skip it (this project's .npmrc does, on machines without a GPU). The TensorRT
// provider comes in the same download as the CUDA one (onnxruntime-node script/install-metadata.js,
// manifest "linux/x64:cuda12"). Looking for the file first lets a CPU machine get a plain
// sentence instead of ONNX Runtime's dlopen error.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export type GpuProviderLibrary = "cuda" | "tensorrt";

export function providerLibraryPath(name: GpuProviderLibrary): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
  return join(packageDir, "bin", "napi-v6", process.platform, process.arch, `libonnxruntime_providers_${name}.so`);
}

export function providerLibraryInstalled(name: GpuProviderLibrary): boolean {
  return existsSync(providerLibraryPath(name));
}
