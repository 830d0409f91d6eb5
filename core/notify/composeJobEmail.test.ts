import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobRecord } from "../jobs.ts";
import { composeJobEmail, filesDeletedAt } from "./composeJobEmail.ts";
import { jobPageUrl } from "./jobPageUrl.ts";

const JOB_ID = "AbCdEfGhIjKlMnOpQrStUv";

function doneJob(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id: JOB_ID,
    email: "ranger@example.org",
    status: "done",
    createdAt: "2026-05-01T08:00:00.000Z",
    updatedAt: "2026-05-07T21:30:00.000Z",
    finishedAt: "2026-05-07T21:30:00.000Z",
    fileCount: 3,
    totalBytes: 3_000_000,
    options: {},
    progress: { processed: 12_345, total: 12_345 },
    attempts: 1,
    result: { key: `jobs/${JOB_ID}/output/trapline-${JOB_ID}.zip`, bytes: 1, images: 12_345, failed: 5, imagesWith: { vehicle: 3, animal: 1_234, person: 12 }, imagesPerSecond: 9 },
    ...overrides,
  };
}

const pageUrl = `https://d111111abcdef8.cloudfront.net/#/jobs/${JOB_ID}`;

test("a done job's email gives the counts, the job page's link and the day its results are deleted", () => {
  const email = composeJobEmail({ job: doneJob(), pageUrl, retentionDays: 7 });
  assert.equal(email.subject, "Your Trapline results are ready: 12,345 photos checked");
  const lines = email.text.split("\n");
  // In MegaDetector's order whatever the result's key order, figures aligned.
  assert.deepEqual(
    lines.filter((line) => line.startsWith("  ")),
    [
      "  Photos checked:    12,345",
      "  With animals:       1,234",
      "  With people:           12",
      "  With vehicles:          3",
      "  Could not be read:      5 (results.xlsx says why for each)",
    ],
  );
  assert.ok(lines.includes(pageUrl), "the link alone on its line, so mail clients make it clickable");
  assert.doesNotMatch(email.text, /X-Amz-|amazonaws\.com/, "no presigned link: it would expire");
  // Finished 7 May 21:30 UTC + 7 days.
  assert.match(email.text, /deleted 7 days after the job finished: download them by Thursday, 14 May 2026 \(UTC\)\./);
  assert.match(email.text, new RegExp(`job ${JOB_ID}`));

  for (const words of ["Photos checked", "12,345", "With animals", "1,234", "With people", "With vehicles", "Could not be read", "Thursday, 14 May 2026"]) {
    assert.ok(email.html.includes(words), `the HTML says ${words}`);
  }
  assert.ok(email.html.includes(`<a href="${pageUrl}">${pageUrl}</a>`));
});

test("counts the result does not hold are left out, not shown as zero; other models' categories are named", () => {
  const withoutCategories = composeJobEmail({ job: doneJob({ result: { key: "k", bytes: 1, images: 2, failed: 0, imagesPerSecond: 1 } }), pageUrl, retentionDays: 1 });
  assert.doesNotMatch(withoutCategories.text, /With /);
  assert.match(withoutCategories.text, /Could not be read: +0\n/);
  assert.doesNotMatch(withoutCategories.text, /results\.xlsx says why/);
  assert.match(withoutCategories.text, /deleted 1 day after/);

  const otherModel = composeJobEmail({ job: doneJob({ result: { key: "k", bytes: 1, images: 2, failed: 0, imagesWith: { animal: 1, bird: 2 }, imagesPerSecond: 1 } }), pageUrl, retentionDays: 7 });
  assert.match(otherModel.text, /With animals: +1\n {2}With bird: +2\n/);
});

test("a failed job's email gives the reason, the page and when the uploads go; text from the job is escaped in the HTML", () => {
  const job = doneJob({ status: "failed", result: undefined, error: "Trapline tried 3 times <and> it failed & stopped." });
  const email = composeJobEmail({ job, pageUrl, retentionDays: 7 });
  assert.equal(email.subject, "Your Trapline job could not be finished");
  assert.match(email.text, /What went wrong: Trapline tried 3 times <and> it failed & stopped\./);
  assert.doesNotMatch(email.text, /Photos checked/);
  // Created 1 May 08:00 UTC + 7 days.
  assert.match(email.text, /uploaded photos are deleted 7 days after they were uploaded, by Friday, 8 May 2026 \(UTC\)\./);
  assert.ok(email.text.split("\n").includes(pageUrl));
  assert.ok(email.html.includes("Trapline tried 3 times &lt;and&gt; it failed &amp; stopped."));
  assert.ok(!email.html.includes("<and>"));
});

test("deletion is counted from when the files were written: a done job's results from finishedAt, a failed job's uploads from createdAt", () => {
  assert.equal(filesDeletedAt(doneJob(), 7).toISOString(), "2026-05-14T21:30:00.000Z");
  assert.equal(filesDeletedAt(doneJob({ status: "failed" }), 7).toISOString(), "2026-05-08T08:00:00.000Z");
});

test("only a done or failed job has an email", () => {
  assert.throws(() => composeJobEmail({ job: doneJob({ status: "processing" }), pageUrl, retentionDays: 7 }), /processing: its email is composed only once it is done or failed/);
});

test("the job page's link: PUBLIC_SITE_URL's page, else the local one on PORT", () => {
  assert.equal(jobPageUrl({ PUBLIC_SITE_URL: "https://d111111abcdef8.cloudfront.net", PORT: 3000 }, JOB_ID), pageUrl);
  assert.equal(jobPageUrl({ PUBLIC_SITE_URL: "https://traps.example.org/trapline/", PORT: 3000 }, JOB_ID), `https://traps.example.org/trapline/#/jobs/${JOB_ID}`);
  assert.equal(jobPageUrl({ PUBLIC_SITE_URL: undefined, PORT: 8080 }, JOB_ID), `http://localhost:8080/#/jobs/${JOB_ID}`);
});
