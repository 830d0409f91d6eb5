// GET /api/jobs/<id>: where the job stands. GET /api/jobs/<id>/download: 302 to a fresh
// presigned GET of the result (404 until the job is done, 410 once its result is gone). Both
// count against the job's read limit.
import { Hono } from "hono";
import type { Context } from "hono";
import { ApiError } from "../errors.ts";
import { jobLimits } from "../jobLimits.ts";
import { checkJobId, notFound, resultOnlyView, viewOf } from "../jobView.ts";
import type { JobView, ViewOptions } from "../jobView.ts";
import type { AppDeps } from "../types.ts";

export function statusRoutes(deps: AppDeps): Hono {
  const limits = jobLimits(deps);

  /** The job as stored (counted against its read limit), or, when Redis has forgotten it, its result in S3. */
  async function readJob(c: Context, options: ViewOptions = {}): Promise<JobView> {
    const id = c.req.param("id") ?? "";
    checkJobId(id);
    const job = await deps.store.get(id);
    if (!job) {
      const stored = await resultOnlyView(deps, id);
      if (!stored) throw notFound(id);
      return stored;
    }
    await limits.read(id);
    return viewOf(deps, job, options);
  }

  return new Hono()
    .get("/api/jobs/:id", async (c) => {
      const view = await readJob(c);
      // Progress changes by the second: never cache.
      return c.json(view, 200, { "Cache-Control": "no-store" });
    })
    .get("/api/jobs/:id/download", async (c) => {
      // Storage is asked every time: a redirect to a missing object shows the browser raw S3 XML.
      const view = await readJob(c, { verifyResult: true });
      if (view.status === "expired") throw new ApiError(410, "job_expired", view.error ?? "This job's photos and results have been deleted. Upload the photos again to redo it.");
      if (!view.downloadUrl) {
        throw new ApiError(404, "not_ready", `The results are not ready: the job is ${view.status}.${view.status === "failed" && view.error ? ` ${view.error}` : ""}`);
      }
      c.header("Cache-Control", "no-store");
      return c.redirect(view.downloadUrl, 302);
    });
}
