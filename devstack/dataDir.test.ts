// The local stack's folder: one stack at a time, stale locks taken over, scratch emptied per start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataDirInUseError, openDataDir, wipeDataDir } from "./dataDir.ts";

async function folder(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), "trapline-datadir-")), "data");
}

test("a folder in use is refused to a second stack and to a wipe, and free again once released", async () => {
  const dir = await folder();
  try {
    const held = openDataDir(dir);
    assert.throws(() => openDataDir(dir), (error: unknown) => error instanceof DataDirInUseError && /TRAPLINE_DATA_DIR=/.test(error.message));
    assert.throws(() => wipeDataDir(dir), DataDirInUseError);
    held.release();
    openDataDir(dir).release();
    wipeDataDir(dir);
    assert.equal(existsSync(dir), false);
  } finally {
    await rm(join(dir, ".."), { recursive: true, force: true });
  }
});

test("a lock left by a dead process, or by an earlier process with this pid, is taken over; scratch starts empty", async () => {
  const dir = await folder();
  try {
    await mkdir(join(dir, "scratch", "job-1"), { recursive: true });
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
    await writeFile(join(dir, "stack.lock"), dead);
    const first = openDataDir(dir);
    assert.equal(existsSync(join(first.scratch, "job-1")), false, "the last run's scratch files are gone");
    first.release();
    await writeFile(join(dir, "stack.lock"), String(process.pid)); // a container's pid 1, restarted
    openDataDir(dir).release();
  } finally {
    await rm(join(dir, ".."), { recursive: true, force: true });
  }
});
