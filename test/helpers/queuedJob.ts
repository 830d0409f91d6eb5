// A job as submit leaves it, made directly for worker tests: its files in S3, its file plan in
// Redis, the record queued, and (unless told not to) its message on the queue.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { FilePlan } from "../../core/filePlan.ts";
import { jobMessageBody, type JobRecord, type PlannedFile } from "../../core/jobs.ts";
import type { JobStore } from "../../core/jobStore.ts";
import { inputKey } from "../../core/keys.ts";
import type { LocalAws } from "./localAws.ts";

export async function queuedJob(
  aws: LocalAws,
  store: JobStore,
  files: Record<string, Buffer>,
  options: { jobOptions?: JobRecord["options"]; send?: boolean } = {},
): Promise<string> {
  const id = randomBytes(16).toString("base64url");
  const planned: PlannedFile[] = [];
  for (const [name, bytes] of Object.entries(files)) {
    const key = inputKey(id, name);
    await aws.clients.s3.send(new PutObjectCommand({ Bucket: aws.config.BUCKET, Key: key, Body: bytes }));
    planned.push({ name, key, size: bytes.length, method: "PUT" });
  }
  const now = new Date().toISOString();
  await store.create({
    id,
    email: "ranger@example.org",
    status: "uploading",
    createdAt: now,
    updatedAt: now,
    // FilePlan.add counts the files and bytes into the record.
    fileCount: 0,
    totalBytes: 0,
    options: options.jobOptions ?? {},
    progress: { processed: 0, total: planned.length },
    attempts: 0,
  });
  const added = await new FilePlan(store.redis, { retentionDays: 7 }).add(id, planned.map((file) => ({ ...file, type: "image/jpeg", method: "PUT" as const })), { maxFiles: 1000, maxTotalBytes: 1e12 });
  assert.ok(added.ok);
  assert.equal((await store.transition(id, ["uploading"], "queued")).ok, true);
  if (options.send ?? true) await sendJobMessage(aws, id);
  return id;
}

/** The message submit sends for a job (its plan step). */
export async function sendJobMessage(aws: LocalAws, jobId: string, queueUrl = aws.queueUrl): Promise<void> {
  await aws.clients.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: jobMessageBody({ jobId, step: "plan" }) }));
}
