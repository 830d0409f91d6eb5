// AWS Lambda entry: the same app behind API Gateway / a function URL. Config and clients are built
// once per container, when the module loads, and reused across invocations.
import { handle } from "hono/aws-lambda";
import type { LambdaContext, LambdaEvent } from "hono/aws-lambda";
import type { Context } from "hono";
import { loadConfig } from "../core/config.ts";
import { createApp } from "./app.ts";
import { createDeps } from "./deps.ts";

/**
 * The caller's IP as Lambda saw the connection (function URL or HTTP API v2; REST v1). The page
 * calls the function URL directly, so headers such as cloudfront-viewer-address or
 * X-Forwarded-For are whatever the client chose to send: trusting them would let anyone lift the
 * per-IP rate limit by rotating one. (Behind CloudFront, trust its header only alongside a secret
 * origin header that CloudFront adds and clients cannot know.)
 */
function sourceIp(c: Context): string | undefined {
  const event = (c.env as { event?: LambdaEvent } | undefined)?.event as
    | { requestContext?: { http?: { sourceIp?: string }; identity?: { sourceIp?: string } } }
    | undefined;
  return event?.requestContext?.http?.sourceIp ?? event?.requestContext?.identity?.sourceIp;
}

/** Built once per container; exported so tests can close its connections. */
export const deps = createDeps(loadConfig());
const app = createApp({ ...deps, clientIp: sourceIp });

export const handler: (event: LambdaEvent, context: LambdaContext) => Promise<unknown> = handle(app);
