// `npm start` stopped and started under its users, as its real entry (devstack/main.ts) in a child
// process, on a private redis-server under the real key names: uploads survive a stop between
// upload and submit, a job cut off by a kill (SIGKILL, no chance to hand its message back) and
// then by Ctrl-C (SIGTERM) finishes after the next start, positions and ETAs count only live
// jobs, earlier results still download, and once the data folder is wiped (`npm run reset`) an
// old job reads `expired`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../helpers/freePort.ts";
import { startRedisServer, type RedisServer } from "../helpers/redisServer.ts";
import { until } from "../helpers/until.ts";
import { longJob, photo } from "./photos.ts";
import { api, downloadZip, spawnNpmStart, submitJob, tinyModel, waitForStatus, type JobStatusView, type NpmStart } from "./stack.ts";

const ROOT = join(import.meta.dirname, "..", "..");

let redis: RedisServer;
let dir: string;
let env: Record<string, string> & { PORT: string };
let running: NpmStart | undefined;

before(async () => {
  redis = await startRedisServer();
  dir = await mkdtemp(join(tmpdir(), "trapline-restart-"));
  env = {
    PORT: String(await freePort()),
    REDIS_URL: redis.url,
    MODEL: await tinyModel(dir),
    PROVIDER: "cpu",
    BATCH_SIZE: "2",
    TRAPLINE_DATA_DIR: join(dir, "data"),
    AWS_ENDPOINT_URL: "", // the embedded emulator, whatever the machine's environment says
  };
});

after(async () => {
  await running?.stop("SIGKILL");
  await redis?.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function start(): Promise<NpmStart> {
  running = await spawnNpmStart(env);
  return running;
}

interface StatusView extends JobStatusView {
  queuePosition: number | null;
  etaSeconds: number | null;
}

async function status(base: string, jobId: string): Promise<StatusView> {
  const reply = await api<StatusView>(base, `/api/jobs/${jobId}`);
  assert.equal(reply.status, 200, JSON.stringify(reply.json));
  return reply.json;
}

test("npm start stopped and started: nothing is lost, an interrupted job finishes, positions stay true, a wiped folder reads expired", async () => {
  // Run 1: one job done (it also gives later jobs an ETA), one uploaded but not submitted.
  let stack = await start();
  const first = await submitJob(stack.url, [{ name: "cam/a.jpg", bytes: await photo({ left: 100, top: 100, width: 160, height: 120 }) }]);
  await waitForStatus(stack.url, first.jobId, "done");
  const created = await api<{ jobId: string; uploads: Array<{ name: string; url: string; headers: Record<string, string> }> }>(stack.url, "/api/jobs", {
    method: "POST",
    body: JSON.stringify({ email: "ranger@example.org", files: [{ name: "b.jpg", size: (await photo()).length, type: "image/jpeg" }] }),
  });
  const early = created.json.jobId;
  const put = await fetch(created.json.uploads[0]!.url, { method: "PUT", headers: created.json.uploads[0]!.headers, body: new Uint8Array(await photo()) });
  assert.equal(put.status, 200);
  assert.equal(await stack.stop(), 0, stack.output());

  // Run 2: the upload is still there to submit. A long job is killed part-way, another waits behind it.
  stack = await start();
  const submitted = await api<StatusView>(stack.url, `/api/jobs/${early}/submit`, { method: "POST" });
  assert.equal(submitted.status, 200, `the upload from before the restart is missing: ${JSON.stringify(submitted.json)}`);
  await waitForStatus(stack.url, early, "done");
  const long = await submitJob(stack.url, await longJob());
  const behind = await submitJob(stack.url, [{ name: "c.jpg", bytes: await photo() }]);
  await until("the long job to be part-way", async () => {
    const view = await status(stack.url, long.jobId);
    return view.status === "processing" && view.progress.processed >= 2;
  }, 60_000);
  assert.equal((await status(stack.url, behind.jobId)).queuePosition, 1);
  await stack.stop("SIGKILL");

  // Run 3: the long job's message was held by the dead worker for VISIBILITY_SECONDS (300 s);
  // it starts again at once, and the job behind it still counts exactly one job ahead.
  const restartedAt = Date.now();
  stack = await start();
  assert.match(stack.output(), /1 job\(s\) interrupted by the last stop start again/);
  const interrupted = await status(stack.url, long.jobId);
  assert.equal(interrupted.queuePosition, 0, JSON.stringify(interrupted));
  assert.ok(typeof interrupted.etaSeconds === "number" && interrupted.etaSeconds > 0, `ETA ${interrupted.etaSeconds}`);
  // SQS does not promise order: the one worker may take either job first.
  const waiting = await status(stack.url, behind.jobId);
  if (waiting.status === "queued") assert.equal(waiting.queuePosition, 1);
  // Ctrl-C while it runs again: the worker hands the message back, and the next start resumes it.
  // (The record still shows the killed attempt's count until the shard starts again and resets it.)
  await until("the long job's shard to start again", () => Promise.resolve(stack.output().includes(`Job ${long.jobId}: shard 1 of 1 started`)), 60_000);
  await until("the long job to be part-way again", async () => {
    const view = await status(stack.url, long.jobId);
    return view.status === "processing" && view.progress.processed >= 2;
  }, 60_000);
  assert.equal(await stack.stop(), 0, stack.output());
  stack = await start();
  assert.doesNotMatch(stack.output(), /interrupted by the last stop/, "handed back on SIGTERM: nothing held");
  const finished = await waitForStatus(stack.url, long.jobId, "done", 90_000);
  console.log(`the interrupted job finished ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after the first restart`);
  assert.equal(finished.result?.images, 30);
  const zip = await downloadZip(finished.downloadUrl!, dir);
  // One uploaded folder, cam/: paths are relative to it (DESIGN.md "Paths in the results").
  assert.equal([...zip.keys()].filter((name) => /^IMG_\d{4}\.JPG$/.test(name)).length, 30, "every image, once");
  await waitForStatus(stack.url, behind.jobId, "done");
  // Results from before the restarts still download.
  const old = await status(stack.url, first.jobId);
  assert.equal(old.status, "done");
  assert.ok((await downloadZip(old.downloadUrl!, dir)).has("detections.json"));
  // Nothing stale counts ahead of a new job.
  const next = await submitJob(stack.url, [{ name: "d.jpg", bytes: await photo() }]);
  const nextView = await status(stack.url, next.jobId);
  assert.ok(nextView.status === "done" || nextView.queuePosition === 0, JSON.stringify(nextView));
  await waitForStatus(stack.url, next.jobId, "done");
  assert.equal(await stack.stop(), 0, stack.output());

  // `npm run reset`, then run 4: the old jobs' files are gone, and their pages say so.
  const reset = await promisify(execFile)(process.execPath, [join(ROOT, "devstack", "reset.ts")], { cwd: ROOT, env: { ...process.env, ...env } });
  assert.match(reset.stdout, /Removed /);
  stack = await start();
  const gone = await status(stack.url, first.jobId);
  assert.equal(gone.status, "expired");
  assert.match(gone.error ?? "", /no longer stored/);
  const download = await fetch(`${stack.url}/api/jobs/${first.jobId}/download`, { redirect: "manual" });
  assert.equal(download.status, 410);
  assert.equal(await stack.stop(), 0, stack.output());
});

test("a second npm start on the same data folder, or on the same Redis with another folder, is refused, saying what to do", async () => {
  const stack = await start();
  try {
    await assert.rejects(spawnNpmStart({ ...env, PORT: String(await freePort()) }), /Another Trapline stack \(process \d+\) is using .*TRAPLINE_DATA_DIR=/s);
    // Its recovery would take the first stack's queued jobs for lost and expire them.
    await assert.rejects(spawnNpmStart({ ...env, PORT: String(await freePort()), TRAPLINE_DATA_DIR: join(dir, "other") }), /Another Trapline stack, with its data in .* uses the Redis/s);
    const refused = await promisify(execFile)(process.execPath, [join(ROOT, "devstack", "reset.ts")], { cwd: ROOT, env: { ...process.env, ...env } }).catch((error: { code: number; stderr: string }) => error);
    assert.equal((refused as { code?: number }).code, 1);
    assert.match((refused as { stderr: string }).stderr, /is using .*Stop it/s);
  } finally {
    assert.equal(await stack.stop(), 0);
  }
});
