// Bytes from disk to storage through presigned URLs: one PUT per small file or per part of a
// large one, over kept-alive connections (a new TCP connection per small photo would cost more
// than the photo). Only the transfer: which URL, when to re-sign and what to retry is decided
// by the uploader (cli/uploader.ts).
import { createReadStream } from "node:fs";
import type { ReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import type { IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { open } from "node:fs/promises";

/** Bodies up to this size are read whole and sent in one write; larger ones stream. */
const READ_WHOLE_BYTES = 1024 * 1024;
/** Longest a transfer may go without progress before it is given up (and tried again). */
const IDLE_TIMEOUT_MS = 60_000;

/** Storage refused the link: it expired (or its signature no longer holds). Sign again and retry. */
export class LinkRefusedError extends Error {
  override name = "LinkRefusedError";
}

/** Storage refused the request for another reason, or the connection failed; `retry` says whether trying again may help. */
export class TransferError extends Error {
  override name = "TransferError";
  readonly retry: boolean;
  constructor(message: string, retry: boolean) {
    super(message);
    this.retry = retry;
  }
}

export interface Transfers {
  /**
   * PUTs bytes [start, start+length) of the file at `path` to `url` with `headers`; resolves with
   * the ETag storage gave. `onBytes` hears each chunk as it goes (for progress).
   */
  put(url: string, headers: Record<string, string>, path: string, start: number, length: number, onBytes?: (bytes: number) => void): Promise<string>;
  /** Closes idle connections. */
  close(): void;
}

export function createTransfers(maxSockets: number): Transfers {
  const http = new HttpAgent({ keepAlive: true, maxSockets });
  const https = new HttpsAgent({ keepAlive: true, maxSockets });

  async function body(path: string, start: number, length: number): Promise<Buffer | ReadStream> {
    if (length > READ_WHOLE_BYTES) return createReadStream(path, { start, end: start + length - 1, highWaterMark: 1024 * 1024 });
    if (start === 0) {
      const whole = await readFile(path);
      if (whole.length === length) return whole;
      throw new TransferError(`${path} is ${whole.length} bytes now, not the ${length} planned: it changed since the upload started`, false);
    }
    const handle = await open(path, "r");
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      if (bytesRead !== length) throw new TransferError(`${path} is shorter than planned: it changed since the upload started`, false);
      return buffer;
    } finally {
      await handle.close();
    }
  }

  async function put(url: string, headers: Record<string, string>, path: string, start: number, length: number, onBytes?: (bytes: number) => void): Promise<string> {
    const data = await body(path, start, length);
    const target = new URL(url);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise<string>((resolve, reject) => {
      const req = send(target, { method: "PUT", agent: target.protocol === "https:" ? https : http, headers: { ...headers, "content-length": String(length) } }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", (error) => reject(new TransferError(`storage's answer broke off (${error.message})`, true)));
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString("utf8").slice(0, 500);
          if (status >= 200 && status < 300) {
            const etag = res.headers.etag;
            if (etag) resolve(etag);
            else reject(new TransferError("storage accepted the upload but sent no ETag", false));
          } else if (status === 403) {
            reject(new LinkRefusedError(`storage refused the link (HTTP 403${/expired/i.test(text) ? ", expired" : ""})`));
          } else {
            reject(new TransferError(`storage answered HTTP ${status}: ${text.replace(/\s+/g, " ")}`, status >= 500 || status === 408 || status === 429));
          }
        });
      });
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new Error(`no progress for ${IDLE_TIMEOUT_MS / 1000} s`)));
      req.on("error", (error) => reject(error instanceof TransferError ? error : new TransferError(`the connection to storage failed (${error.message})`, true)));
      if (Buffer.isBuffer(data)) {
        req.end(data, () => onBytes?.(data.length));
      } else {
        data.on("data", (chunk: string | Buffer) => onBytes?.(chunk.length));
        data.on("error", (error: Error) => req.destroy(error));
        data.pipe(req);
      }
    });
  }

  return {
    put,
    close() {
      http.destroy();
      https.destroy();
    },
  };
}
