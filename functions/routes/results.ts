// Browsing a finished job's results (DESIGN.md "Browsing results"): GET /api/jobs/<id>/summary
// and GET /api/jobs/<id>/images, both from the browse index the worker's merge stored beside the
// zip (gpu-worker/pipeline/outputs/browse.ts). Bounded whatever the job: a request reads the
// manifest and at most MAX_PAGE_READS stored pages (BROWSE_PAGE_ITEMS lines each), answers at most
// `limit` items and about MAX_ANSWER_BYTES, and says where to go on with a cursor. Both count
// against the job's read limit.
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { Hono } from "hono";
import type { Context } from "hono";
import { browseKeys, previewKey } from "../../core/keys.ts";
import { encodeCursor, parseImagesQuery, resolveCategory, type ImagesFilter, type ImagesPosition } from "../browseQuery.ts";
import { ApiError } from "../errors.ts";
import { jobLimits } from "../jobLimits.ts";
import { checkJobId, notFound } from "../jobView.ts";
import { UploadSigner } from "../presign.ts";
import type { AppDeps } from "../types.ts";
import { BLANK_CATEGORY, MAX_BODY_BYTES, type BrowseItem, type BrowseManifest, type BrowseSummary, type ImagesPage } from "../wire.ts";

/** Stored pages one request may read: a narrow filter answers fewer items, with a cursor, rather than read on. */
export const MAX_PAGE_READS = 3;
/** An answer stops growing here (well under MAX_BODY_BYTES), whatever `limit` says. */
const MAX_ANSWER_BYTES = Math.floor(MAX_BODY_BYTES * 0.8);

export function resultsRoutes(deps: AppDeps): Hono {
  const limits = jobLimits(deps);
  // Signs preview links about five times faster than getSignedUrl (presign.ts): 500 links per answer.
  const signer = new UploadSigner(deps.aws.presigner, deps.config.BUCKET, deps.config.PRESIGN_SECONDS);

  /** The stored object's text, or null when there is none. */
  async function readText(key: string): Promise<string | null> {
    try {
      const reply = await deps.aws.s3.send(new GetObjectCommand({ Bucket: deps.config.BUCKET, Key: key }));
      return await reply.Body!.transformToString();
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || (error instanceof Error && (error.name === "NoSuchKey" || error.name === "NotFound"))) return null;
      throw error;
    }
  }

  /** 404 for an unknown job or one not done yet (its index is written when it is). */
  async function checkJob(c: Context): Promise<string> {
    const id = c.req.param("id") ?? "";
    checkJobId(id);
    const job = await deps.store.get(id);
    if (job) {
      await limits.read(id);
      if (job.status === "expired") throw new ApiError(410, "job_expired", job.error ?? "This job's photos and results have been deleted.");
      if (job.status !== "done") throw new ApiError(404, "not_ready", `The results are not ready: the job is ${job.status}.`);
    }
    return id;
  }

  async function stored<T>(id: string, key: string): Promise<T> {
    const text = await readText(key);
    // No index: an unknown job, or one finished before results could be browsed.
    if (text === null) throw notFound(id);
    return JSON.parse(text) as T;
  }

  return new Hono()
    .get("/api/jobs/:id/summary", async (c) => {
      const id = await checkJob(c);
      const summary = await stored<BrowseSummary>(id, browseKeys.summary(id));
      return c.json(summary, 200, { "Cache-Control": "private, max-age=60" });
    })
    .get("/api/jobs/:id/images", async (c) => {
      const id = c.req.param("id") ?? "";
      checkJobId(id);
      const request = parseImagesQuery(id, c.req.query());
      await checkJob(c);
      const manifest = await stored<BrowseManifest>(id, browseKeys.manifest(id));
      const filter: ImagesFilter = { ...request.filter, ...(request.filter.category ? { category: resolveCategory(request.filter.category, manifest) } : {}) };
      // The cursor keeps the filters as the client wrote them, so it may repeat them (category=animal).
      const page = await readImages(id, manifest, filter, request.limit, request.at, request.filter);
      await Promise.all(
        page.images.map(async (item) => {
          if (item.preview) item.previewUrl = await signer.get(previewKey(id, item.preview));
        }),
      );
      return c.json(page, 200, { "Cache-Control": "no-store" });
    });

  /** Reads the view that narrows most, filters the rest line by line, and stops at the bounds. */
  async function readImages(id: string, manifest: BrowseManifest, filter: ImagesFilter, limit: number, from: ImagesPosition | undefined, asked: ImagesFilter): Promise<ImagesPage> {
    const blank = filter.category === BLANK_CATEGORY;
    const folderIndex = filter.folder === undefined ? -1 : manifest.folders.indexOf(filter.folder);
    const viewName = blank ? "blank" : folderIndex >= 0 ? `f${folderIndex}` : filter.folder !== undefined ? null : filter.category ? `c${filter.category}` : "all";
    const view = viewName === null ? undefined : manifest.views[viewName];
    if (!view || viewName === null) return { images: [] };
    const category = blank ? undefined : filter.category;
    const confOf = (item: BrowseItem) => (category ? Math.max(0, ...item.detections.filter((d) => d.category === category).map((d) => d.conf)) : item.maxConf);
    const matches = (item: BrowseItem) => {
      // An event's frames are read from the view the other filters choose (a folder's, when given).
      if (filter.event !== undefined && item.event !== filter.event) return false;
      if (blank) return filter.folder === undefined || item.folder === filter.folder;
      if (category && !item.detections.some((d) => d.category === category)) return false;
      const conf = confOf(item);
      return (filter.minConf === undefined || conf >= filter.minConf) && (filter.maxConf === undefined || conf <= filter.maxConf);
    };
    let at: ImagesPosition = from ?? { page: 0, line: 0 };
    // Highest confidence first: a range starts at the first page that can hold it.
    if (!from && filter.sort === "confidence" && filter.maxConf !== undefined) {
      const first = view.confBounds.findIndex(([, low]) => low <= filter.maxConf!);
      at = { page: first < 0 ? view.pages : first, line: 0 };
    }
    const images: BrowseItem[] = [];
    let bytes = 0;
    let reads = 0;
    while (at.page < view.pages && reads < MAX_PAGE_READS) {
      const text = await readText(browseKeys.page(id, viewName, filter.sort, at.page));
      reads += 1;
      if (text === null) throw new Error(`browse page ${viewName}/${filter.sort}/${at.page} of job ${id} is missing`);
      const lines = text.split("\n").filter((line) => line !== "");
      for (let line = at.line; line < lines.length; line++) {
        const item = JSON.parse(lines[line]!) as BrowseItem;
        // Sorted by confidence, highest first: past the range's low end, nothing further can match.
        if (filter.sort === "confidence" && filter.minConf !== undefined && item.maxConf < filter.minConf) return { images };
        if (!matches(item)) continue;
        images.push(item);
        bytes += lines[line]!.length + 700; // the line, and room for its preview link
        if (images.length >= limit || bytes >= MAX_ANSWER_BYTES) {
          const next = line + 1 < lines.length ? { page: at.page, line: line + 1 } : { page: at.page + 1, line: 0 };
          return next.page < view.pages ? { images, cursor: encodeCursor(id, asked, next) } : { images };
        }
      }
      at = { page: at.page + 1, line: 0 };
    }
    return at.page < view.pages ? { images, cursor: encodeCursor(id, asked, at) } : { images };
  }
}
