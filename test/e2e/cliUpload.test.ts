// `trapline upload` end to end, both sides as real processes: `npm start`'s entry (API, fauxqs,
// worker with the tiny model) and the command line uploading a folder and a zip. The command is
// killed (SIGKILL) half way through the upload, continued with --job --wait, and the downloaded
// results hold every photo.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { redisKeys } from "../../core/keys.ts";
import { ROOT, jobIds, removeJobs, startNpmStart } from "../browser/harness.ts";
import { readZip } from "../helpers/readZip.ts";
import { writeTinyDetector } from "../helpers/tinyModels.ts";
import { storedEntry, zipBytes } from "../helpers/zipBytes.ts";
import { noiseJpeg, photo } from "./photos.ts";

const CLI = join(ROOT, "gpu-worker", "cli", "main.ts");
const MiB = 1024 * 1024;
/** Uploaded: 30 photos and 2 large files in the folder, and the zip (two photos in it). */
const FILES = 33;
let work: string;
let stack: { url: string; stop: () => Promise<void> };
/** Photos in the folder and the zip, by the path the results give them. */
const photos = new Map<string, Buffer>();

function cli(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, "upload", ...args], { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output, exited: new Promise((resolve) => child.once("exit", resolve)) };
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), "trapline-cli-upload-"));
  const model = join(work, "tiny.onnx");
  await writeTinyDetector(model, { layout: "yolov5", inputSize: 64, dynamicSpatial: true, stride: 32 });
  const animal = await photo({ left: 160, top: 120, width: 320, height: 240 });
  const empty = await photo();
  for (const camera of ["cam1", "cam2"]) {
    await mkdir(join(work, "season", camera), { recursive: true });
    for (let i = 0; i < 15; i++) {
      const bytes = i % 5 === 0 ? animal : empty;
      const name = `${camera}/IMG_${String(i).padStart(4, "0")}.JPG`;
      await writeFile(join(work, "season", name), bytes);
      photos.set(`season/${name}`, bytes);
    }
  }
  // Large files uploaded in 5 MiB parts, one at a time (--parallel 1), so the kill lands half way.
  for (const name of ["big1.jpg", "big2.jpg"]) await writeFile(join(work, "season", name), noiseJpeg(16 * MiB));
  const zipped = { "DCIM/IMG_0100.JPG": animal, "DCIM/IMG_0101.JPG": empty };
  await writeFile(join(work, "card.zip"), zipBytes(Object.entries(zipped).map(([name, bytes]) => storedEntry(name, bytes))));
  for (const [name, bytes] of Object.entries(zipped)) photos.set(`card/${name}`, bytes);
  // Every local stack on this machine counts job creations against the one loopback address.
  stack = await startNpmStart({ MODEL: model, RATE_LIMIT_PER_HOUR: "100000" });
});

after(async () => {
  await stack?.stop();
  const redis = new Redis(process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
  for (const id of jobIds) await redis.del(redisKeys.uploads(id)).then(() => redis.zrem(redisKeys.uploading(), id));
  redis.disconnect();
  await removeJobs();
  if (work) await rm(work, { recursive: true, force: true });
});

test("npm start: a folder and a zip uploaded from the command line, killed half way, continued with --job, processed and downloaded", async () => {
  const args = ["season", "card.zip", "--api", stack.url, "--parallel", "1", "--no-progress"];
  const first = cli([...args, "--email", "ranger@fieldstation.org"]);
  let jobId = "";
  let missing = 0;
  for (let i = 0; i < 600 && first.child.exitCode === null; i++) {
    jobId ||= /Job (\S+): \d+ files/.exec(first.output())?.[1] ?? "";
    if (jobId) {
      const listing = (await (await fetch(`${stack.url}/api/jobs/${jobId}/files?missing=1`)).json()) as { files: unknown[]; cursor?: string };
      if (!listing.cursor) {
        missing = listing.files.length;
        if (missing > 0 && missing < FILES) break;
      }
    }
    await sleep(20);
  }
  assert.ok(jobId, first.output());
  jobIds.push(jobId);
  first.child.kill("SIGKILL");
  await first.exited;
  assert.ok(missing > 0 && missing < FILES, `killed half way: ${missing} of ${FILES} files missing\n${first.output()}`);

  const out = join(work, "results.zip");
  const second = cli([...args, "--job", jobId, "--wait", "--out", out]);
  const code = await second.exited;
  assert.equal(code, 0, second.output());
  assert.match(second.output(), new RegExp(`Job ${jobId}: \\d+ of ${FILES} files are in storage already; sending \\d+`));
  assert.match(second.output(), new RegExp(`Job ${jobId} done: ${FILES + 1} images, 2 could not be read\\. Results: ${out.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));

  const zip = await readZip(out);
  const detections = JSON.parse(zip.get("detections.json")!.toString()) as { images: { file: string; failure?: string }[] };
  const files = new Set(detections.images.map((image) => image.file));
  for (const name of photos.keys()) assert.ok(files.has(name), `${name} is in the results`);
  assert.deepEqual(detections.images.filter((image) => image.failure).map((image) => image.file).sort(), ["season/big1.jpg", "season/big2.jpg"]);
  assert.ok(zip.has("season/cam1/IMG_0000.JPG"), "a photo with an animal, boxed");
});
