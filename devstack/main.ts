// `npm start`: the local stack (stack.ts) in this process until Ctrl-C or SIGTERM.
//   node devstack/main.ts
import { ConfigError, loadConfig } from "../core/config.ts";
import { graceSeconds } from "../gpu-worker/worker/main.ts";
import { startLocalStack, StartupError } from "./stack.ts";

async function main(): Promise<void> {
  const config = loadConfig();
  const grace = graceSeconds();
  if (!config.AWS_ENDPOINT_URL) console.log("Starting the S3/SQS emulator (fauxqs) in this process; set AWS_ENDPOINT_URL to use LocalStack or AWS instead.");
  const stack = await startLocalStack({ config });
  const page = stack.url.replace("127.0.0.1", "localhost");
  console.log(`\nTrapline is running. Open ${page} in your browser.\n  API ${page}/api, health ${page}/healthz; S3/SQS at ${stack.awsEndpoint}; Redis at ${config.REDIS_URL}\n  Ctrl-C to stop.`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const busy = stack.workers().some((worker) => worker.currentJobId);
    console.log(`${signal}: stopping${busy ? " (running jobs go back to the queue and start again with the next npm start)" : ""}...`);
    // The embedded emulator keeps a handed-back job on disk: no reason to make Ctrl-C wait for it.
    void stack.stop(stack.embeddedEmulator ? 0 : grace * 1000).then(() => process.exit(0));
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StartupError) console.error(error.message);
    else console.error(`Trapline could not start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  }
}
