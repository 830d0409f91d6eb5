// Job creation in pages (npm run bench:api): a job of N files created as the command line and
// the page create it, the first page with POST /api/jobs and the rest with POST .../files, each
// of MAX_PAGE_FILES. Prints the total time, the largest request and answer, and what the job
// costs Redis per file (MEMORY USAGE of its keys). Figures, never assertions.
import { Redis } from "ioredis";
import { redisKeys } from "../core/keys.ts";
import { MAX_PAGE_FILES } from "../functions/wire.ts";

export interface CreationFigures {
  files: number;
  seconds: number;
  pages: number;
  largestRequest: number;
  largestAnswer: number;
  /** Plans the answers left unsigned (signed later by name): 0 when every page's plans fit. */
  unsigned: number;
  redisBytesPerFile: number;
}

/** Camera-card names: DCIM/100RECNX/IMG_000001.JPG and on. */
function page(from: number, count: number): { name: string; size: number; type: string }[] {
  return Array.from({ length: count }, (_, k) => {
    const i = from + k;
    return { name: `DCIM/${100 + Math.floor(i / 9999)}RECNX/IMG_${String(i).padStart(6, "0")}.JPG`, size: 3_500_000 + (i % 1000), type: "image/jpeg" };
  });
}

export async function measureCreation(api: string, redisUrl: string, keyPrefix: string, files: number): Promise<CreationFigures> {
  let largestRequest = 0;
  let largestAnswer = 0;
  let unsigned = 0;
  let jobId = "";
  let pages = 0;
  const started = performance.now();
  for (let from = 0; from < files; from += MAX_PAGE_FILES) {
    const entries = page(from, Math.min(MAX_PAGE_FILES, files - from));
    const body = JSON.stringify(from === 0 ? { email: "bench@example.org", files: entries, totals: { files, bytes: files * 3_501_000 } } : { files: entries });
    largestRequest = Math.max(largestRequest, Buffer.byteLength(body));
    const response = await fetch(from === 0 ? `${api}/api/jobs` : `${api}/api/jobs/${jobId}/files`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const text = await response.text();
    if (!response.ok) throw new Error(`page ${pages + 1}: HTTP ${response.status} ${text.slice(0, 300)}`);
    largestAnswer = Math.max(largestAnswer, Buffer.byteLength(text));
    const answer = JSON.parse(text) as { jobId?: string; unsigned?: number };
    if (from === 0) jobId = answer.jobId!;
    unsigned += answer.unsigned ?? 0;
    pages++;
  }
  const seconds = (performance.now() - started) / 1000;
  const redis = new Redis(redisUrl);
  try {
    let bytes = 0;
    for (const key of [redisKeys.job(jobId), redisKeys.files(jobId), redisKeys.uploads(jobId)]) {
      bytes += Number((await redis.call("MEMORY", "USAGE", `${keyPrefix}${key}`, "SAMPLES", "0")) ?? 0);
    }
    return { files, seconds, pages, largestRequest, largestAnswer, unsigned, redisBytesPerFile: bytes / files };
  } finally {
    redis.disconnect();
  }
}

export function formatCreation(figures: readonly CreationFigures[]): string {
  const kb = (bytes: number) => `${(bytes / 1000).toFixed(0)} kB`;
  const header = `${"files".padStart(8)} ${"pages".padStart(6)} ${"total".padStart(9)} ${"files/s".padStart(8)} ${"largest request".padStart(16)} ${"largest answer".padStart(15)} ${"unsigned".padStart(9)} ${"Redis/file".padStart(11)}`;
  const rows = figures.map(
    (f) =>
      `${f.files.toLocaleString("en-US").padStart(8)} ${String(f.pages).padStart(6)} ${`${f.seconds.toFixed(1)} s`.padStart(9)} ${(f.files / f.seconds).toFixed(0).padStart(8)} ${kb(f.largestRequest).padStart(16)} ${kb(f.largestAnswer).padStart(15)} ${String(f.unsigned).padStart(9)} ${`${f.redisBytesPerFile.toFixed(0)} B`.padStart(11)}`,
  );
  return [header, ...rows].join("\n");
}
