// The worker's pulse, on disk, for the container's health check (healthCheck.ts): a timer
// rewrites a small file every few seconds, so a frozen event loop shows as a stale file, and
// the running job's last progress is in it, so a job that stopped moving shows too. The
// orchestrator (Docker's HEALTHCHECK, ECS's container health check) replaces an unhealthy task;
// its message then goes back to the queue for another worker.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** How often the file is rewritten. */
export const HEALTH_WRITE_MS = 5_000;
/** A file older than this means the event loop stopped turning (six missed writes). */
export const LOOP_STALE_MS = 30_000;
/**
 * A job with no progress for this long is stuck. Progress comes per image (a 12-MP frame takes
 * well under a second) and at each step around them; the longest step without any is
 * downloading one job's inputs (a 5 GiB zip at 50 MB/s: under two minutes).
 */
export const PROGRESS_STALE_MS = 15 * 60_000;

/** WORKER_HEALTH_FILE, else health.json beside the workers' scratch folders. */
export function healthFilePath(env: Record<string, string | undefined> = process.env): string {
  return env.WORKER_HEALTH_FILE?.trim() || join(tmpdir(), "trapline-worker", "health.json");
}

export interface HealthRecord {
  pid: number;
  /** When the loop last turned (ms since the epoch). */
  loopAt: number;
  /** The job being worked on, and when it last moved. */
  job?: { id: string; progressAt: number };
}

export interface HealthLimits {
  loopStaleMs: number;
  progressStaleMs: number;
}

const DEFAULT_LIMITS: HealthLimits = { loopStaleMs: LOOP_STALE_MS, progressStaleMs: PROGRESS_STALE_MS };

export type HealthVerdict = { healthy: boolean; reason: string };

/** Whether `record` (undefined: no file yet) shows a live worker at `now`. */
export function judgeHealth(record: HealthRecord | undefined, now: number, limits: HealthLimits = DEFAULT_LIMITS): HealthVerdict {
  if (!record) return { healthy: false, reason: "no heartbeat file: the worker has not started, or cannot write it" };
  const loopAge = now - record.loopAt;
  if (loopAge > limits.loopStaleMs) {
    return { healthy: false, reason: `the worker's event loop last turned ${seconds(loopAge)} ago (pid ${record.pid}): it is frozen` };
  }
  if (record.job) {
    const stalled = now - record.job.progressAt;
    if (stalled > limits.progressStaleMs) {
      return { healthy: false, reason: `job ${record.job.id} has made no progress for ${seconds(stalled)}: it is stuck` };
    }
    return { healthy: true, reason: `working on job ${record.job.id}, last progress ${seconds(stalled)} ago` };
  }
  return { healthy: true, reason: "waiting for jobs" };
}

/** Reads the file and judges it; an unreadable or garbled file is unhealthy. */
export async function checkHealthFile(path: string, now = Date.now(), limits?: HealthLimits): Promise<HealthVerdict> {
  let record: HealthRecord | undefined;
  try {
    record = JSON.parse(await readFile(path, "utf8")) as HealthRecord;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") return { healthy: false, reason: `the heartbeat file ${path} cannot be read (${(error as Error).message})` };
  }
  return judgeHealth(record, now, limits);
}

/** Writes the heartbeat file while the worker runs. */
export class HealthBeacon {
  readonly path: string;
  readonly #intervalMs: number;
  #job: HealthRecord["job"];
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(path = healthFilePath(), options: { intervalMs?: number } = {}) {
    this.path = path;
    this.#intervalMs = options.intervalMs ?? HEALTH_WRITE_MS;
  }

  /** Writes now and then every interval; the timer never keeps the process alive by itself. */
  async start(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await this.#write();
    this.#timer = setInterval(() => void this.#write(), this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#writing;
  }

  jobStarted(id: string): void {
    this.#job = { id, progressAt: Date.now() };
  }

  /** The job moved (an image done, a step finished, or an outage waited out on purpose). */
  progressed(): void {
    if (this.#job) this.#job.progressAt = Date.now();
  }

  jobEnded(): void {
    this.#job = undefined;
  }

  #write(): Promise<void> {
    const record: HealthRecord = { pid: process.pid, loopAt: Date.now(), ...(this.#job ? { job: { ...this.#job } } : {}) };
    // Written aside and renamed, so the check never reads half a file; a failed write leaves the
    // last one to go stale, which is the truth: this worker cannot vouch for itself.
    const aside = `${this.path}.${process.pid}.tmp`;
    this.#writing = this.#writing
      .then(() => writeFile(aside, JSON.stringify(record)))
      .then(() => rename(aside, this.path))
      .catch(() => {});
    return this.#writing;
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
