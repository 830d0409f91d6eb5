import { test } from "node:test";
import assert from "node:assert/strict";
import { PassThrough, Writable } from "node:stream";
import { text } from "node:stream/consumers";
import type { ImageResult, RunInfo } from "../types.ts";
import { megadetectorVersion, mdTimestamp, writeDetectionsJson } from "./detectionsJson.ts";
import { sampleRun } from "../../../test/helpers/sampleRun.ts";

const run: RunInfo = sampleRun({ startedAt: new Date("2026-03-01T10:00:00.250Z"), completedAt: new Date("2026-03-01T10:05:07.900Z") });

/** The parts of an MD batch file these tests read. */
interface MdBatchFile {
  images: Array<{ file: string; detections: unknown[] | null; failure?: string }>;
  detection_categories: Record<string, string>;
  info: {
    format_version: string;
    detector: string;
    detection_completion_time: string;
    detector_metadata: Record<string, unknown>;
    custom_metadata: Record<string, unknown>;
  };
}

function parse(json: string): MdBatchFile {
  return JSON.parse(json) as MdBatchFile;
}

function image(path: string, extra: Partial<ImageResult> = {}): ImageResult {
  return { path, status: "ok", warnings: [], detections: [], metadata: {}, fileSize: 1000, format: "jpeg", ...extra };
}

async function render(images: Iterable<ImageResult> | AsyncIterable<ImageResult>): Promise<string> {
  const out = new PassThrough();
  const [json] = await Promise.all([text(out), writeDetectionsJson(images, run, out)]);
  return json;
}

test("writes MD's batch format: images, categories and info that parse back", async () => {
  const json = await render([
    image("cam1/IMG_0001.JPG", {
      detections: [
        { category: "2", conf: 0.31, bbox: [0.5, 0.5, 0.1, 0.2] },
        { category: "1", conf: 0.926, bbox: [0, 0.2762, 0.1539, 0.2825] },
      ],
    }),
    image("cam1/IMG_0002.JPG"),
    image("cam2/broken.jpg", { status: "failed", error: "Not an image: the file ends after 12 bytes." }),
  ]);
  const parsed = parse(json);

  assert.deepEqual(Object.keys(parsed), ["images", "detection_categories", "info"]);
  assert.deepEqual(parsed.detection_categories, { "1": "animal", "2": "person", "3": "vehicle" });
  assert.deepEqual(parsed.images, [
    {
      file: "cam1/IMG_0001.JPG",
      detections: [
        { category: "1", conf: 0.926, bbox: [0, 0.2762, 0.1539, 0.2825] },
        { category: "2", conf: 0.31, bbox: [0.5, 0.5, 0.1, 0.2] },
      ],
    },
    { file: "cam1/IMG_0002.JPG", detections: [] },
    { file: "cam2/broken.jpg", failure: "image access failure", detections: null },
  ]);
  assert.equal(parsed.info.format_version, "1.6");
  assert.equal(parsed.info.detector, "md_v5a.0.0.onnx");
  assert.equal(parsed.info.detection_completion_time, "2026-03-01 10:05:07");
  assert.deepEqual(parsed.info.detector_metadata, {
    megadetector_version: "v5a.0.0",
    typical_detection_threshold: 0.2,
    conf_digits: 3,
    coord_digits: 4,
  });
  assert.equal(parsed.info.custom_metadata.output_confidence_threshold, 0.005);
  assert.equal(parsed.info.custom_metadata.execution_provider, "cpu");
});

test("whole numbers are written as floats (1.0, 0.0), as MD's validator wants conf to be", async () => {
  const json = await render([image("a.jpg", { detections: [{ category: "1", conf: 1, bbox: [0, 0, 1, 1] }] })]);
  assert.match(json, /"conf":1\.0,"bbox":\[0\.0,0\.0,1\.0,1\.0\]/);
});

test("an empty job is still a valid file", async () => {
  const parsed = parse(await render([]));
  assert.deepEqual(parsed.images, []);
  assert.equal(parsed.info.format_version, "1.6");
});

test("streams a long async list in order and waits for a slow reader", async () => {
  const count = 20_000;
  async function* many(): AsyncGenerator<ImageResult> {
    for (let i = 0; i < count; i++) {
      if (i % 1000 === 0) await Promise.resolve(); // a real async source, as the result spool is
      yield image(`cam/${String(i).padStart(6, "0")}.jpg`, {
        detections: [{ category: "1", conf: 0.5, bbox: [0.1, 0.1, 0.2, 0.2] }],
      });
    }
  }
  const chunks: string[] = [];
  let peakBuffered = 0;
  const slowReader = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      peakBuffered = Math.max(peakBuffered, this.writableLength);
      chunks.push(chunk.toString());
      setImmediate(callback);
    },
  });
  await writeDetectionsJson(many(), run, slowReader);

  const parsed = parse(chunks.join(""));
  assert.equal(parsed.images.length, count);
  assert.equal(parsed.images[count - 1]?.file, `cam/${String(count - 1).padStart(6, "0")}.jpg`);
  // Backpressure: the writer never queues more than one chunk beyond the reader's buffer.
  assert.ok(peakBuffered < 200 * 1024, `buffered ${peakBuffered} bytes`);
});

test("a failing output stream rejects instead of hanging", async () => {
  const broken = new Writable({
    highWaterMark: 1,
    write(_chunk, _encoding, callback) {
      callback(new Error("disk full"));
    },
  });
  const images = Array.from({ length: 5000 }, (_, i) => image(`x/${i}.jpg`));
  await assert.rejects(writeDetectionsJson(images, run, broken), /disk full/);
});

test("MD version and timestamp helpers", () => {
  assert.equal(megadetectorVersion("md_v5a.0.0.onnx"), "v5a.0.0");
  assert.equal(megadetectorVersion("md_v1000.0.0-redwood.onnx"), "v1000.0.0-redwood");
  assert.equal(megadetectorVersion("tiny-test.onnx"), "unknown");
  assert.equal(mdTimestamp(new Date("2024-12-31T23:59:59.999Z")), "2024-12-31 23:59:59");
});
