// The Trapline API as one Hono app. It knows nothing about where it runs: node.ts serves it
// locally, lambda.ts hands it to Lambda, tests call it over real HTTP.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { serveStatic } from "@hono/node-server/serve-static";
import { ApiError, errorBody, handleError } from "./errors.ts";
import { createJobRoutes } from "./routes/createJob.ts";
import { fileRoutes } from "./routes/files.ts";
import { healthRoutes } from "./routes/health.ts";
import { resultsRoutes } from "./routes/results.ts";
import { statusRoutes } from "./routes/status.ts";
import { submitRoutes } from "./routes/submit.ts";
import { uploadRoutes } from "./routes/uploads.ts";
import type { AppDeps } from "./types.ts";
import { MAX_BODY_BYTES, MAX_PAGE_FILES } from "./wire.ts";

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
        throw new ApiError(
          413,
          "body_too_large",
          `The request is larger than ${MAX_BODY_BYTES / 1_000_000} MB. Send files in pages of at most ${MAX_PAGE_FILES} (POST /api/jobs/<id>/files), fewer when their names are long.`,
        );
      },
    }),
  );

  app.route("/", healthRoutes(deps));
  app.route("/", createJobRoutes(deps));
  app.route("/", fileRoutes(deps));
  app.route("/", uploadRoutes(deps));
  app.route("/", submitRoutes(deps));
  app.route("/", statusRoutes(deps));
  app.route("/", resultsRoutes(deps));

  if (deps.staticDir) {
    app.use("/*", serveStatic({ root: deps.staticDir }));
  }

  app.notFound((c) => c.json(errorBody("not_found", `Nothing at ${c.req.method} ${c.req.path}.`), 404));
  app.onError((error, c) => handleError(error, c, log));
  return app;
}
