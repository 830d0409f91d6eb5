import { test } from "node:test";
import assert from "node:assert/strict";
import { formTimes, learnClock, linkExpiresAt, linkStillGood } from "./linkExpiry.ts";

test("reads X-Amz-Date plus X-Amz-Expires from a presigned link", () => {
  const url = "http://127.0.0.1:9000/b/k.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20250301T120000Z&X-Amz-Expires=3600&X-Amz-Signature=abc";
  assert.equal(linkExpiresAt(url)?.toISOString(), "2025-03-01T13:00:00.000Z");
});

test("prefers the API's own expiry, and gives null for links it cannot read", () => {
  assert.equal(linkExpiresAt("https://x/y", "2025-03-01T10:00:00.000Z")?.toISOString(), "2025-03-01T10:00:00.000Z");
  assert.equal(linkExpiresAt("https://x/y?X-Amz-Date=garbage&X-Amz-Expires=10"), null);
  assert.equal(linkExpiresAt("not a url"), null);
});

test("an upload link is good until 5 minutes before its end, by this browser's clock once it has seen a fresh link", () => {
  const signed = Date.UTC(2025, 2, 1, 12, 0, 0);
  const url = "http://s3/b/k?X-Amz-Date=20250301T120000Z&X-Amz-Expires=3600&X-Amz-Signature=abc";
  learnClock(url, signed);
  assert.equal(linkStillGood(url, signed + 54 * 60_000), true);
  assert.equal(linkStillGood(url, signed + 56 * 60_000), false);
  // This laptop runs 20 minutes fast: the link it just got is good all the same, for the same 55 minutes.
  learnClock(url, signed + 20 * 60_000);
  assert.equal(linkStillGood(url, signed + 20 * 60_000), true);
  assert.equal(linkStillGood(url, signed + 74 * 60_000), true);
  assert.equal(linkStillGood(url, signed + 76 * 60_000), false);
});

test("a short-lived link just signed is good (half its life), not re-signed for ever", () => {
  const signed = Date.UTC(2025, 2, 1, 12, 0, 0);
  const url = "http://s3/b/k?X-Amz-Date=20250301T120000Z&X-Amz-Expires=60&X-Amz-Signature=abc";
  learnClock(url, signed);
  assert.equal(linkStillGood(url, signed + 1_000), true);
  assert.equal(linkStillGood(url, signed + 31_000), false);
  assert.equal(linkStillGood("https://x/unsigned"), true, "a link that says nothing of its expiry");
});

test("a form upload's times come from its X-Amz-Date field and its policy's expiration", () => {
  const signed = Date.UTC(2025, 2, 1, 12, 0, 0);
  const policy = btoa(JSON.stringify({ expiration: "2025-03-01T13:00:00.000Z", conditions: [] }));
  const times = formTimes({ "X-Amz-Date": "20250301T120000Z", Policy: policy });
  assert.deepEqual(times, { signedAt: new Date(signed), expiresAt: new Date("2025-03-01T13:00:00.000Z") });
  learnClock(times, signed);
  assert.equal(linkStillGood(times, signed + 54 * 60_000), true);
  assert.equal(linkStillGood(times, signed + 56 * 60_000), false);
  assert.equal(formTimes({ "X-Amz-Date": "20250301T120000Z", Policy: "not base64 json" }), null);
  assert.equal(linkStillGood(null), true, "a form whose times cannot be read says nothing of its expiry");
});
