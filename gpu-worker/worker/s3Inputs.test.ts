// Inputs from S3 through the CLI's input rules: paths start from what the user chose, zips
// expand, and a file that is gone from S3 or has an unsafe name becomes a row with its reason
// instead of failing the job.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PlannedFile } from "../../core/jobs.ts";
import { startLocalAws, type LocalAws } from "../../test/helpers/localAws.ts";
import { storedEntry, zipBytes } from "../../test/helpers/zipBytes.ts";
import { photo } from "../../test/e2e/photos.ts";
import { downloadJobInputs } from "./s3Inputs.ts";

let aws: LocalAws;
let scratch: string;

before(async () => {
  aws = await startLocalAws();
  scratch = await mkdtemp(join(tmpdir(), "trapline-s3inputs-"));
});

after(async () => {
  await aws?.stop();
  await rm(scratch, { recursive: true, force: true });
});

test("planned files download, zips expand, and missing or unsafe ones become rows", async () => {
  const jpeg = await photo();
  const put = async (key: string, body: Buffer) => aws.clients.s3.send(new PutObjectCommand({ Bucket: aws.config.BUCKET, Key: key, Body: body }));
  await put("jobs/x/input/cam1/IMG_1.JPG", jpeg);
  await put("jobs/x/input/card.zip", zipBytes([storedEntry("DCIM/IMG_2.JPG", jpeg)]));
  const files: PlannedFile[] = [
    { name: "cam1/IMG_1.JPG", key: "jobs/x/input/cam1/IMG_1.JPG", size: jpeg.length, method: "PUT" },
    { name: "card.zip", key: "jobs/x/input/card.zip", size: 1, method: "PUT" },
    { name: "cam1/gone.JPG", key: "jobs/x/input/cam1/gone.JPG", size: 10, method: "PUT" },
    { name: "../escape.JPG", key: "jobs/x/input/escape.JPG", size: 10, method: "PUT" },
  ];
  const inputs = await downloadJobInputs(aws.clients.s3, files, { bucket: aws.config.BUCKET, scratchDir: scratch });
  try {
    const images = inputs.items.flatMap((item) => (item.kind === "image" ? [item.source.path] : []));
    assert.deepEqual(images, ["cam1/IMG_1.JPG", "card/DCIM/IMG_2.JPG"]);
    const first = inputs.items.find((item) => item.kind === "image");
    assert.deepEqual(first?.kind === "image" ? await first.source.read() : undefined, jpeg);
    const rejected = new Map(inputs.items.flatMap((item) => (item.kind === "rejected" ? [[item.path, item.reason] as const] : [])));
    assert.match(rejected.get("cam1/gone.JPG") ?? "", /not found in storage/);
    assert.match(rejected.get("../escape.JPG") ?? "", /goes up a folder/);
    assert.equal(inputs.imageCount, 2);
    assert.equal(inputs.rejectedCount, 2);
    assert.deepEqual(inputs.root, { kind: "several", count: 2 }, "cam1/ and card.zip: each keeps its name");
  } finally {
    await inputs.dispose();
  }
  assert.deepEqual(await readdir(scratch), [], "dispose removes the scratch folder");
});

test("a job of one folder gets paths relative to it, a file missing from it too", async () => {
  const jpeg = await photo();
  await aws.clients.s3.send(new PutObjectCommand({ Bucket: aws.config.BUCKET, Key: "jobs/y/input/SDcard01/DCIM/IMG_1.JPG", Body: jpeg }));
  const files: PlannedFile[] = [
    { name: "SDcard01/DCIM/IMG_1.JPG", key: "jobs/y/input/SDcard01/DCIM/IMG_1.JPG", size: jpeg.length, method: "PUT" },
    { name: "SDcard01/DCIM/gone.JPG", key: "jobs/y/input/SDcard01/DCIM/gone.JPG", size: 10, method: "PUT" },
  ];
  const inputs = await downloadJobInputs(aws.clients.s3, files, { bucket: aws.config.BUCKET, scratchDir: scratch });
  try {
    assert.deepEqual(inputs.root, { kind: "folder", name: "SDcard01" });
    assert.deepEqual(
      inputs.items.map((item) => (item.kind === "image" ? ["image", item.source.path] : ["rejected", item.path])),
      [["image", "DCIM/IMG_1.JPG"], ["rejected", "DCIM/gone.JPG"]],
    );
  } finally {
    await inputs.dispose();
  }
});

test("a file whose ETag changed since submit checked it becomes a row; an unchanged one downloads", async () => {
  const jpeg = await photo();
  const put = async (key: string, body: Buffer) => aws.clients.s3.send(new PutObjectCommand({ Bucket: aws.config.BUCKET, Key: key, Body: body }));
  const kept = await put("jobs/y/input/kept.JPG", jpeg);
  const checked = await put("jobs/y/input/swapped.JPG", jpeg);
  // Uploaded again after submit with the still-valid link: a zip of many photos in place of one.
  await put("jobs/y/input/swapped.JPG", zipBytes([storedEntry("a.JPG", jpeg), storedEntry("b.JPG", jpeg)]));
  const files: PlannedFile[] = [
    { name: "kept.JPG", key: "jobs/y/input/kept.JPG", size: jpeg.length, method: "PUT", etag: kept.ETag! },
    { name: "swapped.JPG", key: "jobs/y/input/swapped.JPG", size: jpeg.length, method: "PUT", etag: checked.ETag! },
  ];
  const inputs = await downloadJobInputs(aws.clients.s3, files, { bucket: aws.config.BUCKET, scratchDir: scratch });
  try {
    assert.deepEqual(
      inputs.items.map((item) => (item.kind === "image" ? item.source.path : `${item.path}: ${item.reason}`)),
      ["kept.JPG", "swapped.JPG: changed after the upload was checked; it was not processed"],
    );
    assert.equal(inputs.imageCount, 1);
  } finally {
    await inputs.dispose();
  }
});
