// The folder where `npm start` keeps what must survive a restart: the emulator's queues (SQLite)
// and objects (plain files), and the workers' scratch space. One stack at a time may use it: two
// emulators writing one folder would each hold a different picture of the queue in memory.
//
//   <TRAPLINE_DATA_DIR>/
//     stack.lock      pid of the stack using the folder
//     sqs/            fauxqs's SQLite database (queues and messages, visibility included)
//     s3/             fauxqs's file storage (buckets/<bucket>/objects/<key>.data + .meta.json)
//     scratch/        jobs' downloaded inputs while a worker runs them (emptied at each start)
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
}

export interface DataDir {
  root: string;
  sqs: string;
  s3: string;
  scratch: string;
  /** Lets the next stack in. */
  release(): void;
}

const LOCK_FILE = "stack.lock";

/**
 * Folders this process holds. A lock naming this process's pid but not listed here was left by an
 * earlier process that had the same pid (containers often run as pid 1).
 */
const openHere = new Set<string>();

/** The folder's paths, without touching the disk. */
export function dataDirPaths(dir: string): Omit<DataDir, "release"> {
  const root = resolve(dir);
  return { root, sqs: join(root, "sqs"), s3: join(root, "s3"), scratch: join(root, "scratch") };
}

/**
 * Takes the folder for this process (creating it), or throws DataDirInUseError when a living
 * process holds it. A lock left by a process that died is taken over. Scratch files of jobs that
 * were running when the last stack stopped are removed: their jobs restart from their uploads.
 */
export function openDataDir(dir: string): DataDir {
  const paths = dataDirPaths(dir);
  mkdirSync(paths.root, { recursive: true });
  const lock = join(paths.root, LOCK_FILE);
  takeLock(lock, paths.root);
  openHere.add(paths.root);
  rmSync(paths.scratch, { recursive: true, force: true });
  mkdirSync(paths.scratch, { recursive: true });
  return {
    ...paths,
    release() {
      if (!openHere.delete(paths.root)) return;
      if (lockHolder(lock) === process.pid) rmSync(lock, { force: true });
    },
  };
}

/** Creates the lock file exclusively (two stacks starting at once cannot both win); a dead holder's lock is replaced. */
function takeLock(lock: string, root: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx" });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = lockHolder(lock);
    if (holder !== undefined && (holder !== process.pid || openHere.has(root))) {
      throw new DataDirInUseError(
        `Another Trapline stack (process ${holder}) is using ${root}. Stop it first, or give this one its own folder: TRAPLINE_DATA_DIR=/some/other/folder npm start`,
      );
    }
    rmSync(lock, { force: true }); // left by a stack that died
  }
  throw new DataDirInUseError(`Could not take ${lock}: another stack is starting on the same folder. Try again.`);
}

/** Deletes the folder and everything in it; refuses while a stack is using it. */
export function wipeDataDir(dir: string): { root: string } {
  const { root } = dataDirPaths(dir);
  const holder = lockHolder(join(root, LOCK_FILE));
  if (holder !== undefined && (holder !== process.pid || openHere.has(root))) {
    throw new DataDirInUseError(`A Trapline stack (process ${holder}) is using ${root}. Stop it (Ctrl-C in its terminal), then run this again.`);
  }
  rmSync(root, { recursive: true, force: true });
  return { root };
}

/** The pid in the lock file when that process is alive; undefined when free or stale. */
function lockHolder(lock: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(lock, "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return pid;
  } catch (error) {
    // EPERM: it exists but belongs to someone else, so it is alive.
    return (error as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}
