import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { claimWorkerScratch } from "./scratch.ts";

let parent: string;
before(async () => {
  parent = await mkdtemp(join(tmpdir(), "trapline-scratch-"));
});
after(() => rm(parent, { recursive: true, force: true }));

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(child, "exit");
  return child.pid!;
}

function ownStartTicks(): string {
  const stat = readFileSync("/proc/self/stat", "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!;
}

test("a starting worker removes the folders of workers that are gone, never a live one's, nor anything else", { skip: !existsSync("/proc/self/stat") && "needs /proc" }, async () => {
  const gone = `${await deadPid()}-x-0001`;
  const reusedPid = `${process.pid}-1-0002`; // this pid, but another process's start time: a restarted container
  const live = `${process.pid}-${ownStartTicks()}-0003`;
  const parentProcess = `${process.ppid}-x-0004`;
  for (const name of [gone, reusedPid, live, parentProcess, "not-a-worker"]) {
    await mkdir(join(parent, name, "trapline-job-abc"), { recursive: true });
    await writeFile(join(parent, name, "trapline-job-abc", "IMG_0001.JPG"), "photo");
  }
  await writeFile(join(parent, "health.json"), "{}");

  const scratch = await claimWorkerScratch(parent);
  assert.deepEqual(scratch.cleared.sort(), [gone, reusedPid].sort());
  const left = await readdir(parent);
  assert.deepEqual(left.filter((name) => name !== scratch.dir.slice(parent.length + 1)).sort(), [live, parentProcess, "health.json", "not-a-worker"].sort());
  assert.match(scratch.dir, new RegExp(`/${process.pid}-\\d+-[0-9a-f]{8}$`));

  await scratch.release();
  assert.ok(!existsSync(scratch.dir));
});
