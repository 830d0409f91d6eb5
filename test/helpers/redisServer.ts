// A private redis-server for tests that stop and start Redis, or run `npm start` under the real key
// names: a spare loopback port, an append-only file in a temp folder (a restart keeps the records,
// as a managed Redis would), removed on dispose.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./freePort.ts";
import { until } from "./until.ts";

export interface RedisServer {
  url: string;
  /** Starts the server (again) and waits until it answers. */
  start(): Promise<void>;
  /** SIGKILLs it, as a crash would. */
  kill(): Promise<void>;
  /** Kills it and removes its folder. */
  dispose(): Promise<void>;
}

/** A started private redis-server. */
export async function startRedisServer(): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), "trapline-redis-"));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const server: RedisServer = {
    url,
    async start() {
      child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir], { stdio: "ignore" });
      const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on("error", () => {});
      await until("redis-server to answer", async () => {
        try {
          await probe.connect();
          return (await probe.ping()) === "PONG";
        } catch {
          return false;
        }
      }, 10_000);
      probe.disconnect();
    },
    async kill() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      running.kill("SIGKILL");
      await once(running, "exit");
    },
    async dispose() {
      await server.kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
