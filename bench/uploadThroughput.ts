// Upload throughput (npm run bench:api): `trapline upload` to `npm start` on loopback, beside a
// floor of curl PUTs of the same bytes to the same presigned links (curl --parallel, kept-alive
// connections, as many at once), for many small files and for one file of the same total (its
// parts). `npm start` runs without a model, so no worker competes for the CPU while bytes move.
// Figures, never assertions.
import { spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { redisKeys } from "../core/keys.ts";
import type { CreatedJob, SignedParts, UploadPlans } from "../functions/wire.ts";
import { spawnNpmStart } from "../test/e2e/stack.ts";
import { freePort } from "../test/helpers/freePort.ts";
import { startRedisServer } from "../test/helpers/redisServer.ts";

const ROOT = join(import.meta.dirname, "..");
const MB = 1_000_000;
/** The 8 MiB parts and threshold `npm start` uses by default. */
const PART_BYTES = 8 * 1024 * 1024;

export interface ThroughputFigures {
  scenario: string;
  files: number;
  megabytes: number;
  cliMBps: number;
  curlMBps: number;
}


/** `node devstack/main.ts` (what npm start runs) on a free port, its own Redis and data folder, no model, until it says it runs. */
async function startStack(): Promise<{ url: string; stop: () => Promise<void> }> {
  const redis = await startRedisServer();
  const data = await mkdtemp(join(tmpdir(), "trapline-bench-stack-"));
  const started = await spawnNpmStart({
    PORT: String(await freePort()),
    MODEL: join(ROOT, "bench", "output", "no-model.onnx"),
    RATE_LIMIT_PER_HOUR: "100000",
    JOB_PARTS_SIGNED_PER_HOUR: "10000000",
    REDIS_URL: redis.url,
    TRAPLINE_DATA_DIR: data,
  });
  return {
    url: started.url,
    stop: async () => {
      await started.stop();
      await redis.dispose();
      await rm(data, { recursive: true, force: true });
    },
  };
}

/** `count` files of `bytes` random bytes each in `dir` (kept between runs). */
async function ensureFiles(dir: string, count: number, bytes: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const existing = await readdir(dir);
  if (existing.length === count && (await stat(join(dir, existing[0]!))).size === bytes) return;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const chunk = Buffer.alloc(Math.min(bytes, 8 * 1024 * 1024));
  for (let i = 0; i < count; i++) {
    const file = await open(join(dir, `IMG_${String(i).padStart(5, "0")}.JPG`), "w");
    for (let written = 0; written < bytes; written += chunk.length) {
      randomFillSync(chunk);
      await file.write(chunk, 0, Math.min(chunk.length, bytes - written));
    }
    await file.close();
  }
}

async function api<T>(url: string, path: string, body: unknown): Promise<T> {
  const response = await fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** `trapline upload <dir>`: its own measure of the upload (from the first plan to the last byte). */
function runCli(url: string, dir: string, parallel: number): { mbps: number; jobId: string } {
  const result = spawnSync(process.execPath, [join(ROOT, "gpu-worker", "cli", "main.ts"), "upload", dir, "--api", url, "--email", "bench@example.org", "--no-progress", "--parallel", String(parallel)], {
    encoding: "utf8",
  });
  const measured = /Uploaded \d+ file\(s\), [\d.]+ MB in [\d.]+ s \(([\d.]+) MB\/s\)/.exec(result.stderr);
  const jobId = /Job (\S+):/.exec(result.stderr)?.[1];
  if (result.status !== 0 || !measured || !jobId) throw new Error(`trapline upload failed (${result.status}):\n${result.stderr}`);
  return { mbps: Number(measured[1]), jobId };
}

/** curl PUTs each (file, url) pair, `parallel` at a time over kept-alive connections; MB/s of the transfers. */
function runCurl(transfers: { path: string; url: string; headers: Record<string, string> }[], parallel: number, workDir: string, bytes: number): Promise<number> {
  const config = transfers
    .map((transfer) =>
      [
        `url = "${transfer.url}"`,
        `upload-file = "${transfer.path}"`,
        ...Object.entries(transfer.headers).map(([name, value]) => `header = "${name}: ${value}"`),
        `output = "/dev/null"`,
        `write-out = "%{http_code}\\n"`,
      ].join("\n"),
    )
    .join("\nnext\n");
  const configPath = join(workDir, "curl.config");
  return writeFile(configPath, config).then(() => {
    const started = performance.now();
    const result = spawnSync("curl", ["--silent", "--parallel", "--parallel-max", String(parallel), "--config", configPath], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    const seconds = (performance.now() - started) / 1000;
    const codes = result.stdout.trim().split("\n");
    if (result.status !== 0 || codes.length !== transfers.length || codes.some((code) => code !== "200")) {
      throw new Error(`curl failed (${result.status}): ${codes.filter((code) => code !== "200").slice(0, 5).join(", ")} ${result.stderr.slice(0, 500)}`);
    }
    return bytes / MB / seconds;
  });
}

/** Plans for `names` in `dir`, created in pages as the command line does, with any unsigned ones signed by name. */
async function plansFor(url: string, dir: string, names: string[], size: number): Promise<{ jobId: string; plans: UploadPlans["uploads"] }> {
  const plans: UploadPlans["uploads"] = [];
  let jobId = "";
  for (let from = 0; from < names.length; from += 1000) {
    const files = names.slice(from, from + 1000).map((name) => ({ name, size, type: "image/jpeg" }));
    const answer = from === 0 ? await api<CreatedJob>(url, "/api/jobs", { email: "bench@example.org", files }) : await api<UploadPlans>(url, `/api/jobs/${jobId}/files`, { files });
    if (from === 0) jobId = (answer as CreatedJob).jobId;
    plans.push(...answer.uploads);
    const rest = files.slice(answer.uploads.length).map((file) => file.name);
    if (rest.length > 0) plans.push(...(await api<UploadPlans>(url, `/api/jobs/${jobId}/uploads/sign`, { names: rest })).uploads);
  }
  return { jobId, plans };
}

export async function measureThroughput(options: { smallFiles: number; smallBytes: number; parallel: number; redisUrl: string; workDir: string; log: (line: string) => void }): Promise<ThroughputFigures[]> {
  const { smallFiles, smallBytes, parallel, workDir, log } = options;
  const total = smallFiles * smallBytes;
  const smallDir = join(workDir, `small-${smallFiles}x${smallBytes}`);
  const largeDir = join(workDir, `large-${total}`);
  const partsDir = join(workDir, `large-${total}-parts`);
  log(`Writing the test files under ${workDir} (kept for the next run)...`);
  await ensureFiles(smallDir, smallFiles, smallBytes);
  await ensureFiles(largeDir, 1, total);
  const partCount = Math.ceil(total / PART_BYTES);
  if (!existsSync(join(partsDir, `part-${partCount}`))) {
    await mkdir(partsDir, { recursive: true });
    const whole = await open(join(largeDir, (await readdir(largeDir))[0]!), "r");
    for (let part = 1; part <= partCount; part++) {
      const buffer = Buffer.alloc(Math.min(PART_BYTES, total - (part - 1) * PART_BYTES));
      await whole.read(buffer, 0, buffer.length, (part - 1) * PART_BYTES);
      await writeFile(join(partsDir, `part-${part}`), buffer);
    }
    await whole.close();
  }

  const stack = await startStack();
  const jobs: string[] = [];
  try {
    log(`npm start at ${stack.url} (no model: no worker runs); ${parallel} transfers at once for both the CLI and curl.`);
    const figures: ThroughputFigures[] = [];

    const small = runCli(stack.url, smallDir, parallel);
    jobs.push(small.jobId);
    const names = (await readdir(smallDir)).sort();
    const smallPlans = await plansFor(stack.url, smallDir, names, smallBytes);
    jobs.push(smallPlans.jobId);
    const smallCurl = await runCurl(
      smallPlans.plans.map((plan) => ({ path: join(smallDir, plan.name), url: plan.method === "PUT" ? plan.url : "", headers: plan.method === "PUT" ? plan.headers : {} })),
      parallel,
      workDir,
      total,
    );
    figures.push({ scenario: `${smallFiles} files of ${(smallBytes / 1000).toFixed(0)} kB`, files: smallFiles, megabytes: total / MB, cliMBps: small.mbps, curlMBps: smallCurl });

    const large = runCli(stack.url, largeDir, parallel);
    jobs.push(large.jobId);
    const largeName = (await readdir(largeDir))[0]!;
    const created = await api<CreatedJob>(stack.url, "/api/jobs", { email: "bench@example.org", files: [{ name: largeName, size: total }] });
    jobs.push(created.jobId);
    const plan = created.uploads[0]!;
    if (plan.method !== "multipart") throw new Error("expected a multipart plan for the large file");
    const signed = await api<SignedParts>(stack.url, `/api/jobs/${created.jobId}/uploads/${encodeURIComponent(plan.multipart.uploadId)}/sign`, {
      partNumbers: Array.from({ length: plan.multipart.partCount }, (_, index) => index + 1),
    });
    const largeCurl = await runCurl(
      signed.parts.map((part) => ({ path: join(partsDir, `part-${part.partNumber}`), url: part.url, headers: {} })),
      parallel,
      workDir,
      total,
    );
    figures.push({ scenario: `1 file of ${(total / MB).toFixed(0)} MB (${plan.multipart.partCount} parts)`, files: 1, megabytes: total / MB, cliMBps: large.mbps, curlMBps: largeCurl });
    return figures;
  } finally {
    await stack.stop();
    // npm start keeps jobs under the real key names: remove the bench's.
    const redis = new Redis(options.redisUrl);
    for (const id of jobs) {
      await redis.del(redisKeys.job(id), redisKeys.files(id), redisKeys.uploads(id));
      await redis.zrem(redisKeys.uploading(), id);
      await redis.zrem(redisKeys.queue(), id);
    }
    redis.disconnect();
  }
}

export function formatThroughput(figures: readonly ThroughputFigures[]): string {
  const header = `${"upload".padEnd(34)} ${"MB".padStart(6)} ${"trapline MB/s".padStart(14)} ${"curl MB/s".padStart(10)} ${"of curl".padStart(8)}`;
  const rows = figures.map(
    (f) => `${f.scenario.padEnd(34)} ${f.megabytes.toFixed(0).padStart(6)} ${f.cliMBps.toFixed(1).padStart(14)} ${f.curlMBps.toFixed(1).padStart(10)} ${`${Math.round((100 * f.cliMBps) / f.curlMBps)} %`.padStart(8)}`,
  );
  const [small, large] = figures;
  const ratio = small && large ? `\nMany small files reach ${Math.round((100 * small.cliMBps) / large.cliMBps)} % of one large file's MB/s with trapline upload (${Math.round((100 * small.curlMBps) / large.curlMBps)} % with curl).` : "";
  return [header, ...rows].join("\n") + ratio;
}
