import { test } from "node:test";
import assert from "node:assert/strict";
import { countWords, describeJob, etaWords } from "./jobWords.ts";
import type { JobView } from "../../functions/wire.ts";

/** A done job as GET /api/jobs/<id> answers it (functions/wire.ts), with `extra` on top. */
const done = (result: JobView["result"], extra: Partial<JobView> = {}): JobView => ({
  jobId: "j",
  status: "done",
  fileCount: result?.images ?? null,
  totalBytes: result?.bytes ?? null,
  progress: { processed: result?.images ?? 0, total: result?.images ?? 0 },
  queuePosition: null,
  etaSeconds: null,
  attempts: 1,
  createdAt: null,
  updatedAt: null,
  queuedAt: null,
  startedAt: null,
  finishedAt: null,
  error: null,
  result,
  ...extra,
});

test("a done job says how many photos were checked, how many files could not be read, and where to see why", () => {
  // The reported bug: 10 photos and 5 unreadable files ended "Results ready — 15 photos checked".
  const job = done({ images: 15, failed: 5, bytes: 1 });
  const words = describeJob(job);
  assert.equal(words.headline, "Results ready");
  assert.match(words.detail, /^10 photos checked\. 5 files could not be read \(not photos, empty or damaged\); results\.xlsx in the zip lists each one and why\./);
  assert.equal(countWords(job), "10 photos checked · 5 unreadable");

  const clean = done({ images: 3, failed: 0, bytes: 1 });
  assert.match(describeJob(clean).detail, /^3 photos checked\. The zip/);
  assert.equal(countWords(clean), "3 photos checked");
});

test("a job of only unreadable files does not claim any photos were checked", () => {
  const job = done({ images: 2, failed: 2, bytes: 1 });
  const words = describeJob(job);
  assert.equal(words.headline, "No photos could be read");
  assert.match(words.detail, /None of the 2 files could be read as a photo \(results\.xlsx in the zip lists each one and why\)/);
  assert.doesNotMatch(`${words.headline} ${words.detail}`, /photos checked/);
});

test("a job whose record is gone says what is true: results kept, counts unknown", () => {
  const job = done({ images: 0, failed: 0, bytes: 4321 }, { recordGone: true });
  const words = describeJob(job);
  assert.equal(words.headline, "Results ready");
  assert.match(words.detail, /no longer knows how many photos/);
  assert.doesNotMatch(words.detail, /0 photos/);
  assert.equal(countWords(job), "");
});

test("the countdown never claims seconds before the job has done a photo", () => {
  // The reported bug: "About a few seconds left" at the start of a 108 s job.
  assert.equal(etaWords(1, false), "Estimating time left…");
  assert.equal(etaWords(45, false), "Estimating time left…");
  assert.equal(etaWords(null, true), "Estimating time left…");
  assert.equal(etaWords(300, false), "About 5 min left");
  assert.equal(etaWords(95, true), "About 1 min 35 s left");
  assert.equal(etaWords(3, true), "A few seconds left");
  assert.equal(etaWords(0, true), "Almost done…");
});

test("a job in parts says how many are done and running, and on how many workers; one part says nothing more", () => {
  const running = (shards?: JobView["shards"]): JobView => done(null, { status: "processing", progress: { processed: 4_000, total: 10_000 }, ...(shards ? { shards } : {}) });
  assert.equal(countWords(running({ count: 5, done: 2, running: 3, queued: 0, failed: 0, workers: 2 })), "4,000 of 10,000 files · 2 of 5 parts done, 3 running on 2 workers");
  assert.equal(countWords(running({ count: 5, done: 4, running: 0, queued: 1, failed: 1, workers: 0 })), "4,000 of 10,000 files · 4 of 5 parts done (1 could not be processed)");
  assert.equal(countWords(running({ count: 1, done: 0, running: 1, queued: 0, failed: 0, workers: 1 })), "4,000 of 10,000 files");
  assert.equal(countWords(running()), "4,000 of 10,000 files");
});
