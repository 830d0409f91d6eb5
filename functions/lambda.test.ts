import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startLocalAws } from "../test/helpers/localAws.ts";
import type { LocalAws } from "../test/helpers/localAws.ts";

let aws: LocalAws;
before(async () => {
  aws = await startLocalAws();
});
after(async () => aws.stop());

test("the Lambda handler answers an API Gateway HTTP API event with the same app", async () => {
  // lambda.ts reads its config from the environment when it loads, as it would in a container.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: aws.endpoint,
    QUEUE_URL: aws.queueUrl,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
  });
  const { handler, deps } = await import("./lambda.ts");
  after(() => deps.store.redis.disconnect());
  const event = {
    version: "2.0",
    routeKey: "$default",
    rawPath: "/healthz",
    rawQueryString: "",
    headers: { host: "api.example.org" },
    requestContext: { http: { method: "GET", path: "/healthz", protocol: "HTTP/1.1", sourceIp: "198.51.100.4", userAgent: "test" }, requestId: "r", stage: "$default" },
    isBase64Encoded: false,
  };
  const result = (await handler(event as never, {} as never)) as { statusCode: number; body: string };
  assert.equal(result.statusCode, 200, result.body);
  assert.deepEqual(JSON.parse(result.body), { ok: true, redis: "ok", s3: "ok", sqs: "ok" });

  const missing = (await handler({ ...event, rawPath: "/api/jobs/AAAAAAAAAAAAAAAAAAAAAA", requestContext: { ...event.requestContext, http: { ...event.requestContext.http, path: "/api/jobs/AAAAAAAAAAAAAAAAAAAAAA" } } } as never, {} as never)) as {
    statusCode: number;
    body: string;
  };
  assert.equal(missing.statusCode, 404);
  assert.equal((JSON.parse(missing.body) as { error: { code: string } }).error.code, "not_found");
});
