// GET /healthz: liveness plus whether Redis, S3 and SQS answer. 503 when any does not, so a load
// balancer or `npm start` can tell. Anyone may call it, so each dependency is just "ok" or
// "unreachable"; the error itself (addresses, ports, driver text) goes to the log.
import { Hono } from "hono";
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { AppDeps } from "../types.ts";

/** A check slower than this counts as failed (the endpoint must answer quickly itself). */
const CHECK_TIMEOUT_MS = 2_000;

type Reachability = "ok" | "unreachable";

async function check(name: string, work: () => Promise<unknown>, log: (message: string) => void): Promise<Reachability> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    await Promise.race([work(), timeout]);
    return "ok";
  } catch (error) {
    const detail = error instanceof Error ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message || "failed"}` : String(error);
    log(`Health check: ${name} is unreachable (${detail})`);
    return "unreachable";
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(deps: AppDeps): Hono {
  const { store, aws, config } = deps;
  const log = deps.log ?? ((message: string) => console.error(message));
  return new Hono().get("/healthz", async (c) => {
    const [redis, s3, sqs] = await Promise.all([
      check("Redis", () => store.ping(), log),
      check("S3", () => aws.s3.send(new HeadBucketCommand({ Bucket: config.BUCKET })), log),
      check("SQS", async () => aws.sqs.send(new GetQueueAttributesCommand({ QueueUrl: await aws.queueUrl(), AttributeNames: ["QueueArn"] })), log),
    ]);
    const ok = redis === "ok" && s3 === "ok" && sqs === "ok";
    return c.json({ ok, redis, s3, sqs }, ok ? 200 : 503);
  });
}
