// Browsers upload straight to S3 with presigned URLs, from the page's origin to the S3 endpoint's:
// that needs CORS, which fauxqs does not answer. Rather than bend the API for local use, a small
// loopback proxy sits in front of the embedded emulator and plays the part of the bucket's CORS
// rule (the rule provision.ts puts on a real bucket); everything, presigned URLs included, goes
// through it. Bodies stream through untouched.
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { BUCKET_CORS_RULE } from "./provision.ts";

export interface CorsProxy {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  close(): Promise<void>;
}

/** Starts the proxy on a free loopback port, forwarding to the emulator at 127.0.0.1:`targetPort`. */
export async function startCorsProxy(targetPort: number): Promise<CorsProxy> {
  // Kept-alive connections to the emulator: a new one per request made every small upload pay
  // a TCP handshake, and halved the MB/s of many small files (npm run bench:api).
  const upstreamAgent = new Agent({ keepAlive: true });
  const corsHeaders = (req: IncomingMessage): Record<string, string> => ({
    "access-control-allow-origin": req.headers.origin ?? "*",
    "access-control-expose-headers": BUCKET_CORS_RULE.ExposeHeaders!.join(", "),
    vary: "Origin",
  });
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "OPTIONS") {
      res.writeHead(200, {
        ...corsHeaders(req),
        "access-control-allow-methods": BUCKET_CORS_RULE.AllowedMethods!.join(", "),
        "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "*",
        "access-control-max-age": String(BUCKET_CORS_RULE.MaxAgeSeconds),
      });
      res.end();
      return;
    }
    const upstream = request({ host: "127.0.0.1", port: targetPort, method: req.method, path: req.url, headers: req.headers, agent: upstreamAgent }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, { ...reply.headers, ...corsHeaders(req) });
      reply.pipe(res);
    });
    upstream.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain", ...corsHeaders(req) });
      res.end(`The local S3/SQS emulator did not answer: ${error.message}`);
    });
    // A client that goes away (an aborted long poll) must not leave the upstream request open.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 65_000;
  server.on("close", () => upstreamAgent.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        // Keep-alive connections (the SDK's, a long poll) would hold close() open until they time out.
        server.closeAllConnections();
      }),
  };
}
