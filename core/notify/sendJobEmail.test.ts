// The once-per-job email over real Redis and a real SMTP server (smtp-server on loopback).
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../config.ts";
import type { JobRecord } from "../jobs.ts";
import { createRedis } from "../jobStore.ts";
import { redisKeys } from "../keys.ts";
import { TEST_REDIS_URL, testRedis, type TestRedis } from "../../test/helpers/redis.ts";
import { decodeQuotedPrintable, startMailCatcher, type MailCatcher } from "../../test/helpers/mailCatcher.ts";
import { jobEmailDeps, sendJobEmail, type JobEmailDeps } from "./sendJobEmail.ts";

function finishedJob(overrides: Partial<JobRecord> = {}): JobRecord {
  const id = randomBytes(16).toString("base64url");
  return {
    id,
    email: "ranger@example.org",
    status: "done",
    createdAt: "2026-05-01T08:00:00.000Z",
    updatedAt: "2026-05-01T09:00:00.000Z",
    finishedAt: "2026-05-01T09:00:00.000Z",
    fileCount: 2,
    totalBytes: 2_000,
    options: {},
    progress: { processed: 400, total: 400 },
    attempts: 1,
    result: { key: `jobs/${id}/output/trapline-${id}.zip`, bytes: 1, images: 400, failed: 2, imagesWith: { animal: 120, person: 3, vehicle: 1 }, imagesPerSecond: 10 },
    ...overrides,
  };
}

describe("sendJobEmail", () => {
  let t: TestRedis;
  let mail: MailCatcher;
  let lines: string[];
  const opened: JobEmailDeps[] = [];

  /** The worker's own deps, from the same environment variables a deployment sets. */
  function deps(env: Record<string, string>, redis = t.redis): JobEmailDeps {
    const config = loadConfig({ PUBLIC_SITE_URL: "https://traps.example.org", RETENTION_DAYS: "7", ...env });
    const made = jobEmailDeps(config, redis, { log: (line) => lines.push(line) });
    opened.push(made);
    return made;
  }

  before(async () => {
    t = testRedis();
    mail = await startMailCatcher();
  });
  beforeEach(() => {
    lines = [];
    mail.received.length = 0;
    mail.refusing = false;
  });
  afterEach(() => {
    for (const made of opened.splice(0)) made.transport.close();
  });
  after(async () => {
    await mail.close();
    await t.cleanup();
  });

  test("two deliveries at once (two workers, two Redis connections) send exactly one email, with the counts, the link and the deletion day", async () => {
    const second = createRedis({ REDIS_URL: TEST_REDIS_URL, REDIS_CLUSTER: false }, { keyPrefix: t.prefix });
    try {
      const job = finishedJob();
      const env = { SMTP_URL: mail.url, SENDER_EMAIL: "trapline@example.org" };
      const outcomes = await Promise.all([sendJobEmail(job, deps(env)), sendJobEmail(job, deps(env, second))]);
      await mail.settled();
      assert.equal(mail.received.length, 1, "one email");
      const statuses = outcomes.map((o) => o.status).sort();
      assert.equal(statuses[1], "sent");
      assert.ok(statuses[0] === "in-progress" || statuses[0] === "already-sent", statuses.join());

      // Any later delivery (the fan-in again, a redelivered message) is a no-op.
      assert.deepEqual(await sendJobEmail(job, deps(env)), { status: "already-sent" });
      await mail.settled();
      assert.equal(mail.received.length, 1);

      const [email] = mail.received;
      assert.deepEqual(email!.to, ["ranger@example.org"]);
      assert.equal(email!.from, "trapline@example.org");
      const body = decodeQuotedPrintable(email!.raw);
      assert.match(body, /^Subject: Your Trapline results are ready: 400 photos checked\r?$/m);
      assert.match(body, /^From: Trapline <trapline@example\.org>\r?$/m);
      assert.match(body, /Content-Type: multipart\/alternative/, "plain text and HTML");
      assert.match(body, /Content-Type: text\/html/);
      for (const row of [/Photos checked: +400/, /With animals: +120/, /With people: +3/, /With vehicles: +1/, /Could not be read: +2 \(results\.xlsx says why for each\)/]) {
        assert.match(body, row);
      }
      assert.ok(body.includes(`https://traps.example.org/#/jobs/${job.id}`), "the job page's link");
      assert.match(body, /download them by Friday, 8 May 2026 \(UTC\)/);
      assert.match((await t.redis.get(redisKeys.email(job.id))) ?? "", /^sent:/);
      assert.ok((await t.redis.ttl(redisKeys.email(job.id))) > 7 * 24 * 3600, "remembered past the job record's own expiry");
    } finally {
      second.disconnect();
    }
  });

  test("a failed job's email goes out once too", async () => {
    const job = finishedJob({ status: "failed", result: undefined, error: "The photos could not be read." });
    assert.deepEqual(await sendJobEmail(job, deps({ SMTP_URL: mail.url })), { status: "sent", via: "smtp" });
    await mail.settled();
    assert.equal(mail.received.length, 1);
    assert.equal(mail.received[0]!.from, "trapline@localhost", "SMTP without SENDER_EMAIL: a local sender");
    assert.match(decodeQuotedPrintable(mail.received[0]!.raw), /What went wrong: The photos could not be read\./);
  });

  test("with no SMTP_URL and no SENDER_EMAIL the email is printed to the log, once", async () => {
    const job = finishedJob();
    assert.deepEqual(await sendJobEmail(job, deps({})), { status: "sent", via: "log" });
    assert.deepEqual(await sendJobEmail(job, deps({})), { status: "already-sent" });
    const printed = lines.filter((line) => line.startsWith("Email not sent"));
    assert.equal(printed.length, 1);
    assert.match(printed[0]!, /set SMTP_URL, or SENDER_EMAIL for Amazon SES/);
    assert.match(printed[0]!, /^To: ranger@example\.org$/m);
    assert.match(printed[0]!, /Photos checked: +400/);
    assert.ok(printed[0]!.includes(`https://traps.example.org/#/jobs/${job.id}`));
    assert.equal(mail.received.length, 0);
  });

  test("a transport that refuses the message releases the claim, so the next delivery sends", async () => {
    const job = finishedJob();
    mail.refusing = true;
    await assert.rejects(sendJobEmail(job, deps({ SMTP_URL: mail.url })), (error: Error) => {
      assert.match(error.message, new RegExp(`Job ${job.id}: the email to its owner was not sent \\(.*451.*\\); a later attempt will send it\\.`));
      return true;
    });
    assert.equal(await t.redis.exists(redisKeys.email(job.id)), 0, "the marker is released");

    mail.refusing = false;
    assert.deepEqual(await sendJobEmail(job, deps({ SMTP_URL: mail.url })), { status: "sent", via: "smtp" });
    await mail.settled();
    assert.equal(mail.received.length, 1);
  });

  test("an unreachable mail server releases the claim too", async () => {
    const job = finishedJob();
    const closed = await startMailCatcher();
    await closed.close();
    await assert.rejects(sendJobEmail(job, deps({ SMTP_URL: closed.url })), /not sent \(.*ECONNREFUSED/);
    assert.equal(await t.redis.exists(redisKeys.email(job.id)), 0);
  });

  test("a worker that died holding the claim: the next delivery waits out the lease, then sends (at-least-once)", async () => {
    const job = finishedJob();
    // What a worker leaves when it dies between claiming and recording "sent".
    await t.redis.set(redisKeys.email(job.id), "sending:died", "PX", 1_500);
    const waiting = await sendJobEmail(job, deps({ SMTP_URL: mail.url }));
    assert.equal(waiting.status, "in-progress");
    assert.ok(waiting.status === "in-progress" && waiting.retryAfterSeconds >= 1 && waiting.retryAfterSeconds <= 2, JSON.stringify(waiting));
    await mail.settled();
    assert.equal(mail.received.length, 0);

    await sleep(1_600);
    assert.deepEqual(await sendJobEmail(job, deps({ SMTP_URL: mail.url })), { status: "sent", via: "smtp" });
    await mail.settled();
    assert.equal(mail.received.length, 1);
  });

  test("a job that is not finished has no email yet, and claims nothing", async () => {
    const job = finishedJob({ status: "processing" });
    await assert.rejects(sendJobEmail(job, deps({ SMTP_URL: mail.url })), /is processing: send its email once it is done or failed/);
    assert.equal(await t.redis.exists(redisKeys.email(job.id)), 0);
  });
});
