// How a job's email leaves: a mail server (SMTP_URL, for local development), Amazon SES (in AWS,
// from SENDER_EMAIL, a verified identity), or, with neither, the log. One rule chooses.
import { SendEmailCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import nodemailer from "nodemailer";
import type { Config } from "../config.ts";

export type MailTransportKind = "smtp" | "ses" | "log";

export interface MailMessage {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface MailTransport {
  readonly kind: MailTransportKind;
  /** Resolves once the server (or SES) accepted the message; throws when it did not. */
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/** Where SMTP_URL is set but SENDER_EMAIL is not (a local mail catcher does not care). */
export const LOCAL_SENDER = "trapline@localhost";
/** The name shown beside the sender's address. */
const SENDER_NAME = "Trapline";

/**
 * Every wait is bounded so a send ends well inside the marker's lease (sendJobEmail.ts): SMTP
 * connect, greeting and each socket read; each SES request (the SDK tries three times).
 */
const SMTP_CONNECT_MS = 10_000;
const SMTP_SOCKET_MS = 20_000;
const SES_CONNECT_MS = 5_000;
const SES_REQUEST_MS = 20_000;

export interface MailTransportOptions {
  /** Where the log transport prints (default console.log). */
  log?: (text: string) => void;
  /** SES endpoint (LocalStack, or a test's listener); default AWS_ENDPOINT_URL, else AWS. */
  sesEndpoint?: string;
  /** Static credentials for SES (emulators); default the SDK's chain (the ECS task role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** SMTP_URL set: SMTP. Else SENDER_EMAIL set: SES. Else: the log. */
export function createMailTransport(
  config: Pick<Config, "SMTP_URL" | "SENDER_EMAIL" | "AWS_REGION" | "AWS_ENDPOINT_URL">,
  options: MailTransportOptions = {},
): MailTransport {
  if (config.SMTP_URL) return smtpTransport(config.SMTP_URL);
  if (config.SENDER_EMAIL) {
    const endpoint = options.sesEndpoint ?? config.AWS_ENDPOINT_URL;
    return sesTransport(
      new SESv2Client({
        region: config.AWS_REGION,
        ...(endpoint ? { endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        requestHandler: { connectionTimeout: SES_CONNECT_MS, requestTimeout: SES_REQUEST_MS },
      }),
    );
  }
  return logTransport(options.log ?? ((text) => console.log(text)));
}

/** The From header: "Trapline <address>". */
export function senderOf(config: Pick<Config, "SENDER_EMAIL">): string {
  return `${SENDER_NAME} <${config.SENDER_EMAIL ?? LOCAL_SENDER}>`;
}

function smtpTransport(url: string): MailTransport {
  // Keys beside `url` apply where the URL does not set them (nodemailer's defaults wait minutes).
  const mailer = nodemailer.createTransport({ url, connectionTimeout: SMTP_CONNECT_MS, greetingTimeout: SMTP_CONNECT_MS, socketTimeout: SMTP_SOCKET_MS });
  return {
    kind: "smtp",
    async send(message) {
      await mailer.sendMail(message);
    },
    close: () => mailer.close(),
  };
}

function sesTransport(client: SESv2Client): MailTransport {
  const mailer = nodemailer.createTransport({ SES: { sesClient: client, SendEmailCommand } });
  return {
    kind: "ses",
    async send(message) {
      await mailer.sendMail(message);
    },
    close: () => client.destroy(),
  };
}

function logTransport(log: (text: string) => void): MailTransport {
  return {
    kind: "log",
    send(message) {
      log(
        `Email not sent (set SMTP_URL, or SENDER_EMAIL for Amazon SES, to send it); it reads:\n` +
          `From: ${message.from}\nTo: ${message.to}\nSubject: ${message.subject}\n\n${message.text}`,
      );
      return Promise.resolve();
    },
    close: () => {},
  };
}
