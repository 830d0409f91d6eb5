// Each worker keeps its jobs' scratch (downloaded inputs, result spools, report files) in one
// folder of its own under a shared parent, named after its process. A worker killed hard (OOM,
// SIGKILL, a host reboot) leaves its folder behind; a starting worker removes the folders whose
// owner process is gone, so twenty kills do not leave twenty copies of a job's inputs.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The default parent: $TMPDIR/trapline-worker (the health file lives there too). */
export function defaultScratchParent(): string {
  return join(tmpdir(), "trapline-worker");
}

/** "<pid>-<start time>-<random>": the owner, and which process of that pid it was. */
const FOLDER_NAME = /^(\d+)-(\d+|x)-[0-9a-f]+$/;

/**
 * When the process started, in clock ticks since boot (/proc/<pid>/stat, field 22), to tell a
 * live owner from a new process that reuses its pid (a restarted container's worker is pid 1
 * again). "x" where there is no /proc (macOS): the pid alone then decides.
 */
function startTicks(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "x";
  } catch {
    return "x";
  }
}

function isAlive(pid: number, ticks: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: alive, but another user's.
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return ticks === "x" || startTicks(pid) === "x" || startTicks(pid) === ticks;
}

export interface WorkerScratch {
  /** This worker's folder: pass it as the parent of every job's scratch folder. */
  dir: string;
  /** Folders of workers that are gone, removed at start. */
  cleared: string[];
  /** Removes this worker's folder. */
  release(): Promise<void>;
}

/** Makes this worker's folder under `parent` and removes the folders of workers that are gone. */
export async function claimWorkerScratch(parent = defaultScratchParent()): Promise<WorkerScratch> {
  await mkdir(parent, { recursive: true });
  const cleared: string[] = [];
  for (const entry of await readdir(parent, { withFileTypes: true })) {
    const owner = FOLDER_NAME.exec(entry.name);
    if (!entry.isDirectory() || !owner || isAlive(Number(owner[1]), owner[2]!)) continue;
    await rm(join(parent, entry.name), { recursive: true, force: true });
    cleared.push(entry.name);
  }
  const dir = join(parent, `${process.pid}-${startTicks(process.pid)}-${randomBytes(4).toString("hex")}`);
  await mkdir(dir);
  return { dir, cleared, release: () => rm(dir, { recursive: true, force: true }) };
}
