// npm run bench:api [-- --sizes 1000,10000,100000] [--small-files 2000] [--small-kb 126]
//                      [--parallel 16] [--seconds 10] [--only creation,upload,load]
//
// The API on loopback, figures printed and never asserted:
//   creation  a job of each size created in pages of 1,000 (bench/jobCreation.ts): total time,
//             largest request and answer, Redis bytes per file
//   upload    `trapline upload` to `npm start` beside curl PUTs of the same bytes, for many small
//             files and one file of the same total (bench/uploadThroughput.ts)
//   load      autocannon: job creation with 100 files, and status reads of a queued job (as
//             fast as it goes, then held at 1,000 req/s)
// For creation and load the API runs in its own child process (one Node.js event loop) against
// the embedded S3/SQS emulator and the local Redis under a throwaway key prefix.
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { formatCreation, measureCreation } from "./jobCreation.ts";
import { formatThroughput, measureThroughput } from "./uploadThroughput.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    sizes: { type: "string", default: "1000,10000,100000" },
    "small-files": { type: "string", default: "2000" },
    "small-kb": { type: "string", default: "126" },
    parallel: { type: "string", default: "16" },
    only: { type: "string", default: "creation,upload,load" },
    serve: { type: "boolean", default: false },
  },
});
const SECONDS = Math.min(30, Math.max(1, Number(values.seconds)));
const FILES_PER_JOB = 100;
const CONNECTIONS = 10;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const ONLY = new Set(values.only.split(","));

interface Ready {
  url: string;
  jobId: string;
  keyPrefix: string;
}

/** Child: the API server, a queued job to read, and cleanup on SIGTERM. */
async function serve(): Promise<void> {
  const { startApiHarness } = await import("../test/helpers/apiHarness.ts");
  // Limits out of the way: the load scenarios measure the routes, not 429s.
  const api = await startApiHarness({ RATE_LIMIT_PER_HOUR: "100000000", JOB_READS_PER_MINUTE: "100000000", MAX_FILES: "1000000" });
  const files = Array.from({ length: 3 }, (_, index) => ({ name: `p${index}.jpg`, size: 3, type: "image/jpeg" }));
  const created = await api.call("POST", "/api/jobs", { email: "bench@example.org", files });
  const jobId = created.json.jobId;
  await Promise.all(created.json.uploads.map((plan) => fetch(plan.url, { method: "PUT", headers: plan.headers, body: "abc" })));
  await api.call("POST", `/api/jobs/${jobId}/submit`);
  await api.store.recordRate(10); // so status reads compute an ETA, as they would in service
  process.send!({ url: api.url, jobId, keyPrefix: api.redis.prefix } satisfies Ready);
  process.once("SIGTERM", () => {
    void api.stop().then(() => process.exit(0));
  });
}

function summarise(name: string, result: autocannon.Result): string {
  const errors = result.errors + result.timeouts + result.non2xx;
  return `${name.padEnd(44)} ${result.requests.average.toFixed(0).padStart(7)} req/s   p50 ${String(result.latency.p50).padStart(4)} ms   p99 ${String(result.latency.p99).padStart(4)} ms   ${result.requests.total} requests, ${errors} errors`;
}

async function load(options: autocannon.Options): Promise<autocannon.Result> {
  return autocannon({ connections: CONNECTIONS, duration: SECONDS, ...options });
}

async function main(): Promise<void> {
  console.log(`bench:api on ${cpus().length} CPU core(s) (${cpus()[0]?.model ?? "unknown"}); shared machines make every figure noisy.\n`);
  if (ONLY.has("creation") || ONLY.has("load")) {
    const server: ChildProcess = fork(import.meta.filename, ["--serve"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    try {
      const [ready] = (await once(server, "message")) as [Ready];
      if (ONLY.has("creation")) {
        console.log(`Job creation in pages of 1,000 (API at ${ready.url}, its own process):`);
        const figures = [];
        for (const size of values.sizes.split(",").map(Number)) figures.push(await measureCreation(ready.url, REDIS_URL, ready.keyPrefix, size));
        console.log(`${formatCreation(figures)}\n`);
      }
      if (ONLY.has("load")) {
        const body = JSON.stringify({
          email: "bench@example.org",
          files: Array.from({ length: FILES_PER_JOB }, (_, index) => ({ name: `cam${index % 4}/IMG_${String(index).padStart(4, "0")}.JPG`, size: 4_000_000, type: "image/jpeg" })),
        });
        console.log(`Load: ${CONNECTIONS} connections, ${SECONDS} s per scenario, worker idle`);
        const results = [
          summarise(`POST /api/jobs (${FILES_PER_JOB} files, presigned PUTs)`, await load({ url: `${ready.url}/api/jobs`, method: "POST", headers: { "content-type": "application/json" }, body })),
          summarise("GET /api/jobs/<id> (queued job), flat out", await load({ url: `${ready.url}/api/jobs/${ready.jobId}` })),
          summarise("GET /api/jobs/<id> (queued job), 1,000 req/s", await load({ url: `${ready.url}/api/jobs/${ready.jobId}`, overallRate: 1000 })),
        ];
        console.log(`${results.join("\n")}\n`);
      }
    } finally {
      server.kill("SIGTERM");
      await once(server, "exit");
    }
  }
  if (ONLY.has("upload")) {
    console.log("Upload throughput on loopback:");
    const figures = await measureThroughput({
      smallFiles: Number(values["small-files"]),
      smallBytes: Number(values["small-kb"]) * 1000,
      parallel: Number(values.parallel),
      redisUrl: REDIS_URL,
      workDir: join(import.meta.dirname, "output", "upload"),
      log: (line) => console.log(line),
    });
    console.log(formatThroughput(figures));
  }
}

if (values.serve) await serve();
else await main();
