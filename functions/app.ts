// The Trapline API as one Hono app. It knows nothing about where it runs: node.ts serves it
// locally, lambda.ts hands it to Lambda, tests call it over real HTTP.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { serveStatic } from "@hono/node-server/serve-static";
import { ApiError, errorBody, handleError } from "./errors.ts";
import { createJobRoutes } from "./routes/createJob.ts";
import { healthRoutes } from "./routes/health.ts";
import { statusRoutes } from "./routes/status.ts";
import { submitRoutes } from "./routes/submit.ts";
import { uploadRoutes } from "./routes/uploads.ts";
import type { AppDeps } from "./types.ts";

/** Largest JSON body: a 20,000-file job list with long names fits; Lambda stops at 6 MB anyway. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export function createApp(deps: AppDeps): Hono {
  const log = deps.log ?? ((message: string) => console.error(message));
  const origins = deps.config.CORS_ORIGIN.split(",").map((origin) => origin.trim());
  const app = new Hono();

  app.use(
    "/api/*",
    cors({
      origin: origins.includes("*") ? "*" : origins,
      allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
      allowHeaders: ["Content-Type"],
      exposeHeaders: ["Retry-After"],
      maxAge: 600,
    }),
  );
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError(413, "body_too_large", `The request is larger than ${MAX_BODY_BYTES / 1024 / 1024} MiB. Split the upload into several jobs.`);
      },
    }),
  );

  app.route("/", healthRoutes(deps));
  app.route("/", createJobRoutes(deps));
  app.route("/", uploadRoutes(deps));
  app.route("/", submitRoutes(deps));
  app.route("/", statusRoutes(deps));

  if (deps.staticDir) {
    app.use("/*", serveStatic({ root: deps.staticDir }));
  }

  app.notFound((c) => c.json(errorBody("not_found", `Nothing at ${c.req.method} ${c.req.path}.`), 404));
  app.onError((error, c) => handleError(error, c, log));
  return app;
}
