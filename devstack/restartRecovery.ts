// What `npm start` puts right when it starts again, before the API answers and the workers take
// jobs. The embedded emulator kept every message on disk, Redis kept every record, but:
//
// - A message that a worker of the last run held stays invisible until its deadline (up to
//   VISIBILITY_SECONDS, 5 minutes by default). That worker is gone: the emulator belongs to this
//   process and listens on loopback only, so no one else can hold a message. It is made visible
//   now, and the interrupted job starts again at once (its receive count keeps the earlier try).
// - The queue set behind queue positions must hold only jobs that a worker will take. An entry
//   whose record expired or whose job ended is dropped. A queued or processing job without a
//   message (the data folder was wiped, or the stack died between queuing and sending) either
//   gets its message again, when its uploads are still stored, or becomes `expired`, when they
//   are gone: nothing would ever run it, and its page should say so.
//
// Against LocalStack or AWS the queue cannot be read without receiving from it, so only the
// record checks run there.
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { ChangeMessageVisibilityCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import type { AwsClients } from "../core/aws.ts";
import type { Config } from "../core/config.ts";
import { jobMessageBody } from "../core/jobs.ts";
import { QUEUE_PAGE_MAX, type JobStore } from "../core/jobStore.ts";
import { inputPrefix } from "../core/keys.ts";
import { parseJobMessage } from "../gpu-worker/worker/queue.ts";
import type { Emulator } from "./emulator.ts";

export interface RecoveryOptions {
  config: Pick<Config, "BUCKET" | "QUEUE_NAME" | "DLQ_NAME">;
  clients: Pick<AwsClients, "s3" | "sqs">;
  store: JobStore;
  queueUrl: string;
  /** The embedded emulator, whose queues can be read without receiving; absent for LocalStack or AWS. */
  emulator?: Pick<Emulator, "inspectQueue">;
  log: (line: string) => void;
}

export interface RecoveryReport {
  /** Messages held by a worker of the last run, made visible. */
  handedBack: number;
  /** Queue-set entries dropped: record expired, or job already ended. */
  dropped: number;
  /** Jobs whose message was missing, sent again (their uploads are stored). */
  resent: number;
  /** Jobs whose message and uploads were both gone, now `expired`. */
  expired: number;
}

/** Why a job that was waiting or running can never finish, in the user's words. */
export const UPLOADS_GONE =
  "The photos uploaded for this job are no longer stored (on a local stack, its data folder was wiped), so it cannot run. Upload the photos again to redo it.";

export async function recoverAfterRestart(options: RecoveryOptions): Promise<RecoveryReport> {
  const { config, clients, store, queueUrl, emulator, log } = options;
  const report: RecoveryReport = { handedBack: 0, dropped: 0, resent: 0, expired: 0 };

  // Jobs that some message names: waiting, held, or in the DLQ (the workers' DLQ check fails those).
  let withMessage: Set<string> | undefined;
  if (emulator) {
    const [queue, deadLetters] = await Promise.all([emulator.inspectQueue(config.QUEUE_NAME), emulator.inspectQueue(config.DLQ_NAME)]);
    withMessage = new Set();
    for (const body of [...(queue?.waiting ?? []), ...(queue?.held ?? []).map((m) => m.body), ...(deadLetters?.waiting ?? []), ...(deadLetters?.held ?? []).map((m) => m.body)]) {
      const jobId = parseJobMessage(body)?.jobId;
      if (jobId) withMessage.add(jobId);
    }
    for (const message of queue?.held ?? []) {
      await clients.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: message.receiptHandle, VisibilityTimeout: 0 }));
      report.handedBack++;
    }
  }

  // Page through the queue set; entries removed on the way shift the next page's start back.
  for (let offset = 0; ; ) {
    const ids = await store.queuedIds(offset, QUEUE_PAGE_MAX);
    if (ids.length === 0) break;
    let removed = 0;
    for (const id of ids) {
      const job = await store.get(id);
      if (!job || (job.status !== "queued" && job.status !== "processing")) {
        await store.dequeue(id);
        report.dropped++;
        removed++;
      } else if (withMessage && !withMessage.has(id)) {
        if (await hasUploads(clients, config.BUCKET, id)) {
          await clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: jobMessageBody({ jobId: id, step: "plan" }) }));
          await store.compareAndSetMessageState(id, ["sending", "unsent", "sent"], "sent");
          report.resent++;
        } else {
          const expired = await store.transition(id, ["queued", "processing"], "expired", { error: UPLOADS_GONE });
          if (expired.ok) report.expired++;
          removed++;
        }
      }
    }
    offset += ids.length - removed;
  }

  const notes = [
    report.handedBack && `${report.handedBack} job(s) interrupted by the last stop start again`,
    report.resent && `${report.resent} queued job(s) had lost their message and were queued again`,
    report.expired && `${report.expired} job(s) expired: their uploads are gone`,
    report.dropped && `${report.dropped} stale queue entr${report.dropped === 1 ? "y" : "ies"} removed`,
  ].filter(Boolean);
  if (notes.length > 0) log(`After the restart: ${notes.join("; ")}.`);
  return report;
}

async function hasUploads(clients: Pick<AwsClients, "s3">, bucket: string, jobId: string): Promise<boolean> {
  const page = await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: inputPrefix(jobId), MaxKeys: 1 }));
  return (page.KeyCount ?? page.Contents?.length ?? 0) > 0;
}
