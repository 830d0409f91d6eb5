// AWS Lambda entry: the same app behind API Gateway / a function URL. Config and clients are built
// once per container, when the module loads, and reused across invocations.
import { handle } from "hono/aws-lambda";
import type { LambdaContext, LambdaEvent } from "hono/aws-lambda";
import type { Context } from "hono";
import { loadConfig } from "../core/config.ts";
import { createApp } from "./app.ts";
import { createDeps } from "./deps.ts";

/**
 * The caller's IP: CloudFront's viewer address when CloudFront forwards it (it overwrites any
 * value a client sends), else the address API Gateway saw (HTTP API v2, or REST v1).
 */
function sourceIp(c: Context): string | undefined {
  const viewer = c.req.header("cloudfront-viewer-address");
  if (viewer) return viewer.slice(0, viewer.lastIndexOf(":"));
  const event = (c.env as { event?: LambdaEvent } | undefined)?.event as
    | { requestContext?: { http?: { sourceIp?: string }; identity?: { sourceIp?: string } } }
    | undefined;
  return event?.requestContext?.http?.sourceIp ?? event?.requestContext?.identity?.sourceIp;
}

/** Built once per container; exported so tests can close its connections. */
export const deps = createDeps(loadConfig());
const app = createApp({ ...deps, clientIp: sourceIp });

export const handler: (event: LambdaEvent, context: LambdaContext) => Promise<unknown> = handle(app);
