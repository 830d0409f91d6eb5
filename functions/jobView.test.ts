import { test } from "node:test";
import assert from "node:assert/strict";
import { estimateSeconds, OWN_RATE_MIN_IMAGES } from "./jobView.ts";

const START = Date.parse("2026-03-01T10:00:00.000Z");
type Job = Parameters<typeof estimateSeconds>[0];

function job(overrides: Partial<Job>): Job {
  return { status: "processing", fileCount: 1, progress: { processed: 0, total: 0 }, ...overrides };
}

test("a zip being fetched and unpacked has no estimate: one file may hold thousands of photos", () => {
  // The reported bug: 1 file at a recent speed of 15 photos/s said "a few seconds" for a 108 s job.
  assert.equal(estimateSeconds(job({ fileCount: 1 }), { typicalRate: 15, imagesAhead: 0, now: START }), null);
});

test("once the photos are counted, recent jobs' speed until this job has its own", () => {
  const counted = job({ progress: { processed: 4, total: 1600 }, measuredFrom: { at: new Date(START).toISOString(), processed: 4 } });
  assert.equal(estimateSeconds(counted, { typicalRate: 40, imagesAhead: 0, now: START + 1000 }), 40);
  assert.equal(estimateSeconds(job({ progress: { processed: 0, total: 10 } }), { typicalRate: null, imagesAhead: 0, now: START }), null);
});

test("with enough photos done, the job's own measured speed wins over recent jobs'", () => {
  // Recent jobs ran at 40 photos/s; this one does 15/s (measured from its first report, not
  // from startedAt, which also covers the download).
  const measuredFrom = { at: new Date(START).toISOString(), processed: 4 };
  const running = job({ progress: { processed: 4 + 150, total: 2000 }, measuredFrom });
  assert.equal(estimateSeconds(running, { typicalRate: 40, imagesAhead: 0, now: START + 10_000 }), Math.ceil((2000 - 154) / 15));

  const tooFew = job({ progress: { processed: 4 + OWN_RATE_MIN_IMAGES - 1, total: 2000 }, measuredFrom });
  assert.equal(estimateSeconds(tooFew, { typicalRate: 40, imagesAhead: 0, now: START + 10_000 }), Math.ceil((2000 - 13) / 40));
  const tooSoon = job({ progress: { processed: 4 + 100, total: 2000 }, measuredFrom });
  assert.equal(estimateSeconds(tooSoon, { typicalRate: 40, imagesAhead: 0, now: START + 1_000 }), Math.ceil((2000 - 104) / 40));
});

test("a queued job waits for the photos ahead, then its own files", () => {
  assert.equal(estimateSeconds(job({ status: "queued", fileCount: 30 }), { typicalRate: 5, imagesAhead: 70, now: START }), 20);
  assert.equal(estimateSeconds(job({ status: "queued", fileCount: 30 }), { typicalRate: null, imagesAhead: 70, now: START }), null);
  assert.equal(estimateSeconds(job({ status: "done", fileCount: 30 }), { typicalRate: 5, imagesAhead: 0, now: START }), null);
});
