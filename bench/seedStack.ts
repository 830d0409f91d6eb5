// npm run bench:seed -- <folder> [--images 60]
//
// Issue 14's goal: at most a third of the seed stack's CPU per photo around inference, on the
// same frames. The seed app (Python: Pillow, openpyxl, zipfile) is not here; bench/seedStack.py
// reconstructs its work around inference with that stack. This runs it with the system Python
// (Debian's python3-pil, python3-openpyxl, python3-numpy), then our pipeline the way
// `npm run bench` measures it (bench/pipeline.ts in child mode: pipeline CPU minus inference
// alone, tiny model), and prints both CPU figures per photo and their ratio.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const PYTHON = "/usr/bin/python3";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { images: { type: "string", default: "60" }, help: { type: "boolean", short: "h", default: false } },
});
const folder = positionals[0];
const images = Number(values.images);

/** The last line a child printed, as JSON; throws with its stderr when it failed. */
function runJson(command: string, args: string[]): Record<string, number> {
  const child = spawnSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 24 });
  if (child.status !== 0) throw new Error(`${command} ${args.join(" ")} failed:\n${child.stderr}`);
  return JSON.parse(child.stdout.trim().split("\n").at(-1)!) as Record<string, number>;
}

if (values.help || folder === undefined || !(images > 0)) {
  console.log("npm run bench:seed -- <folder> [--images 60]\nCPU ms per photo around inference: a Python/Pillow reconstruction of the seed stack (bench/seedStack.py) against our pipeline.");
  if (!values.help) process.exitCode = 2;
} else if (!existsSync(PYTHON) || spawnSync(PYTHON, ["-c", "import PIL, openpyxl"]).status !== 0) {
  console.log(`${PYTHON} lacks Pillow or openpyxl; install them with:\n  sudo apt-get install -y python3-pil python3-openpyxl python3-numpy`);
} else {
  const root = resolve(folder);
  const seed = runJson(PYTHON, [join(import.meta.dirname, "seedStack.py"), root, String(images)]);
  const ours = runJson(process.execPath, [join(import.meta.dirname, "pipeline.ts"), root, "--child", "--images", String(images)]);
  const oursAround = ours.cpuMs! / ours.count! - ours.inferenceCpuMs!;
  const seedCpu = seed.cpuMsPerPhoto!;
  console.log(`\nCPU ms per photo around inference, ${images} photos from ${folder}\n`);
  console.table({
    "seed stack (Python reconstruction, bench/seedStack.py)": { "CPU ms/photo": seedCpu.toFixed(1), note: seed.array ? "" : "numpy missing: no float32 array made" },
    "Trapline pipeline (CPU minus inference alone)": { "CPU ms/photo": oursAround.toFixed(1), note: `${ours.boxed} boxed, ${ours.previews} previews` },
  });
  console.log(`ours / seed: ${(oursAround / seedCpu).toFixed(2)} (issue 14's goal: at most 0.33)`);
}
