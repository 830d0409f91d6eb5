// GET /api/jobs/<id>/images: what a request asks for (filters, order, size) and where it goes on
// (the cursor). A cursor is opaque to clients: base64url JSON of the job, the view and filters it
// was made for, and the stored page and line to read next. A cursor that does not decode, or was
// made for another job or other filters, is refused (400), never guessed at.
import { ApiError } from "./errors.ts";
import { BLANK_CATEGORY, BROWSE_PAGE_ITEMS, BROWSE_SORTS, DEFAULT_IMAGES_LIMIT, type BrowseManifest, type BrowseSort } from "./wire.ts";

export interface ImagesFilter {
  sort: BrowseSort;
  /** A category id, or BLANK_CATEGORY for the blank check. */
  category?: string;
  folder?: string;
  /** One event (burst) as the items name it, e.g. "cam1#12": its frames. */
  event?: string;
  minConf?: number;
  maxConf?: number;
}

export interface ImagesPosition {
  page: number;
  line: number;
}

interface CursorBody {
  v: 1;
  j: string;
  f: ImagesFilter;
  p: number;
  l: number;
}

export function encodeCursor(jobId: string, filter: ImagesFilter, at: ImagesPosition): string {
  const body: CursorBody = { v: 1, j: jobId, f: filter, p: at.page, l: at.line };
  return Buffer.from(JSON.stringify(body)).toString("base64url");
}

function badRequest(code: string, message: string): ApiError {
  return new ApiError(400, code, message);
}

/** Filters as a request's query gives them (category still as the client wrote it). */
function filterOf(query: Record<string, string | undefined>): ImagesFilter {
  const sort = query.sort ?? "time";
  if (!(BROWSE_SORTS as readonly string[]).includes(sort)) throw badRequest("bad_sort", `sort must be one of ${BROWSE_SORTS.join(", ")}.`);
  const conf = (name: "minConf" | "maxConf") => {
    const text = query[name];
    if (text === undefined || text === "") return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0 || value > 1) throw badRequest("bad_confidence", `${name} must be a number from 0 to 1.`);
    return value;
  };
  const minConf = conf("minConf");
  const maxConf = conf("maxConf");
  return {
    sort: sort as BrowseSort,
    ...(query.category ? { category: query.category } : {}),
    ...(query.folder ? { folder: query.folder } : {}),
    ...(query.event ? { event: query.event } : {}),
    ...(minConf !== undefined ? { minConf } : {}),
    ...(maxConf !== undefined ? { maxConf } : {}),
  };
}

/** MD's id ("1") or its name ("animal"), or the blank check's word; an unknown one is a 400. */
export function resolveCategory(category: string, manifest: Pick<BrowseManifest, "categories">): string {
  if (category === BLANK_CATEGORY || category === "blank") return BLANK_CATEGORY;
  if (category in manifest.categories) return category;
  const byName = Object.entries(manifest.categories).find(([, name]) => name.toLowerCase() === category.toLowerCase());
  if (byName) return byName[0];
  throw badRequest("bad_category", `There is no category ${JSON.stringify(category)}: use ${[...Object.entries(manifest.categories).map(([id, name]) => `${id} (${name})`), BLANK_CATEGORY].join(", ")}.`);
}

const FILTER_KEYS = ["sort", "category", "folder", "event", "minConf", "maxConf"] as const;

export interface ImagesRequest {
  filter: ImagesFilter;
  limit: number;
  /** Where to start: the cursor's place, or the start of the view. */
  at?: ImagesPosition;
}

/** Reads the query; with a cursor, the filters are the cursor's (the same ones may be repeated, others are a 400). */
export function parseImagesQuery(jobId: string, query: Record<string, string | undefined>): ImagesRequest {
  const limitText = query.limit;
  const limit = limitText === undefined || limitText === "" ? DEFAULT_IMAGES_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > BROWSE_PAGE_ITEMS) throw badRequest("bad_limit", `limit must be a whole number from 1 to ${BROWSE_PAGE_ITEMS}.`);
  const asked = filterOf(query);
  if (!query.cursor) return { filter: asked, limit };
  const cursor = decodeCursor(query.cursor);
  if (cursor.j !== jobId) throw badRequest("bad_cursor", "This cursor belongs to another job.");
  const given = FILTER_KEYS.filter((key) => query[key] !== undefined && query[key] !== "");
  for (const key of given) {
    if (String(asked[key]) !== String(cursor.f[key])) throw badRequest("bad_cursor", `This cursor was made for other filters (${key}); start again without it.`);
  }
  return { filter: cursor.f, limit, at: { page: cursor.p, line: cursor.l } };
}

function decodeCursor(text: string): CursorBody {
  const refuse = () => badRequest("bad_cursor", "The cursor is not one this server gave; start again without it.");
  if (text.length > 2_000 || !/^[A-Za-z0-9_-]+$/.test(text)) throw refuse();
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    throw refuse();
  }
  const c = body as Partial<CursorBody> | null;
  const f = c?.f as Partial<ImagesFilter> | undefined;
  const ok =
    c?.v === 1 &&
    typeof c.j === "string" &&
    Number.isInteger(c.p) && c.p! >= 0 &&
    Number.isInteger(c.l) && c.l! >= 0 && c.l! < BROWSE_PAGE_ITEMS &&
    typeof f === "object" && f !== null &&
    (BROWSE_SORTS as readonly string[]).includes(f.sort as string) &&
    (f.category === undefined || typeof f.category === "string") &&
    (f.folder === undefined || typeof f.folder === "string") &&
    (f.event === undefined || typeof f.event === "string") &&
    (f.minConf === undefined || (typeof f.minConf === "number" && f.minConf >= 0 && f.minConf <= 1)) &&
    (f.maxConf === undefined || (typeof f.maxConf === "number" && f.maxConf >= 0 && f.maxConf <= 1));
  if (!ok) throw refuse();
  return c as CursorBody;
}
