// Which way a job's email leaves, and the SES way over HTTP: the real SESv2 client and nodemailer's
// SES transport against a loopback listener that answers as SES's SendEmail does.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError, loadConfig } from "../config.ts";
import { createMailTransport, senderOf } from "./mailTransport.ts";

const message = { from: "Trapline <trapline@example.org>", to: "ranger@example.org", subject: "Your Trapline results are ready", text: "Photos checked: 3", html: "<p>Photos checked: 3</p>" };

test("SMTP_URL wins, else SENDER_EMAIL means Amazon SES, else the log", () => {
  const kind = (env: Record<string, string>) => {
    const transport = createMailTransport(loadConfig(env), { log: () => {} });
    transport.close();
    return transport.kind;
  };
  assert.equal(kind({ SMTP_URL: "smtp://localhost:1025", SENDER_EMAIL: "trapline@example.org" }), "smtp");
  assert.equal(kind({ SENDER_EMAIL: "trapline@example.org" }), "ses");
  assert.equal(kind({}), "log");
  assert.equal(senderOf(loadConfig({ SENDER_EMAIL: "trapline@example.org" })), "Trapline <trapline@example.org>");
});

test("the mail settings are checked at start, naming the variable", () => {
  assert.throws(() => loadConfig({ SMTP_URL: "http://localhost:1025" }), (error: Error) => error instanceof ConfigError && /SMTP_URL: give an smtp:\/\/ or smtps:\/\/ URL/.test(error.message));
  assert.throws(() => loadConfig({ SENDER_EMAIL: "Trapline" }), (error: Error) => error instanceof ConfigError && /SENDER_EMAIL: An email address needs an @/.test(error.message));
  assert.throws(() => loadConfig({ PUBLIC_SITE_URL: "traps.example.org" }), /PUBLIC_SITE_URL/);
  assert.throws(() => loadConfig({ SMTP_URL: "https://user:s3cret@mail.example.org" }), (error: Error) => /user:\*\*\*@mail/.test(error.message) && !error.message.includes("s3cret"));
  assert.equal(loadConfig({ SMTP_URL: "smtps://user:secret@mail.example.org:465" }).SMTP_URL, "smtps://user:secret@mail.example.org:465");
});

test("SES: one SESv2 SendEmail with the whole MIME message, from the sender, to the job's owner", async () => {
  const requests: { method?: string; url?: string; body: string; authorization?: string }[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      requests.push({ method: request.method, url: request.url, body: Buffer.concat(chunks).toString("utf8"), authorization: request.headers.authorization });
      response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ MessageId: "0100018f-test" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const transport = createMailTransport(loadConfig({ SENDER_EMAIL: "trapline@example.org", AWS_REGION: "eu-west-1" }), {
    sesEndpoint: endpoint,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  try {
    assert.equal(transport.kind, "ses");
    await transport.send(message);
    assert.equal(requests.length, 1);
    const [request] = requests;
    assert.equal(request!.method, "POST");
    assert.equal(request!.url, "/v2/email/outbound-emails");
    assert.match(request!.authorization ?? "", /Credential=test\/\d{8}\/eu-west-1\/ses\/aws4_request/, "signed for SES in the configured region");
    const body = JSON.parse(request!.body) as { FromEmailAddress: string; Destination: { ToAddresses: string[] }; Content: { Raw: { Data: string } } };
    assert.equal(body.FromEmailAddress, "Trapline <trapline@example.org>");
    assert.deepEqual(body.Destination.ToAddresses, ["ranger@example.org"]);
    const raw = Buffer.from(body.Content.Raw.Data, "base64").toString("utf8");
    assert.match(raw, /^Subject: Your Trapline results are ready\r$/m);
    assert.match(raw, /Content-Type: multipart\/alternative/);
    assert.match(raw, /Photos checked: 3/);
  } finally {
    transport.close();
    server.close();
  }
});

test("SES: a refusal (an unverified sender) reaches the caller as an error", async () => {
  const server = createServer((_request, response) => {
    response
      .writeHead(400, { "content-type": "application/json", "x-amzn-errortype": "MessageRejected" })
      .end(JSON.stringify({ message: "Email address is not verified. The following identities failed the check: trapline@example.org" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const transport = createMailTransport(loadConfig({ SENDER_EMAIL: "trapline@example.org" }), {
    sesEndpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  try {
    await assert.rejects(transport.send(message), /Email address is not verified/);
  } finally {
    transport.close();
    server.close();
  }
});
