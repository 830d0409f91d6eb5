// The job queue as the worker sees it: long-poll one message, keep it invisible while the job
// runs, delete it when the job is done, give it back when the worker cannot finish it.
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { JOB_ID_PATTERN, jobMessageBody, MAX_SHARDS, type JobMessage } from "../../core/jobs.ts";

/** SQS's longest long poll: fewest empty receives, and a message starts at most this late. */
export const LONG_POLL_SECONDS = 20;

/** SQS's most messages per SendMessageBatch. */
const SEND_BATCH = 10;

/** SQS's upper bound on a message's visibility timeout (12 hours). */
export const MAX_VISIBILITY_SECONDS = 43_200;

export interface ReceivedMessage {
  receiptHandle: string;
  messageId: string;
  body: string;
  /** The job the message is about; undefined when the body is not a job message. */
  job: JobMessage | undefined;
  /** How many times SQS has handed this message out, this time included. */
  receiveCount: number;
}

export class JobQueue {
  readonly sqs: SQSClient;
  readonly queueUrl: string;

  constructor(sqs: SQSClient, queueUrl: string) {
    this.sqs = sqs;
    this.queueUrl = queueUrl;
  }

  /**
   * One message, or undefined when none came within `waitSeconds`. The message stays invisible
   * to other workers for `visibilitySeconds`, unless extended or given back.
   */
  async receive(options: { visibilitySeconds: number; waitSeconds?: number; signal?: AbortSignal }): Promise<ReceivedMessage | undefined> {
    const reply = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: 1,
        WaitTimeSeconds: options.waitSeconds ?? LONG_POLL_SECONDS,
        VisibilityTimeout: options.visibilitySeconds,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
      options.signal ? { abortSignal: options.signal } : {},
    );
    const message = reply.Messages?.[0];
    if (!message?.ReceiptHandle) return undefined;
    const body = message.Body ?? "";
    return {
      receiptHandle: message.ReceiptHandle,
      messageId: message.MessageId ?? "",
      body,
      job: parseJobMessage(body),
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
    };
  }

  async setVisibility(receiptHandle: string, seconds: number): Promise<void> {
    await this.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.min(Math.max(0, Math.round(seconds)), MAX_VISIBILITY_SECONDS),
      }),
    );
  }

  /** Makes the message visible again now (or after `delaySeconds`), so another worker takes it. */
  async giveBack(receiptHandle: string, delaySeconds = 0): Promise<void> {
    await this.setVisibility(receiptHandle, delaySeconds);
  }

  /** Sends job messages, ten to a request (SQS's batch limit); throws unless every one was taken. */
  async sendAll(messages: readonly JobMessage[]): Promise<void> {
    for (let from = 0; from < messages.length; from += SEND_BATCH) {
      const batch = messages.slice(from, from + SEND_BATCH);
      const reply = await this.sqs.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: batch.map((message, i) => ({ Id: String(i), MessageBody: jobMessageBody(message) })) }),
      );
      if (reply.Failed?.length) throw new Error(`the queue refused ${reply.Failed.length} message(s): ${reply.Failed[0]!.Message ?? reply.Failed[0]!.Code}`);
    }
  }

  async delete(receiptHandle: string): Promise<void> {
    await this.sqs.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle }));
  }

  /**
   * Keeps the message invisible while a job runs: every third of `visibilitySeconds` it is
   * pushed out to `visibilitySeconds` from now, so one missed beat never exposes it.
   */
  heartbeat(receiptHandle: string, visibilitySeconds: number, onError: (error: unknown) => void): Heartbeat {
    let inFlight: Promise<void> = Promise.resolve();
    const timer = setInterval(
      () => {
        inFlight = this.setVisibility(receiptHandle, visibilitySeconds).catch(onError);
      },
      (visibilitySeconds * 1000) / 3,
    );
    return {
      async stop() {
        clearInterval(timer);
        await inFlight;
      },
    };
  }
}

export interface Heartbeat {
  /** Stops beating and waits for a beat in flight, so it cannot undo a later give-back. */
  stop(): Promise<void>;
}

/** A job message (core/jobs.ts JobMessage) with a well-formed id, else undefined (a poison message). */
export function parseJobMessage(body: string): JobMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { jobId, shard, merge } = parsed as Record<string, unknown>;
  if (typeof jobId !== "string" || !JOB_ID_PATTERN.test(jobId)) return undefined;
  if (shard !== undefined) {
    const { index, count } = (shard ?? {}) as Record<string, unknown>;
    const whole = (value: unknown): value is number => Number.isInteger(value);
    if (!whole(count) || count < 1 || count > MAX_SHARDS || !whole(index) || index < 0 || index >= count || merge !== undefined) return undefined;
    return { jobId, step: "shard", shard: { index, count } };
  }
  if (merge !== undefined) return merge === true ? { jobId, step: "merge" } : undefined;
  return { jobId, step: "plan" };
}

/** What a job message says, for log lines. */
export function describeMessage(message: JobMessage): string {
  if (message.step === "shard") return `job ${message.jobId} shard ${message.shard.index + 1} of ${message.shard.count}`;
  if (message.step === "merge") return `job ${message.jobId} merge`;
  return `job ${message.jobId}`;
}
