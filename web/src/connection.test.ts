import { test } from "node:test";
import assert from "node:assert/strict";
import { Connection, retryDelay, type OnlineSignals } from "./connection.ts";

/** The browser's online state and its "online" event, played by the test. */
function signals(): OnlineSignals & { online: boolean; comeBack(): void } {
  const listeners: (() => void)[] = [];
  const state = {
    online: false,
    isOnline: () => state.online,
    onOnline: (listener: () => void) => void listeners.push(listener),
    comeBack: () => {
      state.online = true;
      for (const listener of listeners) listener();
    },
  };
  return state;
}

test("the waits grow 1 s, 2 s, 4 s … and stay at 30 s", () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 50].map(retryDelay), [1_000, 2_000, 4_000, 8_000, 15_000, 30_000, 30_000, 30_000]);
});

test("six requests failing at once are one failed round; a failed try waits longer; an answer ends the pause", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"] });
  const connection = new Connection(signals());
  assert.equal(connection.pausedSince, null);
  for (let n = 0; n < 6; n += 1) connection.down();
  assert.equal(connection.retryAt - Date.now(), 1_000, "one round, the shortest wait");
  let went = false;
  const waiting = connection.ready().then(() => (went = true));
  t.mock.timers.tick(999);
  await Promise.resolve();
  assert.equal(went, false);
  t.mock.timers.tick(1);
  await waiting;
  assert.notEqual(connection.pausedSince, null, "still paused until a try is answered");
  connection.down(); // the try failed
  assert.equal(connection.retryAt - Date.now(), 2_000);
  connection.up();
  assert.equal(connection.pausedSince, null);
  connection.down();
  assert.equal(connection.retryAt - Date.now(), 1_000, "a new outage starts from the shortest wait");
});

test("the browser coming back online ends the wait at once", async () => {
  const browser = signals();
  const connection = new Connection(browser);
  connection.down();
  connection.down();
  const waiting = connection.ready();
  browser.comeBack();
  await waiting;
  connection.reset();
});
