// The container's health check: exits 0 while the worker's heartbeat file (health.ts) shows a
// turning event loop and, during a job, recent progress; 1 otherwise, saying why.
//   node gpu-worker/worker/healthCheck.ts [heartbeat file]   (default: WORKER_HEALTH_FILE, else $TMPDIR/trapline-worker/health.json)
import { checkHealthFile, healthFilePath } from "./health.ts";

const verdict = await checkHealthFile(process.argv[2] ?? healthFilePath());
console.log(verdict.reason);
process.exitCode = verdict.healthy ? 0 : 1;
