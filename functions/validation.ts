// Request bodies: zod schemas for their shape, then the limits and names that need config or
// context, each failure a 400 with its own code and a message naming the offending value.
import type { Context } from "hono";
import { z } from "zod";
import type { Config } from "../core/config.ts";
import { emailProblem } from "../core/email.ts";
import { IMAGES_CHOICES } from "../core/jobs.ts";
import { toSafeRelativePath } from "../core/safePath.ts";
import { ISO_3166_ALPHA3 } from "../gpu-worker/pipeline/classifier/regionCodes.ts";
import { ApiError } from "./errors.ts";
import { MAX_PAGE_FILES } from "./wire.ts";

/** Longest file name accepted before normalising (safePath caps the result at 900 bytes). */
const MAX_RAW_NAME_LENGTH = 2048;
/** A MIME type that is safe to sign into a Content-Type header. */
const MIME_TYPE = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
export const DEFAULT_CONTENT_TYPE = "application/octet-stream";
/** Most part URLs signed in one request. */
export const MAX_PARTS_PER_SIGN = 1000;
/** S3's hard limit on parts per multipart upload. */
export const S3_MAX_PARTS = 10_000;

const threshold = z.number().min(0).max(1);

const FileToUpload = z.object({
  name: z.string().min(1).max(MAX_RAW_NAME_LENGTH),
  size: z.number().int().min(0),
  type: z.string().max(255).optional(),
});

const SingleUpload = z.enum(["PUT", "POST"], { error: 'singleUpload: "PUT" (a presigned URL) or "POST" (a presigned form).' }).optional();

const FilesPage = z.array(FileToUpload).max(MAX_PAGE_FILES, { error: `files: send at most ${MAX_PAGE_FILES} files per request; add the rest with POST /api/jobs/<id>/files` });

export const CreateJobBody = z.object({
  // The page checks the same rule while typing (core/email.ts); its message is a whole sentence.
  email: z
    .string({ error: "Enter your email address." })
    .trim()
    .superRefine((value, ctx) => {
      const problem = emailProblem(value);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
  /** The first page of files, or none. */
  files: FilesPage.optional(),
  singleUpload: SingleUpload,
  options: z
    .object({
      renderThreshold: threshold.optional(),
      outputThreshold: threshold.optional(),
      sortedView: z.boolean().optional(),
      eventGapSeconds: z.number().min(1).max(86_400).optional(),
      images: z
        .enum(IMAGES_CHOICES, { error: `options.images: choose one of ${IMAGES_CHOICES.map((choice) => `"${choice}"`).join(", ")} (which photos the results zip carries).` })
        .optional(),
      country: z
        .string()
        .trim()
        .transform((code) => code.toUpperCase())
        .refine((code) => ISO_3166_ALPHA3.has(code), { error: "options.country: give an ISO 3166-1 alpha-3 country code such as KEN, USA or AUS." })
        .optional(),
      classificationThreshold: threshold.optional(),
      blurPeople: z.boolean({ error: "options.blurPeople: true or false (blur every person box in the photos and previews)." }).optional(),
      dropGps: z.boolean({ error: "options.dropGps: true or false (remove the GPS position from the photos in the results)." }).optional(),
    })
    .optional(),
  totals: z.object({ files: z.number().int().min(0), bytes: z.number().int().min(0) }).optional(),
});
export type CreateJobBody = z.infer<typeof CreateJobBody>;

export const AddFilesBody = z.object({ files: FilesPage.min(1, { error: "files: send at least one file" }), singleUpload: SingleUpload });

export const SignUploadsBody = z.object({
  names: z
    .array(z.string().min(1).max(MAX_RAW_NAME_LENGTH))
    .min(1, { error: "names: ask for at least one file" })
    .max(MAX_PAGE_FILES, { error: `names: ask for at most ${MAX_PAGE_FILES} files per request` }),
  singleUpload: SingleUpload,
});

export const DropFilesBody = z.object({
  names: z
    .array(z.string().min(1).max(MAX_RAW_NAME_LENGTH))
    .min(1, { error: "names: name at least one file" })
    .max(MAX_PAGE_FILES, { error: `names: name at most ${MAX_PAGE_FILES} files per request` }),
});

export const SignPartsBody = z.object({
  partNumbers: z.array(z.number().int().min(1).max(S3_MAX_PARTS)).min(1).max(MAX_PARTS_PER_SIGN),
});

/** Uppy hands parts as {PartNumber, ETag}; our own plan says {partNumber, etag}. Both are accepted. */
const CompletedPart = z.union([
  z.object({ PartNumber: z.number().int().min(1).max(S3_MAX_PARTS), ETag: z.string().min(1) }),
  z.object({ partNumber: z.number().int().min(1).max(S3_MAX_PARTS), etag: z.string().min(1) }).transform((part) => ({ PartNumber: part.partNumber, ETag: part.etag })),
]);
export const CompleteUploadBody = z.object({ parts: z.array(CompletedPart).min(1).max(S3_MAX_PARTS) });

export const RecordPartsBody = z.object({
  parts: z
    .array(z.object({ partNumber: z.number().int().min(1).max(S3_MAX_PARTS), etag: z.string().min(1).max(200) }))
    .min(1)
    .max(MAX_PARTS_PER_SIGN),
});

/** Which field a zod issue is about decides the error code, so clients can react per problem. */
function codeFor(path: readonly PropertyKey[]): string {
  if (path[0] === "email") return "invalid_email";
  if (path[0] === "files" && path.length === 1) return "invalid_files";
  if (path[0] === "files") return "invalid_file";
  if (path[0] === "options") return "invalid_options";
  if (path[0] === "totals") return "invalid_totals";
  if (path[0] === "names") return "invalid_names";
  return "invalid_request";
}

/**
 * True when the request says its body is JSON. Any web page can send a cross-origin POST as
 * text/plain without a CORS preflight; one marked application/json must pass the preflight first.
 */
function saysJson(c: Context): boolean {
  const mediaType = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
  return mediaType === "application/json";
}

/**
 * Reads the JSON body and validates it: 415 unless it is sent as application/json, 400 with a
 * code and a readable message when it does not fit the schema.
 */
export async function parseBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T>> {
  if (!saysJson(c)) {
    throw new ApiError(415, "unsupported_media_type", "Send the request body as JSON, with the header Content-Type: application/json.");
  }
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new ApiError(400, "invalid_json", "The request body must be JSON (Content-Type: application/json).");
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) {
    const broken = findBrokenText(parsed.data);
    if (broken) {
      throw new ApiError(
        400,
        "invalid_text",
        `${broken.path.join(".")}: ${JSON.stringify(broken.text)} holds a broken character (a lone UTF-16 surrogate, which no file system or URL can carry). Rename the file, or fix the text, and try again.`,
      );
    }
    return parsed.data;
  }
  const issue = parsed.error.issues[0]!;
  const where = issue.path.map(String).join(".");
  // Our own messages are sentences ("….") or start with their field ("files: …"); zod's own
  // ("Too small: expected number to be >=0") get the field's path in front.
  const own = issue.message.endsWith(".") || issue.message.startsWith(`${String(issue.path[0])}:`);
  const message = own ? issue.message : `${where || "body"}: ${issue.message}`;
  throw new ApiError(400, codeFor(issue.path), message);
}

/**
 * The first string in validated data that is not well-formed UTF-16 (JSON may carry "\ud800"
 * alone; S3 keys and URLs cannot). Walks only what the schema kept, so its depth is the schema's.
 */
function findBrokenText(value: unknown, path: (string | number)[] = []): { path: (string | number)[]; text: string } | undefined {
  if (typeof value === "string") return value.isWellFormed() ? undefined : { path, text: value };
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = findBrokenText(item, [...path, index]);
      if (found) return found;
    }
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const found = findBrokenText(item, [...path, key]);
      if (found) return found;
    }
  }
  return undefined;
}

export interface CheckedFile {
  /** The user's name made safe (core/safePath.ts); the key is built from it. */
  name: string;
  size: number;
  type: string;
}

/**
 * One page of files: safe names, each file's size, and no two names the same after making them
 * safe; throws a 400 ApiError naming the problem. The job's totals are checked where they are
 * counted (core/filePlan.ts).
 */
export function checkPage(files: readonly z.infer<typeof FileToUpload>[], config: Pick<Config, "MAX_FILE_BYTES">): CheckedFile[] {
  const seen = new Map<string, string>();
  const checked: CheckedFile[] = [];
  for (const file of files) {
    const safe = toSafeRelativePath(file.name);
    if (!safe.ok) throw new ApiError(400, "unsafe_name", `The file name ${JSON.stringify(file.name)} cannot be used: the path ${safe.problem}.`);
    if (file.size > config.MAX_FILE_BYTES) {
      throw new ApiError(400, "file_too_large", `"${safe.path}" is ${formatBytes(file.size)}; the largest file accepted is ${formatBytes(config.MAX_FILE_BYTES)}.`);
    }
    const earlier = seen.get(safe.path);
    if (earlier !== undefined) {
      throw new ApiError(400, "duplicate_name", `${JSON.stringify(file.name)} and ${JSON.stringify(earlier)} would both be stored as "${safe.path}"; rename one of them.`, {
        details: { names: [safe.path] },
      });
    }
    seen.set(safe.path, file.name);
    checked.push({ name: safe.path, size: file.size, type: file.type && MIME_TYPE.test(file.type) ? file.type : DEFAULT_CONTENT_TYPE });
  }
  return checked;
}

/** The 400 for a job that would hold more files than MAX_FILES. */
export function tooManyFiles(count: number, maxFiles: number): ApiError {
  return new ApiError(
    400,
    "too_many_files",
    `A job can hold at most ${maxFiles.toLocaleString("en-US")} files (MAX_FILES); this one would hold ${count.toLocaleString("en-US")}. Zip folders together, or split the upload into several jobs.`,
  );
}

/** The 400 for a job whose files would add up to more than MAX_TOTAL_BYTES. */
export function tooLarge(bytes: number, maxBytes: number): ApiError {
  return new ApiError(
    400,
    "total_too_large",
    `This job's files would add up to ${formatBytes(bytes)}; one job takes at most ${formatBytes(maxBytes)} (MAX_TOTAL_BYTES). Split them into several jobs.`,
  );
}

export function formatBytes(bytes: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
