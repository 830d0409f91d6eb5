import { test } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { ProgressThrottle } from "./progressThrottle.ts";

test("a burst of updates becomes a few writes, the newest value last", async () => {
  const written: number[] = [];
  const throttle = new ProgressThrottle<number>((value) => Promise.resolve(void written.push(value)), { intervalMs: 50 });
  for (let i = 1; i <= 1000; i++) {
    throttle.update(i);
    if (i % 100 === 0) await sleep(10);
  }
  await throttle.flush();
  assert.ok(written.length <= 4, `${written.length} writes`);
  assert.equal(written[0], 1, "the first update goes out at once");
  assert.equal(written.at(-1), 1000, "the last value is never dropped");
  assert.deepEqual([...written].sort((a, b) => a - b), written, "in order");
});

test("one write at a time, and a failing write neither throws nor stops later ones", async () => {
  let active = 0;
  let most = 0;
  const errors: unknown[] = [];
  const written: number[] = [];
  const throttle = new ProgressThrottle<number>(
    async (value) => {
      active++;
      most = Math.max(most, active);
      await sleep(20);
      active--;
      if (value === 1) throw new Error("Redis away");
      written.push(value);
    },
    { intervalMs: 0, onError: (error) => errors.push(error) },
  );
  throttle.update(1);
  throttle.update(2);
  throttle.update(3);
  await throttle.flush();
  assert.equal(most, 1);
  assert.equal(errors.length, 1);
  assert.deepEqual(written, [3]);
});
