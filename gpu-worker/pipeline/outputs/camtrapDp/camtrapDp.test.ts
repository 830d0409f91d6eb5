import assert from "node:assert/strict";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { after, before, test } from "node:test";
import { groupEvents } from "../../events/events.ts";
import type { ImageResult, RunInfo } from "../../types.ts";
import { checkUtcOffset, withOffset } from "./timestamps.ts";
import { parseCsv, validateCamtrapPackage } from "../../../../test/helpers/camtrapDp/validatePackage.ts";
import { writeCamtrapPackage, type CamtrapOptions, type PackageSink } from "./writePackage.ts";
import { sampleRun } from "../../../../test/helpers/sampleRun.ts";

const run: RunInfo = sampleRun();

const clock = (text: string) => {
  const [y, mo, d, h, mi, s] = text.split(/[: ]/).map(Number) as [number, number, number, number, number, number];
  return { text, wallClock: new Date(Date.UTC(y, mo - 1, d, h, mi, s)) };
};

function image(path: string, time: string | undefined, detections: ImageResult["detections"] = [], extra: Partial<ImageResult["metadata"]> = {}): ImageResult {
  return {
    path,
    status: "ok",
    warnings: [],
    detections,
    metadata: { ...(time ? { dateTimeOriginal: clock(time) } : {}), ...extra },
    fileSize: 1000,
    format: "jpeg",
  };
}

const gps = { latitude: -2.4, longitude: 34.8, make: "RECONYX", model: "HC500", serialNumber: "H500EE06130468" };
const results: ImageResult[] = [
  image("site-a/RCNX0001.JPG", "2020:03:16 10:00:00", [
    { category: "1", conf: 0.92, bbox: [0.1, 0.2, 0.3, 0.4] },
    { category: "1", conf: 0.5, bbox: [0.6, 0.2, 0.2, 0.2] },
    { category: "2", conf: 0.1, bbox: [0, 0, 0.1, 0.1] }, // below the render threshold: not an observation
  ], { ...gps, cameraTrap: { format: "Reconyx HyperFire", triggerMode: "Motion Detection", sequence: { index: 1, count: 2 }, eventNumber: 4 } }),
  image("site-a/RCNX0002.JPG", "2020:03:16 10:00:01", [{ category: "2", conf: 0.81, bbox: [0.4, 0.4, 0.2, 0.5] }], {
    ...gps,
    cameraTrap: { format: "Reconyx HyperFire", triggerMode: "Motion Detection", sequence: { index: 2, count: 2 }, eventNumber: 4 },
  }),
  image("site-b/IMG_0001.JPG", "2020:03:17 23:59:59"), // no GPS: coordinates come from the location option
  image("site-b/IMG_0002.JPG", "2020:03:18 00:00:30", [{ category: "3", conf: 0.3, bbox: [0, 0.5, 1, 0.5] }]),
  image("site-b/no-date.JPG", undefined),
  { ...image("site-b/broken.jpg", undefined), status: "failed", error: "not an image" },
];

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "camtrap-dp-test-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const toDir = (target: string): PackageSink => async (name, data) => {
  if (Buffer.isBuffer(data)) await writeFile(join(target, name), data);
  else await pipeline(data, createWriteStream(join(target, name)));
};

async function writePackage(target: string, options: CamtrapOptions = { utcOffset: "+03:00", location: { latitude: -2.5, longitude: 34.9 } }) {
  const grouping = await groupEvents(results, run);
  const summary = await writeCamtrapPackage(toDir(target), () => results, grouping, run, options);
  return { grouping, summary };
}

async function table(target: string, name: string): Promise<Array<Record<string, string>>> {
  const [header, ...rows] = parseCsv(await readFile(join(target, `${name}.csv`), "utf8"));
  return rows.map((row) => Object.fromEntries(header!.map((h, i) => [h, row[i] ?? ""])));
}

test("a package from detector results is valid against the Camtrap DP 1.0.2 profile and table schemas", async () => {
  const { summary } = await writePackage(dir);
  assert.deepEqual(await validateCamtrapPackage(dir), []);
  assert.deepEqual(summary, { media: 4, withoutTime: 1, unnameable: 0, withoutCoordinates: [] });

  const deployments = await table(dir, "deployments");
  assert.deepEqual(
    deployments.map((d) => [d.deploymentID, d.latitude, d.longitude, d.deploymentStart, d.deploymentEnd, d.cameraID, d.cameraModel]),
    [
      ["H500EE06130468", "-2.4", "34.8", "2020-03-16T10:00:00+03:00", "2020-03-16T10:00:01+03:00", "H500EE06130468", "RECONYX HC500"],
      ["site-b", "-2.5", "34.9", "2020-03-17T23:59:59+03:00", "2020-03-18T00:00:30+03:00", "", ""],
    ],
  );

  const media = await table(dir, "media");
  assert.deepEqual(media.map((m) => m.filePath), ["site-a/RCNX0001.JPG", "site-a/RCNX0002.JPG", "site-b/IMG_0001.JPG", "site-b/IMG_0002.JPG"]);
  assert.deepEqual(media[0], {
    mediaID: "m000001",
    deploymentID: "H500EE06130468",
    captureMethod: "activityDetection",
    timestamp: "2020-03-16T10:00:00+03:00",
    filePath: "site-a/RCNX0001.JPG",
    filePublic: "false",
    fileName: "RCNX0001.JPG",
    fileMediatype: "image/jpeg",
    exifData: "",
    favorite: "",
    mediaComments: "",
  });

  const observations = await table(dir, "observations");
  const mediaLevel = observations.filter((o) => o.observationLevel === "media");
  assert.deepEqual(
    mediaLevel.map((o) => [o.observationID, o.mediaID, o.observationType, o.count, o.bboxX, o.classificationProbability]),
    [
      ["m000001_1", "m000001", "animal", "1", "0.1", "0.92"],
      ["m000001_2", "m000001", "animal", "1", "0.6", "0.5"],
      ["m000002_1", "m000002", "human", "1", "0.4", "0.81"],
      ["m000003_blank", "m000003", "blank", "", "", ""],
      ["m000004_1", "m000004", "vehicle", "1", "0", "0.3"],
    ],
  );
  const eventLevel = observations.filter((o) => o.observationLevel === "event");
  const burst = mediaLevel[0]!.eventID;
  assert.equal(mediaLevel[2]!.eventID, burst, "the Reconyx burst is one event");
  assert.deepEqual(
    eventLevel.filter((o) => o.eventID === burst).map((o) => [o.observationType, o.count, o.eventStart, o.eventEnd, o.mediaID, o.classificationProbability]),
    [
      ["animal", "2", "2020-03-16T10:00:00+03:00", "2020-03-16T10:00:01+03:00", "", "0.92"],
      ["human", "1", "2020-03-16T10:00:00+03:00", "2020-03-16T10:00:01+03:00", "", "0.81"],
    ],
  );
  assert.ok(observations.every((o) => o.classificationMethod === "machine" && (o.classifiedBy ?? "").includes("md_v5a.0.0")));

  const descriptor = JSON.parse(await readFile(join(dir, "datapackage.json"), "utf8")) as Record<string, unknown>;
  assert.deepEqual(descriptor.temporal, { start: "2020-03-16", end: "2020-03-18" });
  assert.deepEqual(descriptor.spatial, { type: "Polygon", coordinates: [[[34.8, -2.5], [34.9, -2.5], [34.9, -2.4], [34.8, -2.4], [34.8, -2.5]]] });
});

test("the validator rejects a broken package, saying where", async () => {
  const broken = await mkdtemp(join(dir, "broken-"));
  await writePackage(broken);
  const descriptor = JSON.parse(await readFile(join(broken, "datapackage.json"), "utf8")) as Record<string, unknown>;
  delete descriptor.project;
  await writeFile(join(broken, "datapackage.json"), JSON.stringify(descriptor));
  const media = await readFile(join(broken, "media.csv"), "utf8");
  await writeFile(join(broken, "media.csv"), media.replace("2020-03-16T10:00:00+03:00", "2020-03-16 10:00:00").replace(",H500EE06130468,", ",nobody,"));
  const problems = await validateCamtrapPackage(broken);
  assert.ok(problems.some((p) => /datapackage\.json.*project/.test(p)), problems.join("\n"));
  assert.ok(problems.some((p) => /media\.csv line 2, timestamp/.test(p)), problems.join("\n"));
  assert.ok(problems.some((p) => /deploymentID: "nobody" is not a deploymentID/.test(p)), problems.join("\n"));
});

test("without GPS or a location the package says which deployments need coordinates, and the validator agrees", async () => {
  const bare = await mkdtemp(join(dir, "bare-"));
  const { summary } = await writePackage(bare, { utcOffset: "+00:00" });
  assert.deepEqual(summary.withoutCoordinates, ["site-b"]);
  const problems = await validateCamtrapPackage(bare);
  assert.ok(problems.some((p) => /deployments\.csv line 3, latitude: required but empty/.test(p)), problems.join("\n"));
});

test("timestamps: the camera's wall clock with the chosen offset; offsets are checked", () => {
  assert.equal(withOffset(clock("2020:03:16 10:00:00").wallClock, "-05:30"), "2020-03-16T10:00:00-05:30");
  assert.equal(checkUtcOffset("+14:00"), "+14:00");
  assert.throws(() => checkUtcOffset("2"), /\+HH:MM/);
});

test("formula-like text from names and EXIF is written as text, paths stay exact, and the package stays valid", async () => {
  const hostile: ImageResult[] = [
    image('=HYPERLINK("http://evil.example","x")/IMG_0001.JPG', "2020:03:16 10:00:00", [{ category: "1", conf: 0.9, bbox: [0.1, 0.1, 0.2, 0.2] }], {
      make: "@SUM(1+1)",
      model: "=cmd|' /C calc'!A0",
    }),
    image("+cmd.jpg", "2020:03:16 11:00:00", [], { serialNumber: "-2+3" }),
  ];
  const target = await mkdtemp(join(dir, "formulas-"));
  const grouping = await groupEvents(hostile, run);
  await writeCamtrapPackage(toDir(target), () => hostile, grouping, run, { location: { latitude: -2.5, longitude: 34.9 } });
  assert.deepEqual(await validateCamtrapPackage(target), [], "keys changed the same way in every table still reference each other");

  for (const name of ["deployments", "media", "observations"]) {
    for (const row of await table(target, name)) {
      for (const [column, value] of Object.entries(row)) {
        if (column === "filePath" || /^-?\d/.test(value)) continue; // numbers and timestamps are not text
        assert.doesNotMatch(value, /^[=+\-@]/, `${name}.csv ${column}: ${value}`);
      }
    }
  }
  const media = await table(target, "media");
  assert.deepEqual(media.map((row) => row.filePath), ['=HYPERLINK("http://evil.example","x")/IMG_0001.JPG', "+cmd.jpg"], "paths locate the photos: exact");
  assert.deepEqual(media.map((row) => row.fileName), ["IMG_0001.JPG", "'+cmd.jpg"]);
  const deployments = await table(target, "deployments");
  assert.ok(deployments.some((row) => row.cameraModel === "'@SUM(1+1) =cmd|' /C calc'!A0"), JSON.stringify(deployments));
  assert.ok(deployments.some((row) => row.deploymentID === "'-2+3" && row.cameraID === "'-2+3"), JSON.stringify(deployments));
  assert.ok(deployments.some((row) => row.locationName === `'=HYPERLINK("http://evil.example","x")`), JSON.stringify(deployments));
});

test("photos whose paths Camtrap DP cannot name (a hidden top folder) are left out and counted; the package stays valid", async () => {
  const hidden = [image(".cam2/IMG_0001.JPG", "2020:03:16 10:00:00"), image("cam..1/IMG_0002.JPG", "2020:03:16 10:00:05"), image("cam3/IMG_0003.JPG", "2020:03:16 10:00:09")];
  const target = await mkdtemp(join(dir, "hidden-"));
  const summary = await writeCamtrapPackage(toDir(target), () => hidden, await groupEvents(hidden, run), run, { location: { latitude: -2.5, longitude: 34.9 } });
  assert.deepEqual([summary.media, summary.unnameable], [1, 2]);
  assert.deepEqual(await validateCamtrapPackage(target), []);
  const descriptor = JSON.parse(await readFile(join(target, "datapackage.json"), "utf8")) as { description: string };
  assert.match(descriptor.description, /2 processed images have paths Camtrap DP cannot name/);
});
