// One email per finished job, however often the job's last message is delivered.
//
// The right to send is a Redis marker on the job's own hash slot (redisKeys.email): SET NX with
// a lease, "sending:<token>" for EMAIL_LEASE_SECONDS, claimed before sending; "sent:<time>" once
// the transport accepted the message; deleted again when the transport refused it, so a retry can
// send. A second delivery that finds the lease held is told to come back when it ends.
//
// Delivery is at-least-once, like the rest of Trapline (DESIGN.md): a worker that dies after
// claiming leaves a lease that runs out, and the next delivery sends. A worker that dies after
// the server accepted the message but before "sent" was written therefore makes the next
// delivery send it again: a rare second copy of the same news, rather than a user who is never
// told their results are ready (at-most-once would lose it whenever a worker died in between).
import { randomBytes } from "node:crypto";
import type { Config } from "../config.ts";
import type { JobRecord } from "../jobs.ts";
import type { RedisClient } from "../jobStore.ts";
import { redisKeys } from "../keys.ts";
import { composeJobEmail } from "./composeJobEmail.ts";
import { jobPageUrl } from "./jobPageUrl.ts";
import { createMailTransport, senderOf, type MailTransport, type MailTransportKind, type MailTransportOptions } from "./mailTransport.ts";

/**
 * How long a claim holds before another delivery may send: longer than a send can take (the
 * transports' own timeouts, mailTransport.ts, end one within about a minute).
 */
export const EMAIL_LEASE_SECONDS = 120;
/** How long "sent" is remembered: past the job record's own expiry, after which nothing asks. */
const SENT_MARKER_EXTRA_DAYS = 1;

export interface JobEmailDeps {
  redis: RedisClient;
  transport: MailTransport;
  /** The From header (senderOf). */
  from: string;
  /** The job page's URL for a job id (jobPageUrl). */
  pageUrl: (jobId: string) => string;
  retentionDays: number;
  log: (line: string) => void;
  /** EMAIL_LEASE_SECONDS unless a test shortens it. */
  leaseSeconds?: number;
}

export type JobEmailOutcome =
  | { status: "sent"; via: MailTransportKind }
  /** An earlier delivery sent it: nothing to do. */
  | { status: "already-sent" }
  /** Another delivery holds the lease: ask again after this many seconds (it may fail and release it). */
  | { status: "in-progress"; retryAfterSeconds: number };

/** What the worker passes to sendJobEmail: built once at start from its config and Redis client. */
export function jobEmailDeps(
  config: Pick<Config, "SMTP_URL" | "SENDER_EMAIL" | "AWS_REGION" | "AWS_ENDPOINT_URL" | "PUBLIC_SITE_URL" | "PORT" | "RETENTION_DAYS">,
  redis: RedisClient,
  options: MailTransportOptions & { log?: (line: string) => void } = {},
): JobEmailDeps {
  const log = options.log ?? ((line: string) => console.log(line));
  return {
    redis,
    transport: createMailTransport(config, { log, ...options }),
    from: senderOf(config),
    pageUrl: (jobId) => jobPageUrl(config, jobId),
    retentionDays: config.RETENTION_DAYS,
    log,
  };
}

// Lua: write "sent" over our own claim, or over nothing (our lease ran out and nobody claimed
// since); another delivery's claim is left to it. KEYS[1] marker; ARGV our claim, sent value, ttl s.
const MARK_SENT_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
`;

// Lua: delete the marker only while it is still our claim. KEYS[1] marker; ARGV our claim.
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/**
 * Emails the job's owner that it is done or failed, once per job. Call it with the job's record
 * after it reached done or failed, on every delivery that finds it so (also a redelivery of a job
 * already settled: that is how a send lost to a dead worker is made good). Throws when the job is
 * not finished, when Redis does not answer, or when the transport refused the message (its claim
 * released first, so a retry sends): any throw means "not sent, try again later".
 */
export async function sendJobEmail(job: JobRecord, deps: JobEmailDeps): Promise<JobEmailOutcome> {
  if (job.status !== "done" && job.status !== "failed") {
    throw new Error(`Job ${job.id} is ${job.status}: send its email once it is done or failed.`);
  }
  // Composed before claiming: a job that cannot be described is a bug, not a reason to hold the lease.
  const email = composeJobEmail({ job, pageUrl: deps.pageUrl(job.id), retentionDays: deps.retentionDays });
  const key = redisKeys.email(job.id);
  const claim = `sending:${randomBytes(12).toString("base64url")}`;
  const leaseMs = (deps.leaseSeconds ?? EMAIL_LEASE_SECONDS) * 1000;
  const claimed = await deps.redis.set(key, claim, "PX", leaseMs, "NX");
  if (claimed !== "OK") return standing(deps.redis, key);

  try {
    await deps.transport.send({ from: deps.from, to: job.email, ...email });
  } catch (error) {
    await deps.redis.eval(RELEASE_SCRIPT, 1, key, claim).catch((releaseError: unknown) => {
      deps.log(`Job ${job.id}: could not release the email claim (${messageOf(releaseError)}); a retry can send once its lease ends.`);
    });
    throw new Error(`Job ${job.id}: the email to its owner was not sent (${messageOf(error)}); a later attempt will send it.`, { cause: error });
  }
  const sentTtl = (deps.retentionDays + SENT_MARKER_EXTRA_DAYS) * 24 * 3600;
  // The email is out: failing to record it now costs at most a second copy later, not an error.
  await deps.redis.eval(MARK_SENT_SCRIPT, 1, key, claim, `sent:${new Date().toISOString()}`, String(sentTtl)).catch((error: unknown) => {
    deps.log(`Job ${job.id}: email sent, but not recorded as sent (${messageOf(error)}); a redelivery after the lease may send a second copy.`);
  });
  deps.log(`Job ${job.id}: ${job.status} email ${deps.transport.kind === "log" ? "printed" : `sent (${deps.transport.kind})`}.`);
  return { status: "sent", via: deps.transport.kind };
}

/** Someone else's marker: sent already, or a lease to wait out. */
async function standing(redis: RedisClient, key: string): Promise<JobEmailOutcome> {
  const [value, ttlMs] = await Promise.all([redis.get(key), redis.pttl(key)]);
  if (value?.startsWith("sent:")) return { status: "already-sent" };
  // Released (or expired) since our claim failed: come back at once.
  return { status: "in-progress", retryAfterSeconds: Math.max(1, Math.ceil(ttlMs / 1000)) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
