// The results routes (issue 13) over real HTTP, on the fauxqs emulator and real Redis: a job of
// 10,000 generated results is indexed and stored by the same code the worker's merge runs
// (buildBrowse, storeBrowseIndex; gpu-worker/worker/shards.test.ts runs the whole merge), then browsed with cursors, filters and orders; bad cursors are a 400,
// another job's id a 404.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobRecord } from "../core/jobs.ts";
import { previewKey } from "../core/keys.ts";
import type { BrowseItem, BrowseSummary, ImagesPage } from "../functions/wire.ts";
import { buildBrowse } from "../gpu-worker/pipeline/outputs/browse.ts";
import { previewName } from "../gpu-worker/pipeline/outputs/preview.ts";
import type { ImageResult, RunInfo } from "../gpu-worker/pipeline/types.ts";
import { storeBrowseIndex } from "../gpu-worker/worker/shards/browseOutputs.ts";
import { startApiHarness, type ApiHarness } from "./helpers/apiHarness.ts";
import { sampleRun } from "./helpers/sampleRun.ts";

const N = 10_000;
let api: ApiHarness;
let jobId: string;
let scratch: string;
const results: ImageResult[] = [];
const run: RunInfo = sampleRun({ startedAt: new Date("2024-05-01T00:00:00Z"), completedAt: new Date("2024-05-02T00:00:00Z") });

/** Photo i: animal on every 3rd (confidence spread over 0.2–0.99), a person on every 7th, no date on every 11th, a blank-check sample on every 5th empty. */
function generated(i: number): ImageResult {
  const path = `cam${i % 10}/IMG_${String(i).padStart(5, "0")}.JPG`;
  const detections: ImageResult["detections"] = [];
  if (i % 3 === 0) detections.push({ category: "1", conf: Number((0.2 + ((i * 37) % 80) / 100).toFixed(3)), bbox: [0.1, 0.1, 0.3, 0.3] });
  if (i % 7 === 0) detections.push({ category: "2", conf: 0.6, bbox: [0.5, 0.5, 0.2, 0.4] });
  detections.push({ category: "1", conf: 0.05, bbox: [0, 0, 0.1, 0.1] }); // under the threshold: never counted
  const drawn = detections.some((d) => d.conf >= 0.2);
  const minutes = (i * 13) % (24 * 60);
  const text = `2024:05:${String(1 + (i % 20)).padStart(2, "0")} ${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}:00`;
  const wallClock = new Date(`${text.slice(0, 10).replaceAll(":", "-")}T${text.slice(11)}Z`);
  const sampled = !drawn && i % 5 === 0;
  return {
    path,
    status: "ok",
    warnings: [],
    detections: detections.sort((a, b) => b.conf - a.conf),
    metadata: { width: 1920, height: 1080, ...(i % 11 === 0 ? {} : { dateTimeOriginal: { text, wallClock } }), ...(i % 10 === 4 ? { latitude: -2.33, longitude: -61.5 } : {}) },
    fileSize: 1000,
    format: "jpeg",
    ...(drawn || sampled ? { preview: previewName(path) } : {}),
    ...(sampled ? { blankSample: true as const } : {}),
  };
}

async function newDoneJob(): Promise<string> {
  const id = randomBytes(16).toString("base64url");
  const now = new Date().toISOString();
  const job: JobRecord = { id, email: "ranger@example.org", status: "done", createdAt: now, updatedAt: now, fileCount: N, totalBytes: 0, options: {}, progress: { processed: N, total: N }, attempts: 1 };
  await api.store.create(job);
  return id;
}

before(async () => {
  api = await startApiHarness({ JOB_READS_PER_MINUTE: "100000" });
  scratch = await mkdtemp(join(tmpdir(), "trapline-results-route-"));
  for (let i = 0; i < N; i++) results.push(generated(i));
  jobId = await newDoneJob();
  // One real preview in storage: its link must serve it.
  await api.aws.clients.s3.send(new PutObjectCommand({ Bucket: api.aws.config.BUCKET, Key: previewKey(jobId, results[0]!.preview!), Body: Buffer.from("preview bytes"), ContentType: "image/jpeg" }));
  const build = await buildBrowse(() => results, run, { scratchDir: scratch });
  try {
    await storeBrowseIndex(api.aws.clients.s3, api.aws.config.BUCKET, jobId, build);
  } finally {
    await build.dispose();
  }
});

after(async () => {
  await api?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

async function images(query: Record<string, string | number>, id = jobId): Promise<{ status: number; page: ImagesPage; code?: string }> {
  const text = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
  const { status, json } = await api.call("GET", `/api/jobs/${id}/images${text ? `?${text}` : ""}`);
  return { status, page: json as unknown as ImagesPage, code: json?.error?.code };
}

/** Every item of a filtered view, following cursors; also counts the requests. */
async function walk(query: Record<string, string | number>): Promise<{ items: BrowseItem[]; requests: number }> {
  const items: BrowseItem[] = [];
  let cursor: string | undefined;
  let requests = 0;
  do {
    const { status, page } = await images({ ...query, ...(cursor ? { cursor } : {}) });
    assert.equal(status, 200);
    assert.ok(page.images.length <= Number(query.limit ?? 100));
    items.push(...page.images);
    cursor = page.cursor;
    requests += 1;
    assert.ok(requests < 1_000, "the walk ends");
  } while (cursor);
  return { items, requests };
}

const drawnOf = (r: ImageResult) => r.detections.filter((d) => d.conf >= 0.2);

test("summary: counts per category, folder and hour, undated photos, cameras with GPS", async () => {
  const { status, json } = await api.call("GET", `/api/jobs/${jobId}/summary`);
  assert.equal(status, 200);
  const summary = json as unknown as BrowseSummary;
  const withAnimal = results.filter((r) => drawnOf(r).some((d) => d.category === "1")).length;
  const withPerson = results.filter((r) => drawnOf(r).some((d) => d.category === "2")).length;
  const detected = results.filter((r) => drawnOf(r).length > 0);
  assert.equal(summary.images, N);
  assert.deepEqual(summary.perCategory, { "1": withAnimal, "2": withPerson, "3": 0 });
  assert.equal(summary.withDetections, detected.length);
  assert.equal(summary.empty, N - detected.length);
  assert.equal(summary.blankSample, results.filter((r) => r.blankSample).length);
  assert.equal(summary.undated, detected.filter((r) => !r.metadata.dateTimeOriginal).length);
  assert.equal(summary.hours["1"]!.reduce((s, v) => s + v, 0), detected.filter((r) => r.metadata.dateTimeOriginal && drawnOf(r).some((d) => d.category === "1")).length);
  assert.equal(summary.folders.length, 10);
  assert.equal(summary.folders.reduce((s, f) => s + f.images, 0), N);
  assert.deepEqual(summary.cameras.map((c) => [c.camera, c.latitude, c.longitude]), [["cam4", -2.33, -61.5]]);
});

test("every photo with a detection, 200 at a time by time: each once, in camera time, undated last", async () => {
  const { items, requests } = await walk({ sort: "time", limit: 200 });
  const expected = results.filter((r) => drawnOf(r).length > 0);
  assert.equal(items.length, expected.length);
  assert.equal(new Set(items.map((i) => i.file)).size, items.length);
  assert.ok(requests <= Math.ceil(expected.length / 200) + 1, `${requests} requests`);
  const dated = items.filter((i) => i.datetime);
  for (let k = 1; k < dated.length; k++) assert.ok(dated[k - 1]!.datetime! <= dated[k]!.datetime!, "time order");
  assert.ok(items.slice(dated.length).every((i) => !i.datetime), "undated at the end");
  // Preview links are presigned and serve the preview.
  const first = items.find((i) => i.file === results[0]!.path)!;
  assert.ok(first.previewUrl?.includes("X-Amz-Signature"));
  assert.equal(await (await fetch(first.previewUrl!)).text(), "preview bytes");
  // Only boxes at the threshold are listed.
  assert.ok(items.every((i) => i.detections.every((d) => d.conf >= 0.2)));
});

test("filters: category by name or id with a confidence range by confidence; folder and category; the blank check", async () => {
  const inRange = results.filter((r) => drawnOf(r).some((d) => d.category === "1" && d.conf >= 0.5 && d.conf <= 0.8));
  const byName = await walk({ sort: "confidence", category: "animal", minConf: 0.5, maxConf: 0.8, limit: 150 });
  assert.deepEqual(byName.items.map((i) => i.file).sort(), inRange.map((r) => r.path).sort());
  const confs = byName.items.map((i) => Math.max(...i.detections.filter((d) => d.category === "1").map((d) => d.conf)));
  for (let k = 1; k < confs.length; k++) assert.ok(byName.items[k - 1]!.maxConf >= byName.items[k]!.maxConf, "highest first");
  assert.ok(confs.every((c) => c >= 0.5 && c <= 0.8));
  const byId = await walk({ sort: "confidence", category: "1", minConf: 0.5, maxConf: 0.8, limit: 500 });
  assert.deepEqual(byId.items.map((i) => i.file), byName.items.map((i) => i.file));

  const cam3People = await walk({ folder: "cam3", category: "person", limit: 50 });
  assert.deepEqual(cam3People.items.map((i) => i.file).sort(), results.filter((r) => r.path.startsWith("cam3/") && drawnOf(r).some((d) => d.category === "2")).map((r) => r.path).sort());

  const blank = await walk({ category: "empty", limit: 500 });
  assert.deepEqual(blank.items.map((i) => i.file).sort(), results.filter((r) => r.blankSample).map((r) => r.path).sort());
  assert.ok(blank.items.every((i) => i.blank && i.detections.length === 0 && i.previewUrl));

  const nowhere = await images({ folder: "no-such-folder" });
  assert.deepEqual(nowhere, { status: 200, page: { images: [] }, code: undefined });
});

test("event: one burst's frames (DESIGN.md's event= filter), each once, whether or not its folder is given", async () => {
  const { page } = await images({ sort: "time", limit: 500 });
  const burst = page.images.find((item) => item.event && (item.eventFrames ?? 0) > 1);
  assert.ok(burst, "the generated season has bursts");
  for (const query of [{ event: burst.event! }, { event: burst.event!, folder: burst.folder }] as Record<string, string>[]) {
    const { items } = await walk({ sort: "time", limit: 200, ...query });
    assert.ok(items.length >= 1 && items.every((item) => item.event === burst.event), JSON.stringify(query));
    assert.ok(items.length <= burst.eventFrames!, "no more frames than the burst has");
    assert.equal(new Set(items.map((item) => item.file)).size, items.length);
  }
});

test("a cursor may repeat its filters, not change them; a bad cursor, limit, sort or category is a 400", async () => {
  const first = await images({ category: "animal", limit: 10 });
  const cursor = first.page.cursor!;
  assert.ok(cursor);
  const again = await images({ category: "animal", limit: 10, cursor });
  assert.equal(again.status, 200);
  assert.notEqual(again.page.images[0]!.file, first.page.images[0]!.file);
  assert.equal((await images({ category: "person", cursor })).status, 400);
  for (const bad of ["nonsense!", "eyJ2IjoxfQ", Buffer.from(JSON.stringify({ v: 1, j: jobId, f: { sort: "time" }, p: -1, l: 0 })).toString("base64url")]) {
    const answer = await images({ cursor: bad });
    assert.equal(answer.status, 400, bad);
    assert.equal(answer.code, "bad_cursor");
  }
  assert.equal((await images({ limit: 501 })).status, 400);
  assert.equal((await images({ sort: "size" })).status, 400);
  assert.equal((await images({ category: "leopard" })).code, "bad_category");
  assert.equal((await images({ minConf: 2 })).status, 400);

  // Another job: its own cursor is refused here, and a job with no index is a 404.
  const other = await newDoneJob();
  assert.equal((await images({ cursor }, other)).status, 400);
  assert.equal((await images({}, other)).status, 404);
  assert.equal((await api.call("GET", `/api/jobs/${other}/summary`)).status, 404);
  const unknown = randomBytes(16).toString("base64url");
  assert.equal((await images({}, unknown)).status, 404);
  assert.equal((await api.call("GET", `/api/jobs/${unknown}/summary`)).status, 404);
});
