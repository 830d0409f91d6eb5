// A real SMTP server on loopback (smtp-server) that keeps what it receives, for tests of the job
// email: nodemailer talks to it as to any mail server. It can refuse messages, as a full mailbox
// or a down relay would.
import { SMTPServer } from "smtp-server";
import type { AddressInfo } from "node:net";

export interface CaughtMail {
  from: string;
  to: string[];
  /** The message as sent (headers and MIME body). */
  raw: string;
}

export interface MailCatcher {
  /** smtp://127.0.0.1:<port> */
  url: string;
  received: CaughtMail[];
  /** While true, every message is refused with a 451 (try again later). */
  refusing: boolean;
  /** Waits for each message being received now to finish. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** Most bytes one test message may have: the job email is a few KB. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

export async function startMailCatcher(): Promise<MailCatcher> {
  const received: CaughtMail[] = [];
  const pending = new Set<Promise<void>>();
  const catcher: MailCatcher = {
    url: "",
    received,
    refusing: false,
    async settled() {
      await Promise.all(pending);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    size: MAX_MESSAGE_BYTES,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      const done = new Promise<void>((resolve) => {
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("end", () => {
          pending.delete(done);
          if (catcher.refusing) {
            callback(Object.assign(new Error("Mailbox busy, try again later"), { responseCode: 451 }));
          } else {
            const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
            received.push({ from, to: session.envelope.rcptTo.map((to) => to.address), raw: Buffer.concat(chunks).toString("utf8") });
            callback();
          }
          resolve();
        });
      });
      pending.add(done);
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  catcher.url = `smtp://127.0.0.1:${port}`;
  return catcher;
}

/** The decoded text of a quoted-printable MIME part, as a mail client shows it. */
export function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const joined = text.replace(/=\r?\n/g, "");
  for (let i = 0; i < joined.length; i++) {
    const hex = joined[i] === "=" ? /^[0-9A-F]{2}$/i.exec(joined.slice(i + 1, i + 3)) : null;
    if (hex) {
      bytes.push(parseInt(hex[0], 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(joined[i]!, "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}
