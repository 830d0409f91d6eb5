import { test } from "node:test";
import assert from "node:assert/strict";
import { formatBytes, formatDuration, formatSpeed, plural } from "./format.ts";
import { TransferRate } from "./transferRate.ts";

test("sizes, speeds and durations read like a person wrote them", () => {
  assert.equal(formatBytes(1), "1 byte");
  assert.equal(formatBytes(552), "552 bytes");
  assert.equal(formatBytes(7_340_032), "7.3 MB");
  assert.equal(formatBytes(85_300_000_000), "85 GB");
  assert.equal(formatSpeed(4_200_000), "4.2 MB/s");
  assert.equal(formatDuration(3), "a few seconds");
  assert.equal(formatDuration(95), "1 min 35 s");
  assert.equal(formatDuration(7260), "2 h 1 min");
  assert.equal(plural(1, "photo"), "1 photo");
  assert.equal(plural(2000, "photo"), "2,000 photos");
});

test("transfer rate smooths samples and predicts the time left", () => {
  const rate = new TransferRate();
  assert.equal(rate.sample(0, 1000), 0);
  assert.equal(rate.secondsLeft(100), null);
  assert.equal(rate.sample(1_000_000, 2000), 1_000_000);
  assert.equal(rate.secondsLeft(5_000_000), 5);
  // A slower second brings the estimate down gradually, not all at once.
  const next = rate.sample(1_500_000, 3000);
  assert.ok(next < 1_000_000 && next > 500_000);
});
