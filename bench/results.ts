// npm run bench:results [-- --images 100000 --walks 3 --frames 12 --sizes 2048x1536,4000x3000]
//
// Issue 13's figures, printed and never asserted:
//   route     GET /api/jobs/<id>/images through the real API (Hono over HTTP, fauxqs S3, Redis),
//             over a job of --images generated results indexed by the merge's own code
//             (buildBrowse, storeBrowseIndex): p50/p99 per page of 200 items, each view walked
//             to its end with cursors, and the first page of each view asked again and again.
//   previews  on camera-like frames (bench/frames.ts): CPU ms per preview against the full-size
//             boxed copy of the same frame, with and without a blurred person, and bytes per preview.
// CPU ms is process.cpuUsage (every libvips thread of this process), one image at a time.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import sharp from "sharp";
import type { JobRecord } from "../core/jobs.ts";
import { BLANK_CATEGORY, type ImagesPage } from "../functions/wire.ts";
import { buildBrowse } from "../gpu-worker/pipeline/outputs/browse.ts";
import { makePreview, previewName } from "../gpu-worker/pipeline/outputs/preview.ts";
import { renderDetections } from "../gpu-worker/pipeline/outputs/render.ts";
import type { Detection, ImageResult, RunInfo } from "../gpu-worker/pipeline/types.ts";
import { storeBrowseIndex } from "../gpu-worker/worker/shards/browseOutputs.ts";
import { startApiHarness } from "../test/helpers/apiHarness.ts";
import { generateFrames } from "./frames.ts";
import { sampleRun } from "../test/helpers/sampleRun.ts";

const { values } = parseArgs({
  options: {
    images: { type: "string", default: "100000" },
    walks: { type: "string", default: "3" },
    frames: { type: "string", default: "12" },
    sizes: { type: "string", default: "2048x1536,4000x3000" },
  },
});
const IMAGES = Number(values.images);
/** The page size the issue measures (the gallery asks for about this many). */
const PAGE = 200;
const WALKS = Math.max(1, Number(values.walks));
const FRAMES = Math.max(1, Number(values.frames));
const SIZES = values.sizes.split(",").map((size) => {
  const [width, height] = size.split("x").map(Number);
  return { width: width!, height: height! };
});

const run: RunInfo = sampleRun({ startedAt: new Date("2024-05-01T00:00:00Z"), completedAt: new Date("2024-05-02T00:00:00Z") });

/** Photo i of a season on 20 cameras: an animal on every 4th, a person on every 29th, a vehicle on every 97th, 1 in 13 undated, the blank check on 1 in 100 empties. */
function generated(i: number): ImageResult {
  const path = `site${i % 4}/cam${i % 20}/IMG_${String(i).padStart(6, "0")}.JPG`;
  const detections: Detection[] = [];
  if (i % 4 === 0) detections.push({ category: "1", conf: Number((0.2 + ((i * 37) % 80) / 100).toFixed(3)), bbox: [0.1, 0.1, 0.3, 0.3] });
  if (i % 29 === 0) detections.push({ category: "2", conf: 0.7, bbox: [0.5, 0.4, 0.2, 0.5] });
  if (i % 97 === 0) detections.push({ category: "3", conf: 0.55, bbox: [0.2, 0.5, 0.5, 0.3] });
  detections.push({ category: "1", conf: 0.04, bbox: [0, 0, 0.1, 0.1] });
  const drawn = detections.some((d) => d.conf >= run.renderThreshold);
  const minutes = (i * 13) % (24 * 60);
  const text = `2024:0${1 + (i % 9)}:${String(1 + (i % 28)).padStart(2, "0")} ${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}`;
  const wallClock = new Date(`${text.slice(0, 10).replaceAll(":", "-")}T${text.slice(11)}Z`);
  const sampled = !drawn && i % 100 === 1;
  return {
    path,
    status: "ok",
    warnings: [],
    detections: detections.sort((a, b) => b.conf - a.conf),
    metadata: { width: 2048, height: 1536, ...(i % 13 === 0 ? {} : { dateTimeOriginal: { text, wallClock } }), ...(i % 20 < 12 ? { latitude: -2.3 - (i % 20) / 100, longitude: 34.8 } : {}) },
    fileSize: 2_000_000,
    format: "jpeg",
    ...(drawn || sampled ? { preview: previewName(path) } : {}),
    ...(sampled ? { blankSample: true as const } : {}),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function describe(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms over ${sorted.length} pages`;
}

async function benchRoute(): Promise<void> {
  const api = await startApiHarness({ JOB_READS_PER_MINUTE: "100000000" });
  const scratch = await mkdtemp(join(tmpdir(), "trapline-bench-results-"));
  try {
    const id = randomBytes(16).toString("base64url");
    const now = new Date().toISOString();
    const job: JobRecord = { id, email: "ranger@example.org", status: "done", createdAt: now, updatedAt: now, fileCount: IMAGES, totalBytes: 0, options: {}, progress: { processed: IMAGES, total: IMAGES }, attempts: 1 };
    await api.store.create(job);
    let started = performance.now();
    const build = await buildBrowse(function* () {
      for (let i = 0; i < IMAGES; i++) yield generated(i);
    }, run, { scratchDir: scratch });
    const buildMs = performance.now() - started;
    started = performance.now();
    try {
      await storeBrowseIndex(api.aws.clients.s3, api.aws.config.BUCKET, id, build);
    } finally {
      await build.dispose();
    }
    const storeMs = performance.now() - started;
    console.log(`Results route over ${IMAGES.toLocaleString("en")} generated photos: index built in ${(buildMs / 1000).toFixed(1)} s, stored in ${(storeMs / 1000).toFixed(1)} s.`);
    console.log(`Pages of ${PAGE} items (fewer where the answer reaches the route's byte cap), each view walked to its end ${WALKS} time(s):`);

    const get = async (query: Record<string, string>) => {
      const text = new URLSearchParams({ limit: String(PAGE), ...query }).toString();
      const start = performance.now();
      const { status, json, bytes } = await api.call("GET", `/api/jobs/${id}/images?${text}`);
      const ms = performance.now() - start;
      if (status !== 200) throw new Error(`GET images?${text}: ${status} ${JSON.stringify(json)}`);
      return { ms, bytes, page: json as unknown as ImagesPage };
    };
    const views: Array<[string, Record<string, string>]> = [
      ["every detection, by time", { sort: "time" }],
      ["every detection, by confidence", { sort: "confidence" }],
      ["animals 0.5-0.8, by confidence", { category: "animal", minConf: "0.5", maxConf: "0.8", sort: "confidence" }],
      ["people, by time", { category: "person", sort: "time" }],
      ["one folder, by time", { folder: "site0/cam4", sort: "time" }],
      ["the blank check", { category: BLANK_CATEGORY, sort: "time" }],
    ];
    const all: number[] = [];
    for (const [name, query] of views) {
      const ms: number[] = [];
      let items = 0;
      let bytes = 0;
      for (let walk = 0; walk < WALKS; walk++) {
        let cursor: string | undefined;
        do {
          const answer = await get({ ...query, ...(cursor ? { cursor } : {}) });
          ms.push(answer.ms);
          if (walk === 0) {
            items += answer.page.images.length;
            bytes = Math.max(bytes, answer.bytes);
          }
          cursor = answer.page.cursor;
        } while (cursor);
      }
      all.push(...ms);
      console.log(`  ${name.padEnd(32)} ${items.toLocaleString("en").padStart(7)} items, ${describe(ms)}; largest answer ${(bytes / 1024).toFixed(0)} KiB`);
    }
    const first: number[] = [];
    for (let i = 0; i < 50; i++) for (const [, query] of views) first.push((await get(query)).ms);
    console.log(`  ${"first pages, each view x50".padEnd(40)} ${describe(first)}`);
    console.log(`  ${"every page above".padEnd(40)} ${describe([...all, ...first])}`);
  } finally {
    await api.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** CPU and wall time of `work`, in ms. */
async function measured<T>(work: () => Promise<T>): Promise<{ cpu: number; wall: number; value: T }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await work();
  const used = process.cpuUsage(cpu);
  return { cpu: (used.user + used.system) / 1000, wall: performance.now() - start, value };
}

async function benchPreviews(): Promise<void> {
  console.log(`\nPreviews against the full-size boxed copy, ${FRAMES} camera-like frames per size, one at a time (CPU ms per image, all threads):`);
  const animal: Detection = { category: "1", conf: 0.9, bbox: [1 / 3, 1 / 3, 1 / 4, 1 / 4] };
  const person: Detection = { category: "2", conf: 0.8, bbox: [0.6, 0.2, 0.15, 0.5] };
  const options = { threshold: run.renderThreshold, categories: run.categories };
  for (const size of SIZES) {
    const frames = await generateFrames(size, FRAMES);
    const totals = { preview: 0, previewWall: 0, render: 0, renderWall: 0, previewBlur: 0, renderBlur: 0, bytes: 0, frameBytes: 0 };
    // One untimed pass first: libvips and the fonts warm up.
    await makePreview(frames[0]!, [animal], options);
    await renderDetections(frames[0]!, [animal], options);
    for (const frame of frames) {
      const preview = await measured(() => makePreview(frame, [animal], options));
      const render = await measured(() => renderDetections(frame, [animal], options));
      const previewBlur = await measured(() => makePreview(frame, [animal, person], { ...options, blurPeople: true }));
      const renderBlur = await measured(() => renderDetections(frame, [animal, person], { ...options, blurPeople: true }));
      totals.preview += preview.cpu;
      totals.previewWall += preview.wall;
      totals.render += render.cpu;
      totals.renderWall += render.wall;
      totals.previewBlur += previewBlur.cpu;
      totals.renderBlur += renderBlur.cpu;
      totals.bytes += preview.value.length;
      totals.frameBytes += frame.length;
    }
    const per = (value: number) => (value / frames.length).toFixed(1);
    const meta = await sharp(await makePreview(frames[0]!, [animal], options)).metadata();
    console.log(
      `  ${size.width}x${size.height} (${(totals.frameBytes / frames.length / 1e6).toFixed(2)} MB JPEG): preview ${per(totals.preview)} ms CPU (${per(totals.previewWall)} ms wall), ` +
        `boxed copy ${per(totals.render)} ms CPU (${per(totals.renderWall)} ms wall), preview/copy ${(totals.preview / totals.render).toFixed(2)}; ` +
        `with a blurred person: preview ${per(totals.previewBlur)} ms, copy ${per(totals.renderBlur)} ms CPU; ` +
        `${(totals.bytes / frames.length / 1024).toFixed(1)} KiB per preview (${meta.width}x${meta.height})`,
    );
  }
}

await benchRoute();
await benchPreviews();
