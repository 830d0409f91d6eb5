// End to end over real HTTP: the local stack (API, fauxqs answering CORS, shared Redis
// under a random key prefix, the worker with the tiny model). A browser-like client creates a
// job, uploads one file by presigned PUT and a zip by multipart in several parts, submits,
// polls to done and downloads the zip through the presigned URL.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import ExcelJS from "exceljs";
import { copyFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { outputPrefix, resultKey } from "../../core/keys.ts";
import { storedEntry, zipBytes } from "../helpers/zipBytes.ts";
import { longJob, noiseJpeg, photo } from "./photos.ts";
import { api, downloadZip, MiB, startTestStack, submitJob, waitForStatus, type TestStack } from "./stack.ts";
import { until } from "../helpers/until.ts";

let stack: TestStack;

before(async () => {
  stack = await startTestStack({ MULTIPART_THRESHOLD_BYTES: String(5 * MiB), PART_BYTES: String(5 * MiB) });
});

after(async () => {
  await stack?.close();
});

test("a job goes from upload (PUT and multipart) to a downloaded results zip", async () => {
  const animal = await photo({ left: 160, top: 120, width: 320, height: 240 });
  const empty = await photo();
  // Over the multipart threshold: three 5 MiB parts (the last one shorter).
  const card = zipBytes([storedEntry("DCIM/IMG_0100.JPG", animal), storedEntry("DCIM/IMG_0101.JPG", empty), storedEntry("DCIM/broken.JPG", noiseJpeg(12 * MiB))]);
  assert.ok(card.length > 10 * MiB);

  const started = performance.now();
  const { jobId, plan } = await submitJob(stack.url, [
    { name: "cam1/IMG_0001.JPG", bytes: animal },
    { name: "card.zip", bytes: card, type: "application/zip" },
  ]);
  assert.equal(plan.find((entry) => entry.name === "card.zip")?.multipart?.parts.length, 3);
  assert.equal(plan.find((entry) => entry.name === "cam1/IMG_0001.JPG")?.method, "PUT");

  const done = await waitForStatus(stack.url, jobId, "done");
  const seconds = (performance.now() - started) / 1000;
  console.log(`one e2e job (2 uploads, 13 MiB, 4 images): created to done in ${seconds.toFixed(2)} s`);
  assert.deepEqual(done.progress, { processed: 4, total: 4 });
  assert.equal(done.result?.images, 4);
  assert.equal(done.result?.failed, 1, "the broken photo is a row with its reason, not a failed job");
  assert.ok(done.downloadUrl);

  const zip = await downloadZip(done.downloadUrl, stack.dir);
  assert.ok(zip.has("cam1/IMG_0001.JPG"));
  assert.notDeepEqual(zip.get("cam1/IMG_0001.JPG"), animal, "boxes drawn");
  assert.ok(zip.has("card/DCIM/IMG_0100.JPG"), "a zip's photo with a detection comes back boxed (read from S3 by entry range)");
  // images "detections" (the default): a photo without a detection, and the broken one, are rows, not copies.
  assert.ok(!zip.has("card/DCIM/IMG_0101.JPG") && !zip.has("card/DCIM/broken.JPG"), [...zip.keys()].join(", "));
  assert.ok(zip.has("results.xlsx") && zip.has("README.txt"));
  const json = JSON.parse(zip.get("detections.json")!.toString()) as { images: Array<{ file: string; detections?: Array<{ category: string; conf: number; bbox: number[] }>; failure?: string }> };
  const byFile = new Map(json.images.map((image) => [image.file, image]));
  for (const file of ["cam1/IMG_0001.JPG", "card/DCIM/IMG_0100.JPG"]) {
    const [best] = byFile.get(file)?.detections ?? [];
    assert.equal(best?.category, "1", file);
    assert.ok(Math.abs(best.conf - 0.9) < 0.01);
    // The target covers the middle quarter of the frame.
    assert.deepEqual(best.bbox.map((v) => Math.round(v * 4) / 4), [0.25, 0.25, 0.5, 0.5]);
  }
  assert.deepEqual(byFile.get("card/DCIM/IMG_0101.JPG")?.detections, []);
  assert.ok(byFile.get("card/DCIM/broken.JPG")?.failure);

  const redirect = await fetch(`${stack.url}/api/jobs/${jobId}/download`, { redirect: "manual" });
  assert.equal(redirect.status, 302);
  const objects = await stack.clients.s3.send(new ListObjectsV2Command({ Bucket: stack.config.BUCKET, Prefix: outputPrefix(jobId) }));
  // Beside the package: its previews and browse index (issue 13), never a second zip.
  assert.deepEqual((objects.Contents ?? []).map((object) => object.Key).filter((key) => key?.endsWith(".zip")), [resultKey(jobId)]);
});

test("browser preflights to the S3 endpoint get the bucket's CORS answer", async () => {
  const created = await api<{ uploads: Array<{ url: string }> }>(stack.url, "/api/jobs", {
    method: "POST",
    body: JSON.stringify({ email: "ranger@example.org", files: [{ name: "a.jpg", size: 10, type: "image/jpeg" }] }),
  });
  const url = created.json.uploads[0]!.url;
  const preflight = await fetch(url, {
    method: "OPTIONS",
    headers: { origin: "http://localhost:3000", "access-control-request-method": "PUT", "access-control-request-headers": "content-type" },
  });
  assert.equal(preflight.status, 200);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "http://localhost:3000");
  assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /PUT/);
  assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /content-type/);
  assert.equal(new URL(url).searchParams.has("x-amz-checksum-crc32"), false);
});

test("jobs submitted while the worker has no model wait in the queue, then run once it appears", async () => {
  const later = join(tmpdir(), `trapline-later-${process.pid}-${Date.now()}.onnx`);
  const waiting = await startTestStack({ MODEL: later }, { modelCheckMs: 300 });
  try {
    assert.ok(waiting.lines.some((line) => line.includes("The worker cannot run jobs") && line.includes("npm run models:fetch -- md_v5a.0.0")), waiting.lines.join("\n"));
    const { jobId } = await submitJob(waiting.url, [{ name: "a.jpg", bytes: await photo() }]);
    await sleep(1500);
    const queued = await api<{ status: string }>(waiting.url, `/api/jobs/${jobId}`);
    assert.equal(queued.json.status, "queued");
    const { Attributes } = await waiting.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: waiting.queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
    );
    assert.deepEqual([Attributes?.ApproximateNumberOfMessages, Attributes?.ApproximateNumberOfMessagesNotVisible], ["1", "0"], "the message waits, untouched");
    // The model arrives (as after `npm run models:fetch`): the worker starts and the job runs.
    await copyFile(waiting.modelPath, later);
    await until("the worker to start", () => Promise.resolve(waiting.workers().length > 0));
    const done = await waitForStatus(waiting.url, jobId, "done");
    assert.equal(done.result?.images, 1);
  } finally {
    await waiting.close();
    await rm(later, { force: true });
  }
});

test("a photo replaced after submit, while the job waits (its upload link is still valid), is a row in the results, not processed", async () => {
  const later = join(tmpdir(), `trapline-replaced-${process.pid}-${Date.now()}.onnx`);
  const waiting = await startTestStack({ MODEL: later }, { modelCheckMs: 300 });
  try {
    const kept = await photo();
    const { jobId, plan } = await submitJob(waiting.url, [
      { name: "cam1/kept.JPG", bytes: kept },
      { name: "cam1/swapped.JPG", bytes: kept },
    ]);
    // The report that started this: one checked photo, re-uploaded as a zip of many while queued.
    const swapped = plan.find((entry) => entry.name === "cam1/swapped.JPG")!;
    const replacement = zipBytes([storedEntry("a.JPG", kept), storedEntry("b.JPG", kept), storedEntry("c.JPG", kept)]);
    const put = await fetch(swapped.url!, { method: "PUT", headers: swapped.headers ?? {}, body: new Uint8Array(replacement) });
    assert.equal(put.status, 200, "the emulator checks neither signatures nor signed lengths; S3 would refuse this length, not a same-length swap");

    await copyFile(waiting.modelPath, later);
    const done = await waitForStatus(waiting.url, jobId, "done");
    const zip = await downloadZip(done.downloadUrl!, waiting.dir);
    assert.deepEqual([...zip.keys()].filter((name) => name.includes("swapped")), [], "nothing from the swapped zip was processed");
    const json = JSON.parse(zip.get("detections.json")!.toString()) as { images: Array<{ file: string }> };
    // One uploaded folder, cam1/: paths are relative to it (DESIGN.md "Paths in the results").
    assert.deepEqual(json.images.map((image) => image.file), ["kept.JPG"]);
    // The swapped file is a row of results.xlsx with its reason (exceljs reads files, not Buffers, under ES2024 types).
    const xlsxPath = join(waiting.dir, "results.xlsx");
    await writeFile(xlsxPath, zip.get("results.xlsx")!);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.readFile(xlsxPath);
    const rows: string[] = [];
    workbook.getWorksheet("Images")!.eachRow((row, n) => {
      if (n > 1) rows.push((row.values as unknown[]).map(String).join(" | "));
    });
    assert.equal(rows.length, 2, rows.join("\n"));
    assert.match(rows.find((row) => row.includes("| swapped.JPG |")) ?? "", /changed after the upload was checked; it was not processed/);
    assert.equal(done.result?.failed, 1);
  } finally {
    await waiting.close();
    await rm(later, { force: true });
  }
});

test("WORKERS=2: two jobs run at the same time, each worker with its own model", async () => {
  const pair = await startTestStack({ WORKERS: "2" });
  try {
    assert.equal(pair.workers().length, 2);
    assert.ok(pair.lines.includes("2 workers take jobs from the queue."), pair.lines.join("\n"));
    const jobs = [await submitJob(pair.url, await longJob()), await submitJob(pair.url, await longJob())];
    await until("both jobs to be processing at once", async () => {
      const views = await Promise.all(jobs.map(({ jobId }) => api<{ status: string }>(pair.url, `/api/jobs/${jobId}`)));
      return views.every((view) => view.json.status === "processing");
    }, 30_000, 20);
    const running = new Set(pair.workers().map((worker) => worker.currentJobId));
    assert.deepEqual(running, new Set(jobs.map(({ jobId }) => jobId)), "one job on each worker");
    for (const { jobId } of jobs) await waitForStatus(pair.url, jobId, "done", 60_000);
    assert.ok(pair.lines.some((line) => line.startsWith("[worker 1] Job")) && pair.lines.some((line) => line.startsWith("[worker 2] Job")), pair.lines.join("\n"));
  } finally {
    await pair.close();
  }
});
