import { test } from "node:test";
import assert from "node:assert/strict";
import { STALLED_AFTER_MS, TransferRate } from "./transferRate.ts";

const MB = 1_000_000;

test("a steady upload has a speed and a time left", () => {
  const rate = new TransferRate();
  for (let second = 0; second <= 5; second++) rate.sample(second * 2 * MB, second * 1000);
  assert.equal(Math.round(rate.sample(12 * MB, 6000)), 2 * MB);
  assert.equal(Math.round(rate.secondsLeft(20 * MB)!), 10);
  assert.equal(rate.stalledFor(6000), 0);
});

test("a dead connection shows no speed and no time left, only how long nothing moved", () => {
  // The reported bug: the last speed and "about 30 s left" stayed on screen after the line died.
  const rate = new TransferRate();
  for (let second = 0; second <= 5; second++) rate.sample(second * 2 * MB, second * 1000);
  for (let second = 6; second <= 5 + STALLED_AFTER_MS / 1000 - 1; second++) rate.sample(10 * MB, second * 1000);
  assert.ok(rate.secondsLeft(20 * MB) !== null, "a few quiet seconds are not a stall yet");
  const at = 5000 + STALLED_AFTER_MS;
  assert.equal(rate.sample(10 * MB, at), 0);
  assert.equal(rate.secondsLeft(20 * MB), null);
  assert.equal(rate.stalledFor(at + 7000), STALLED_AFTER_MS + 7000);

  // Bytes move again: no longer stalled, and the speed is measured afresh.
  rate.sample(11 * MB, at + 8000);
  assert.equal(rate.stalledFor(at + 8000), 0);
  assert.equal(Math.round(rate.sample(12 * MB, at + 9000)), MB);
});
