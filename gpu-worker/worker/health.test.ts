// The heartbeat file and the health check script that reads it (spawned as the container runs it).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkHealthFile, HealthBeacon, judgeHealth, LOOP_STALE_MS, PROGRESS_STALE_MS, type HealthRecord } from "./health.ts";

const SCRIPT = join(import.meta.dirname, "healthCheck.ts");
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-health-"));
});
after(() => rm(dir, { recursive: true, force: true }));

function healthCheck(path: string): { code: number | null; output: string } {
  const result = spawnSync(process.execPath, [SCRIPT, path], { encoding: "utf8", timeout: 30_000 });
  return { code: result.status, output: result.stdout + result.stderr };
}

test("the health check script passes a fresh heartbeat and fails a stale one, a stuck job, a missing or garbled file", async () => {
  const now = Date.now();
  const write = async (name: string, record: HealthRecord | string) => {
    const path = join(dir, name);
    await writeFile(path, typeof record === "string" ? record : JSON.stringify(record));
    return path;
  };
  const fresh = healthCheck(await write("fresh.json", { pid: 1, loopAt: now - 2_000 }));
  assert.deepEqual([fresh.code, fresh.output.trim()], [0, "waiting for jobs"]);
  const busy = healthCheck(await write("busy.json", { pid: 1, loopAt: now - 2_000, job: { id: "j1", progressAt: now - 60_000 } }));
  assert.equal(busy.code, 0, busy.output);
  assert.match(busy.output, /working on job j1/);

  const frozen = healthCheck(await write("frozen.json", { pid: 7, loopAt: now - LOOP_STALE_MS - 5_000 }));
  assert.equal(frozen.code, 1);
  assert.match(frozen.output, /event loop last turned \d+ s ago \(pid 7\): it is frozen/);
  const stuck = healthCheck(await write("stuck.json", { pid: 1, loopAt: now, job: { id: "j2", progressAt: now - PROGRESS_STALE_MS - 5_000 } }));
  assert.equal(stuck.code, 1);
  assert.match(stuck.output, /job j2 has made no progress for \d+ s: it is stuck/);
  const missing = healthCheck(join(dir, "nothing-here.json"));
  assert.equal(missing.code, 1);
  assert.match(missing.output, /no heartbeat file/);
  const garbled = healthCheck(await write("garbled.json", "{not json"));
  assert.equal(garbled.code, 1);
  assert.match(garbled.output, /cannot be read/);
});

test("an idle worker is healthy however long ago its last job moved; a busy one only while the job moves", () => {
  const now = 1_000_000_000;
  assert.equal(judgeHealth({ pid: 1, loopAt: now }, now).healthy, true);
  const limits = { loopStaleMs: 1_000, progressStaleMs: 5_000 };
  assert.equal(judgeHealth({ pid: 1, loopAt: now - 999, job: { id: "a", progressAt: now - 4_999 } }, now, limits).healthy, true);
  assert.equal(judgeHealth({ pid: 1, loopAt: now - 1_001 }, now, limits).healthy, false);
  assert.equal(judgeHealth({ pid: 1, loopAt: now, job: { id: "a", progressAt: now - 5_001 } }, now, limits).healthy, false);
});

test("the beacon rewrites its file while the loop turns; a loop blocked by synchronous work leaves it stale", async () => {
  const path = join(dir, "beacon", "health.json");
  const beacon = new HealthBeacon(path, { intervalMs: 50 });
  await beacon.start();
  try {
    beacon.jobStarted("job-1");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const record = JSON.parse(await readFile(path, "utf8")) as HealthRecord;
    assert.equal(record.pid, process.pid);
    assert.equal(record.job?.id, "job-1");
    const limits = { loopStaleMs: 1_000, progressStaleMs: 60_000 };
    assert.equal((await checkHealthFile(path, Date.now(), limits)).healthy, true);

    // What a parser looping on the main thread does to the worker.
    const until = Date.now() + 1_500;
    while (Date.now() < until);
    const verdict = await checkHealthFile(path, Date.now(), limits);
    assert.equal(verdict.healthy, false);
    assert.match(verdict.reason, /frozen/);

    beacon.jobEnded();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(((JSON.parse(await readFile(path, "utf8")) as HealthRecord).job), undefined);
  } finally {
    await beacon.stop();
  }
});
