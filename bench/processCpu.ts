// CPU time of process trees on Linux, read from /proc/<pid>/stat (utime + stime, counted in
// USER_HZ ticks, which Linux fixes at 100 a second for /proc): the upload bench splits what a
// transfer costs between npm start and Chromium. Elsewhere (no /proc) it answers undefined.
import { readdirSync, readFileSync } from "node:fs";

const TICK_MS = 10;

interface ProcStat {
  pid: number;
  ppid: number;
  cpuMs: number;
}

function readStats(): ProcStat[] | undefined {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  const stats: ProcStat[] = [];
  for (const pid of pids) {
    try {
      const line = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The command name may hold spaces and parentheses: the fields start after its last ")".
      const fields = line.slice(line.lastIndexOf(")") + 2).split(" ");
      stats.push({ pid: Number(pid), ppid: Number(fields[1]), cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS });
    } catch {
      // The process ended while the list was read.
    }
  }
  return stats;
}

/** CPU ms used so far by `root` and its descendants still running, leaving out the subtrees of `except`. */
export function treeCpuMs(root: number, except: readonly number[] = []): number | undefined {
  const stats = readStats();
  if (!stats) return undefined;
  const children = new Map<number, ProcStat[]>();
  for (const stat of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), stat]);
  const skip = new Set(except);
  let total = stats.find((stat) => stat.pid === root)?.cpuMs ?? 0;
  const pending = [...(children.get(root) ?? [])];
  for (let stat = pending.pop(); stat; stat = pending.pop()) {
    if (skip.has(stat.pid)) continue;
    total += stat.cpuMs;
    pending.push(...(children.get(stat.pid) ?? []));
  }
  return total;
}
