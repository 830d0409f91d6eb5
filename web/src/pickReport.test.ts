import { test } from "node:test";
import assert from "node:assert/strict";
import { pickReport } from "./pickReport.ts";

const names = ["a.jpg", "b.jpg", "c.jpg", "new.jpg"];
const sizes = [10, 20, 3100, 5];

test("a pick that differs says how: files it lacks, other sizes, extras, each with names", () => {
  const report = pickReport(
    { toSend: [1], stored: [0], otherSize: [{ index: 2, planned: 3000 }], extra: [3], notPicked: [{ name: "d.jpg", size: 40 }], unsendable: ["d.jpg"] },
    (index) => names[index]!,
    (index) => sizes[index]!,
    false,
  );
  assert.equal(report.summary, "Storage holds 1 file of this pick already; 1 file will be sent.");
  assert.deepEqual(report.differences, [
    "1 file of the job is not in this pick and not in storage: “d.jpg”. Pick the folder that holds it too, or leave it out of the job (the button below); the job is submitted once storage has every file it holds.",
    "1 file has another size than in the job: “c.jpg” (3.1 KB here, 3.0 KB in the job). It is not sent.",
    "1 file in this pick is not part of the job: “new.jpg”. It is not sent.",
  ]);
  assert.equal(report.complete, false);
});

test("extras of a job whose listing was cut short are added; a matching pick has no differences", () => {
  const cut = pickReport({ toSend: [], stored: [0, 1], otherSize: [], extra: [2, 3], notPicked: [], unsendable: [] }, (index) => names[index]!, (index) => sizes[index]!, true);
  assert.equal(cut.summary, "Storage holds 2 files of this pick already; 2 files will be sent.");
  assert.match(cut.differences[0]!, /^2 files were not yet part of the job .*: “c\.jpg”, “new\.jpg”\. They are added and sent\.$/);
  assert.equal(cut.complete, true);

  const same = pickReport({ toSend: [1], stored: [0], otherSize: [], extra: [], notPicked: [], unsendable: [] }, (index) => names[index]!, (index) => sizes[index]!, false);
  assert.deepEqual(same.differences, []);
});

test("long lists quote the first names and count the rest", () => {
  const notPicked = Array.from({ length: 12 }, (_, index) => ({ name: `m${index}.jpg`, size: 1 }));
  const report = pickReport({ toSend: [], stored: [], otherSize: [], extra: [], notPicked, unsendable: notPicked.map((file) => file.name) }, () => "", () => 0, false);
  assert.match(report.differences[0]!, /“m4\.jpg” and 7 more\. Pick the folder/);
});

test("a file picked at another size whose planned copy storage lacks holds the job up, and can be left out", () => {
  const report = pickReport(
    { toSend: [], stored: [0], otherSize: [{ index: 2, planned: 3000 }], extra: [], notPicked: [], unsendable: ["c.jpg"] },
    (index) => names[index]!,
    (index) => sizes[index]!,
    false,
  );
  assert.deepEqual(report.differences, [
    "1 file has another size than in the job: “c.jpg” (3.1 KB here, 3.0 KB in the job). It is not sent. Storage lacks it at the job's size too: pick it as it was, or leave it out of the job (the button below).",
  ]);
  assert.equal(report.complete, false);
});
