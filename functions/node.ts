// Node.js entry: serves the app with @hono/node-server on a local port.
import { serve } from "@hono/node-server";
import type { ServerType } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import { createApp } from "./app.ts";
import type { AppDeps } from "./types.ts";

export interface ApiServer {
  server: ServerType;
  port: number;
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

export class PortInUseError extends Error {
  override name = "PortInUseError";
}

/** The socket's peer address: locally there is no proxy whose X-Forwarded-For we could trust. */
function socketIp(c: Context): string | undefined {
  return getConnInfo(c).remote.address;
}

/**
 * Starts the API (and the web page, when deps.staticDir is set) on `port` (0: any free port).
 * Rejects with PortInUseError, saying what to do, when the port is taken.
 */
export async function startApiServer(deps: AppDeps, port: number, hostname = "127.0.0.1"): Promise<ApiServer> {
  const app = createApp({ clientIp: socketIp, ...deps });
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
      server.off("error", onError);
      resolve({
        server,
        port: info.port,
        url: `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${info.port}`,
        close: () =>
          new Promise<void>((done, fail) => {
            server.close((error) => (error ? fail(error) : done()));
            // Keep-alive connections would hold close() open until they time out.
            if ("closeAllConnections" in server) server.closeAllConnections();
          }),
      });
    });
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(new PortInUseError(`Port ${port} is already in use (is another Trapline or web server running?). Stop it, or start with another port: PORT=3001 npm start`));
      } else if (error.code === "EACCES") {
        reject(new PortInUseError(`Not allowed to listen on port ${port}; ports below 1024 need extra rights. Try PORT=3000.`));
      } else {
        reject(error);
      }
    };
    server.once("error", onError);
  });
}
