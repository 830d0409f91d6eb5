import { test } from "node:test";
import assert from "node:assert/strict";
import { afterAnswer, afterFailure, effectiveDelay, firstPoll, POLL_ERROR_MAX_MS, POLL_FASTEST_MS, POLL_HIDDEN_MS, POLL_IDLE_MAX_MS } from "./pollSchedule.ts";

test("stretches while nothing changes, snaps back when the job moves", () => {
  let state = firstPoll;
  for (let i = 0; i < 20; i += 1) state = afterAnswer(state, false);
  assert.equal(state.delayMs, POLL_IDLE_MAX_MS);
  assert.equal(afterAnswer(state, true).delayMs, POLL_FASTEST_MS);
});

test("backs off exponentially on failures up to a minute, and recovers on the next answer", () => {
  let state = firstPoll;
  const delays: number[] = [];
  for (let i = 0; i < 8; i += 1) {
    state = afterFailure(state);
    delays.push(state.delayMs);
  }
  assert.deepEqual(delays.slice(0, 3), [4_000, 8_000, 16_000]);
  assert.equal(delays.at(-1), POLL_ERROR_MAX_MS);
  assert.equal(afterAnswer(state, false).failures, 0);
});

test("a hidden tab polls at most every 30 s", () => {
  assert.equal(effectiveDelay(firstPoll, true), POLL_HIDDEN_MS);
  assert.equal(effectiveDelay(firstPoll, false), POLL_FASTEST_MS);
});
