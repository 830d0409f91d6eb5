// GET /healthz: liveness plus whether Redis, S3 and SQS answer. 503 when any does not, so a load
// balancer or `npm start` can tell, with each one's error for a person reading it.
import { Hono } from "hono";
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { AppDeps } from "../types.ts";

/** A check slower than this counts as failed (the endpoint must answer quickly itself). */
const CHECK_TIMEOUT_MS = 2_000;

async function check(work: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([work(), timeout]);
    return "ok";
  } catch (error) {
    return error instanceof Error ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message || "failed"}` : String(error);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(deps: AppDeps): Hono {
  const { store, aws, config } = deps;
  return new Hono().get("/healthz", async (c) => {
    const [redis, s3, sqs] = await Promise.all([
      check(() => store.ping()),
      check(() => aws.s3.send(new HeadBucketCommand({ Bucket: config.BUCKET }))),
      check(async () => aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: await aws.queueUrl(), AttributeNames: ["QueueArn"] }))),
    ]);
    const ok = redis === "ok" && s3 === "ok" && sqs === "ok";
    return c.json({ ok, redis, s3, sqs }, ok ? 200 : 503);
  });
}
