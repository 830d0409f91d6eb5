// Browsers upload straight to storage with presigned URLs and forms, from the page's origin to
// storage's: that needs CORS, which fauxqs does not answer. These hooks on the emulator's own
// server play the part of the bucket's CORS rule (the rule provision.ts puts on a real bucket),
// so every request reaches the emulator directly: a proxy in front of it cost each small
// upload one more HTTP hop on the same two cores (npm run bench:upload).
import type { buildApp } from "fauxqs";
import { BUCKET_CORS_RULE } from "./provision.ts";

type EmulatorApp = ReturnType<typeof buildApp>;

/** Answers CORS preflights and marks every answer as the bucket's CORS rule allows. */
export function playBucketCors(app: EmulatorApp): void {
  const rule = BUCKET_CORS_RULE;
  const exposed = rule.ExposeHeaders!.join(", ");
  app.addHook("onRequest", async (request, reply) => {
    if (request.method !== "OPTIONS") return;
    await reply
      .code(200)
      .headers({
        "access-control-allow-origin": request.headers.origin ?? "*",
        "access-control-allow-methods": rule.AllowedMethods!.join(", "),
        "access-control-allow-headers": request.headers["access-control-request-headers"] ?? "*",
        "access-control-max-age": String(rule.MaxAgeSeconds),
        "access-control-expose-headers": exposed,
        vary: "Origin",
      })
      .send();
  });
  app.addHook("onSend", async (request, reply, payload) => {
    reply.header("access-control-allow-origin", request.headers.origin ?? "*");
    reply.header("access-control-expose-headers", exposed);
    reply.header("vary", "Origin");
    return payload;
  });
}
