import assert from "node:assert/strict";
import { test } from "node:test";
import { groupEvents, withEvents } from "./events.ts";
import type { CameraTrapInfo, ImageResult, RunInfo } from "../types.ts";

const run: RunInfo = {
  detector: "md_v5a.0.0.onnx",
  categories: { "1": "animal", "2": "person", "3": "vehicle" },
  outputThreshold: 0.005,
  renderThreshold: 0.2,
  provider: "cpu",
  startedAt: new Date(0),
  completedAt: new Date(0),
};

const at = (hms: string) => {
  const wallClock = new Date(`2024-05-01T${hms}Z`);
  return { text: `2024:05:01 ${hms}`, wallClock };
};

function image(path: string, time: string | undefined, extra: { conf?: number; category?: string; serial?: string; trap?: Partial<CameraTrapInfo> } = {}): ImageResult {
  return {
    path,
    status: "ok",
    warnings: [],
    detections: extra.conf === undefined ? [] : [{ category: extra.category ?? "1", conf: extra.conf, bbox: [0, 0, 0.5, 0.5] }],
    metadata: {
      ...(time ? { dateTimeOriginal: at(time) } : {}),
      ...(extra.serial ? { serialNumber: extra.serial } : {}),
      ...(extra.trap ? { cameraTrap: { format: "Reconyx HyperFire", ...extra.trap } } : {}),
    },
    fileSize: 1,
  };
}

const members = (grouping: Awaited<ReturnType<typeof groupEvents>>, paths: string[]) => paths.map((p) => grouping.eventOf(p));

test("without maker fields: images within the gap form one event, per folder", async () => {
  const grouping = await groupEvents(
    [
      image("cam1/a.jpg", "10:00:00", { conf: 0.9 }),
      image("cam1/b.jpg", "10:00:40"),
      image("cam1/c.jpg", "10:01:30", { conf: 0.3, category: "2" }), // 50 s after b: same event
      image("cam1/d.jpg", "10:02:31"), // 61 s after c: a new one
      image("cam2/a.jpg", "10:00:10"), // another camera, same time: its own event
      image("cam1/nodate.jpg", undefined),
      { ...image("cam1/broken.jpg", "10:00:05"), status: "failed" },
    ],
    run,
  );
  const [ab, , , d, other, nodate] = members(grouping, ["cam1/a.jpg", "cam1/b.jpg", "cam1/c.jpg", "cam1/d.jpg", "cam2/a.jpg", "cam1/nodate.jpg"]);
  assert.deepEqual(members(grouping, ["cam1/b.jpg", "cam1/c.jpg"]), [ab, ab]);
  assert.equal(new Set([ab, d, other, nodate]).size, 4);
  assert.equal(grouping.eventOf("cam1/broken.jpg"), undefined, "failed images belong to no event");
  const first = grouping.events.find((e) => e.id === ab)!;
  assert.deepEqual(
    { camera: first.camera, start: first.start, end: first.end, count: first.imageCount, max: first.maxConfidence, category: first.category },
    { camera: "cam1", start: at("10:00:00").wallClock, end: at("10:01:30").wallClock, count: 3, max: 0.9, category: "animal+person" },
  );
  assert.equal(grouping.events.find((e) => e.id === d)!.category, "empty");
  assert.equal(grouping.events.length, 4);
});

test("the gap is configurable", async () => {
  const frames = [image("c/1.jpg", "10:00:00"), image("c/2.jpg", "10:00:20"), image("c/3.jpg", "10:00:40")];
  assert.equal((await groupEvents(frames, run, { gapSeconds: 10 })).events.length, 3);
  assert.equal((await groupEvents(frames, run, { gapSeconds: 20 })).events.length, 1);
});

test("maker bursts: the camera's event counter splits triggers the time gap would join", async () => {
  const burst = (n: number, index: number) => ({ trap: { eventNumber: n, sequence: { index, count: 3 } }, serial: "H500X" });
  const grouping = await groupEvents(
    [
      image("card/RCNX0001.JPG", "10:00:00", burst(7, 1)),
      image("card/RCNX0002.JPG", "10:00:01", burst(7, 2)),
      image("card/RCNX0003.JPG", "10:00:02", burst(7, 3)),
      image("card/RCNX0004.JPG", "10:00:10", burst(8, 1)), // 8 s later, a new trigger
      image("card/RCNX0005.JPG", "10:00:11", burst(8, 2)),
      image("card/RCNX0006.JPG", "10:00:12", burst(8, 3)),
      image("other-folder/RCNX0007.JPG", "10:00:13", burst(8, 3)), // same camera (serial), same event
    ],
    run,
  );
  const ids = members(grouping, ["card/RCNX0001.JPG", "card/RCNX0002.JPG", "card/RCNX0003.JPG", "card/RCNX0004.JPG", "card/RCNX0005.JPG", "card/RCNX0006.JPG", "other-folder/RCNX0007.JPG"]);
  assert.deepEqual(ids, ["E00001", "E00001", "E00001", "E00002", "E00002", "E00002", "E00002"]);
  assert.equal(grouping.events[0]!.camera, "H500X");
  assert.equal(grouping.cameras.length, 1);
});

test("maker bursts without a counter follow the sequence; time-lapse frames (0 of 0) use the gap", async () => {
  const seq = (index: number, count: number) => ({ trap: { sequence: { index, count } } });
  const grouping = await groupEvents(
    [
      image("u/1.jpg", "10:00:00", seq(1, 2)),
      image("u/2.jpg", "10:00:02", seq(2, 2)),
      image("u/3.jpg", "10:00:04", seq(1, 2)), // a new burst starts at 1
      image("u/4.jpg", "10:00:06", seq(2, 2)),
      image("t/1.jpg", "12:00:00", seq(0, 0)),
      image("t/2.jpg", "12:05:00", seq(0, 0)),
    ],
    run,
  );
  assert.deepEqual(members(grouping, ["u/1.jpg", "u/2.jpg", "u/3.jpg", "u/4.jpg", "t/1.jpg", "t/2.jpg"]), ["E00003", "E00003", "E00004", "E00004", "E00001", "E00002"]);
});

test("withEvents names each image's event and leaves the rest of the result alone", async () => {
  const images = [image("a/1.jpg", "10:00:00"), image("a/2.jpg", "10:00:30")];
  const grouping = await groupEvents(images, run);
  const named = [];
  for await (const result of withEvents(images, grouping)) named.push(result);
  assert.deepEqual(named.map((r) => r.event), ["E00001", "E00001"]);
  assert.deepEqual({ ...named[0], event: undefined }, { ...images[0], event: undefined });
});
