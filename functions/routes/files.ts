// A job's file list, a page at a time (DESIGN.md "Jobs of any size"):
//
//   POST /api/jobs/<id>/files  {files:[≤1,000]}      → {uploads, expiresAt, unsigned?}  while uploading (else 409)
//   GET  /api/jobs/<id>/files[?missing=1][&cursor=]  → {files:[{name,size}], cursor?}    planned files, or those storage lacks
//   POST /api/jobs/<id>/files/drop {names:[≤1,000]}  → {dropped, fileCount, totalBytes, notInJob}  while uploading (else 409)
import { Hono } from "hono";
import { addPage, dropFiles, listPage } from "../filePages.ts";
import { safeRelativePath } from "../../core/safePath.ts";
import { idleUploads } from "../idleUploads.ts";
import { checkJobId, notFound } from "../jobView.ts";
import { expiry } from "../presign.ts";
import type { AppDeps } from "../types.ts";
import { planner } from "../uploadPlans.ts";
import { AddFilesBody, checkPage, DropFilesBody, parseBody } from "../validation.ts";
import type { UploadPlans } from "../wire.ts";

export function fileRoutes(deps: AppDeps): Hono {
  const { config, store } = deps;
  const idle = idleUploads(deps);
  const plans = planner(deps);

  return new Hono()
    .post("/api/jobs/:id/files", async (c) => {
      const id = c.req.param("id");
      checkJobId(id);
      const { files, singleUpload } = await parseBody(c, AddFilesBody);
      const checked = checkPage(files, config);
      await idle.uploadingJob(id);
      const planned = await addPage(deps, plans, id, checked);
      const answer: UploadPlans = { expiresAt: expiry(config.PRESIGN_SECONDS), ...(await plans.plansFor(id, planned, { singleUpload })) };
      return c.json(answer, 200);
    })
    .post("/api/jobs/:id/files/drop", async (c) => {
      const id = c.req.param("id");
      checkJobId(id);
      const { names } = await parseBody(c, DropFilesBody);
      await idle.uploadingJob(id);
      // Names as the plans gave them are safe already; one sent as the user typed it is made safe the same way.
      return c.json(await dropFiles(deps, plans, id, names.map((name) => safeRelativePath(name) ?? name)), 200);
    })
    .get("/api/jobs/:id/files", async (c) => {
      const id = c.req.param("id");
      checkJobId(id);
      const job = await store.get(id);
      if (!job) throw notFound(id);
      const missing = c.req.query("missing") === "1";
      const cursor = c.req.query("cursor");
      const page = await listPage(deps, plans, id, { missing, uploading: job.status === "uploading", ...(cursor ? { cursor } : {}) });
      return c.json(page, 200, { "Cache-Control": "no-store" });
    });
}
