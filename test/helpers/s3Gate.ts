// A loopback proxy in front of the S3 emulator that does what fauxqs leaves out and tests need:
// it refuses a presigned request whose link has expired (403 AccessDenied "Request has expired",
// as S3 answers; refuseNext() makes it refuse some whatever their links say), and it counts the
// uploads that reach storage (single PUTs and parts, by key), so tests can see what a client
// sent. Bodies stream through untouched.
import { createServer, request } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface S3Gate {
  /** http://127.0.0.1:<port>: use it as the presigning endpoint. */
  url: string;
  /** Upload requests that reached storage, in order: key (path after the bucket) and part number, if any. */
  uploads: { key: string; partNumber?: number; bytes: number }[];
  /** Requests refused because their link had expired (or refuseNext said so). */
  expired: number;
  /** Refuses the next `count` uploads as expired, whatever their links say (a clock that disagrees, a slow start). */
  refuseNext(count: number): void;
  close(): Promise<void>;
}

/** When a presigned link stops working, from its X-Amz-Date and X-Amz-Expires; undefined for an unsigned request. */
function expiresAt(url: URL): number | undefined {
  const date = url.searchParams.get("X-Amz-Date");
  const seconds = Number(url.searchParams.get("X-Amz-Expires"));
  const match = date?.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/);
  if (!match || !Number.isFinite(seconds)) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s) + seconds * 1000;
}

export async function startS3Gate(target: string, bucket: string): Promise<S3Gate> {
  const upstream = new URL(target);
  let refuse = 0;
  const gate: S3Gate = { url: "", uploads: [], expired: 0, refuseNext: (count) => (refuse = count), close: async () => {} };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://gate");
    const until = expiresAt(url);
    const forced = req.method === "PUT" && refuse > 0;
    if (forced) refuse--;
    if (forced || (until !== undefined && Date.now() > until)) {
      gate.expired++;
      req.resume();
      res.writeHead(403, { "content-type": "application/xml" });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>`);
      return;
    }
    let bytes = 0;
    req.on("data", (chunk: Buffer) => (bytes += chunk.length));
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (reply) => {
      if (req.method === "PUT" && (reply.statusCode ?? 500) < 300) {
        const key = decodeURIComponent(url.pathname.slice(`/${bucket}/`.length));
        const partNumber = url.searchParams.get("partNumber");
        gate.uploads.push({ key, bytes, ...(partNumber ? { partNumber: Number(partNumber) } : {}) });
      }
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    });
    forward.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(error));
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  gate.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  gate.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return gate;
}
