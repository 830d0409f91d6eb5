// npm run bench:api [-- --seconds 10]
//
// Loads the API on loopback with autocannon, the worker idle: job creation with 100 files, and
// status reads of a queued job (as fast as it goes, then held at 1,000 req/s). The API runs in
// its own child process (one Node.js event loop, one core) against the embedded S3/SQS emulator
// and the local Redis under a throwaway key prefix; autocannon runs here.
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { parseArgs } from "node:util";
import autocannon from "autocannon";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" }, serve: { type: "boolean", default: false } } });
const SECONDS = Math.min(30, Math.max(1, Number(values.seconds)));
const FILES_PER_JOB = 100;
const CONNECTIONS = 10;

interface Ready {
  url: string;
  jobId: string;
}

/** Child: the API server, a queued job to read, and cleanup on SIGTERM. */
async function serve(): Promise<void> {
  const { startApiHarness } = await import("../test/helpers/apiHarness.ts");
  const api = await startApiHarness({ RATE_LIMIT_PER_HOUR: "100000000" });
  const files = Array.from({ length: 3 }, (_, index) => ({ name: `p${index}.jpg`, size: 3, type: "image/jpeg" }));
  const created = await api.call("POST", "/api/jobs", { email: "bench@example.org", files });
  const jobId = (created.json as { jobId: string }).jobId;
  await Promise.all(
    (created.json as { uploads: { url: string; headers: Record<string, string> }[] }).uploads.map((plan) =>
      fetch(plan.url, { method: "PUT", headers: plan.headers, body: "abc" }),
    ),
  );
  await api.call("POST", `/api/jobs/${jobId}/submit`);
  await api.store.recordRate(10); // so status reads compute an ETA, as they would in service
  process.send!({ url: api.url, jobId } satisfies Ready);
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
  const server: ChildProcess = fork(import.meta.filename, ["--serve"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    const [ready] = (await once(server, "message")) as [Ready];
    const body = JSON.stringify({
      email: "bench@example.org",
      files: Array.from({ length: FILES_PER_JOB }, (_, index) => ({ name: `cam${index % 4}/IMG_${String(index).padStart(4, "0")}.JPG`, size: 4_000_000, type: "image/jpeg" })),
    });
    console.log(`API at ${ready.url} (its own process), ${CONNECTIONS} connections, ${SECONDS} s per scenario, worker idle\n`);
    const results = [
      summarise(`POST /api/jobs (${FILES_PER_JOB} files, presigned PUTs)`, await load({ url: `${ready.url}/api/jobs`, method: "POST", headers: { "content-type": "application/json" }, body })),
      summarise("GET /api/jobs/<id> (queued job), flat out", await load({ url: `${ready.url}/api/jobs/${ready.jobId}` })),
      summarise("GET /api/jobs/<id> (queued job), 1,000 req/s", await load({ url: `${ready.url}/api/jobs/${ready.jobId}`, overallRate: 1000 })),
    ];
    console.log(results.join("\n"));
  } finally {
    server.kill("SIGTERM");
    await once(server, "exit");
  }
}

if (values.serve) await serve();
else await main();
