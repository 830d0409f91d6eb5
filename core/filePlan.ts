// A job's planned files in Redis, kept so that nothing hot reads all of them: one hash per job,
// name → compact record (HMGET for the files a request names, HSCAN pages for listings), with
// the job's fileCount and totalBytes counted in its record by the same Lua step that checks the
// limits. It only keeps state; the API and the worker decide what to do with it.
//
// Keys (all carry the job's {hash tag}, so every script runs on cluster-mode Redis):
//   redisKeys.files(id)          hash  name → "size\ttype\tmethod\tuploadId\tetag"
//                                      method P (one PUT) or M (multipart); uploadId: the open
//                                      multipart upload ("" when none: never created, completed
//                                      or aborted); etag: the object last seen in storage at the
//                                      planned size ("" until seen; "!<size>" when it was seen
//                                      at another size)
//   redisKeys.uploads(id)        hash  uploadId → name, for the multipart routes that take an id
//   redisKeys.parts(id, upload)  hash  part number → ETag, as the client reported them
// None of the fields can hold a tab: sizes are digits, types pass validation's MIME pattern,
// S3 upload ids and ETags are URL-safe. They expire with the job's record.
import type { PlannedFile } from "./jobs.ts";
import type { RedisClient } from "./jobStore.ts";
import { inputKey, redisKeys } from "./keys.ts";
import { storeCall } from "./storeCall.ts";

/** A file to add to the plan (name already safe, type already checked). */
export interface NewPlannedFile {
  name: string;
  size: number;
  type: string;
  method: "PUT" | "multipart";
}

export type AddFilesResult =
  | { ok: true; fileCount: number; totalBytes: number }
  | { ok: false; problem: "no_job" }
  | { ok: false; problem: "not_uploading"; status: string }
  /** Names the plan holds already (all of them that this page repeats). */
  | { ok: false; problem: "duplicate"; names: string[] }
  /** The count or total the job would reach with this page. */
  | { ok: false; problem: "too_many_files"; count: number }
  | { ok: false; problem: "too_large"; bytes: number };

/** One object found in storage, named by its plan name (its key without the job's input prefix). */
export interface StoredObject {
  name: string;
  size: number;
  etag: string;
}

export interface StoredCheck {
  /** Objects that match a planned file at its planned size (their ETags are now recorded). */
  matched: number;
  /** Objects the plan does not hold. */
  extra: string[];
  wrongSize: { name: string; expected: number; actual: number }[];
}

/** Where an HSCAN page starts: Redis's cursor, and how many entries of that batch were handed out already. */
export interface ScanPosition {
  scan: string;
  skip: number;
}

/** Entries per HSCAN call: a batch is at most a few hundred entries of at most 900-byte names. */
const SCAN_COUNT = 200;

// Lua: add a page of files. KEYS[1] job hash, KEYS[2] files hash; ARGV[1] maxFiles,
// ARGV[2] maxTotalBytes, ARGV[3] now (ms), ARGV[4] now (ISO), then name/record pairs. Checks,
// in order: the job exists and is uploading, no name is planned already, the limits hold with
// the page; only then writes. Returns {"ok", count, bytes} or {problem, ...}.
const ADD_FILES_SCRIPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'no_job'} end
if status ~= 'uploading' then return {'not_uploading', status} end
local duplicates = {}
local added, bytes = 0, 0
for i = 5, #ARGV, 2 do
  if redis.call('HEXISTS', KEYS[2], ARGV[i]) == 1 then table.insert(duplicates, ARGV[i]) end
  added = added + 1
  bytes = bytes + tonumber(string.match(ARGV[i + 1], '^(%d+)'))
end
if #duplicates > 0 then
  table.insert(duplicates, 1, 'duplicate')
  return duplicates
end
local count = tonumber(redis.call('HGET', KEYS[1], 'fileCount') or '0') + added
local total = tonumber(redis.call('HGET', KEYS[1], 'totalBytes') or '0') + bytes
if count > tonumber(ARGV[1]) then return {'too_many_files', string.format('%.0f', count)} end
if total > tonumber(ARGV[2]) then return {'too_large', string.format('%.0f', total)} end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('HINCRBY', KEYS[1], 'fileCount', added)
redis.call('HINCRBY', KEYS[1], 'totalBytes', bytes)
redis.call('HSET', KEYS[1], 'activeAtMs', ARGV[3], 'updatedAt', ARGV[4])
if added > 0 and redis.call('PTTL', KEYS[2]) == -1 then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return {'ok', string.format('%.0f', count), string.format('%.0f', total)}
`;

// Lua: compare objects found in storage with the plan. KEYS[1] files hash, KEYS[2] job hash; ARGV
// name/size/etag triples. A match records its ETag; a wrong size records "!<size found>" in its
// place (storage does not hold the planned file). Only while the job uploads: the ETags submit
// recorded are what the worker reads, and must not move after. Returns {matched, kind, name,
// expected, actual, ...} for each object that did not match, or {-1} when the job is not uploading.
const MARK_STORED_SCRIPT = `
if redis.call('HGET', KEYS[2], 'status') ~= 'uploading' then return {-1} end
local matched = 0
local out = {0}
for i = 1, #ARGV, 3 do
  local record = redis.call('HGET', KEYS[1], ARGV[i])
  if not record then
    table.insert(out, 'extra'); table.insert(out, ARGV[i]); table.insert(out, ''); table.insert(out, ARGV[i + 1])
  else
    local head, size = string.match(record, '^((%d+)\\t.*\\t)[^\\t]*$')
    if size ~= ARGV[i + 1] then
      table.insert(out, 'wrongSize'); table.insert(out, ARGV[i]); table.insert(out, size); table.insert(out, ARGV[i + 1])
      if head .. '!' .. ARGV[i + 1] ~= record then redis.call('HSET', KEYS[1], ARGV[i], head .. '!' .. ARGV[i + 1]) end
    else
      matched = matched + 1
      if head .. ARGV[i + 2] ~= record then redis.call('HSET', KEYS[1], ARGV[i], head .. ARGV[i + 2]) end
    end
  end
end
out[1] = matched
return out
`;

// Lua: open a multipart upload for a file that has none. KEYS[1] files hash, KEYS[2] uploads
// index; ARGV name, upload id. Returns 1 when set, 0 when the file is gone or has one already.
const OPEN_UPLOAD_SCRIPT = `
local record = redis.call('HGET', KEYS[1], ARGV[1])
if not record then return 0 end
local size, kind, method, upload, etag = string.match(record, '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$')
if upload ~= '' then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], size .. '\t' .. kind .. '\t' .. method .. '\t' .. ARGV[2] .. '\t' .. etag)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
if redis.call('PTTL', KEYS[2]) == -1 then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
end
return 1
`;

// Lua: a multipart upload ends (completed or aborted). KEYS[1] files hash, KEYS[2] uploads
// index, KEYS[3] its parts record; ARGV upload id, ETag of the object ("" when aborted). The
// file (found through the index) no longer has it open; a completed one records its ETag.
// Returns 1 when the file had it open, else 0 (the index entry and parts go anyway).
const CLOSE_UPLOAD_SCRIPT = `
local name = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
if not name then return 0 end
local record = redis.call('HGET', KEYS[1], name)
if not record then return 0 end
local size, kind, method, upload, etag = string.match(record, '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$')
if upload ~= ARGV[1] then return 0 end
if ARGV[2] ~= '' then etag = ARGV[2] end
redis.call('HSET', KEYS[1], name, size .. '\t' .. kind .. '\t' .. method .. '\t\t' .. etag)
return 1
`;

// Lua: leave files out of a job still uploading. KEYS[1] job hash, KEYS[2] files hash, KEYS[3]
// uploads index; ARGV[1] now (ms), ARGV[2] now (ISO), then names. Each planned name is removed
// and uncounted, its open multipart upload (if any) leaves the index. Returns {"ok", count,
// bytes, n, uploadId × n, name not planned...} or {problem, ...}.
const DROP_FILES_SCRIPT = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'no_job'} end
if status ~= 'uploading' then return {'not_uploading', status} end
local dropped, bytes = 0, 0
local uploads, unknown = {}, {}
for i = 3, #ARGV do
  local record = redis.call('HGET', KEYS[2], ARGV[i])
  if record then
    local size, kind, method, upload = string.match(record, '^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t')
    redis.call('HDEL', KEYS[2], ARGV[i])
    dropped = dropped + 1
    bytes = bytes + tonumber(size)
    if upload ~= '' then
      redis.call('HDEL', KEYS[3], upload)
      table.insert(uploads, upload)
    end
  else
    table.insert(unknown, ARGV[i])
  end
end
local count = redis.call('HINCRBY', KEYS[1], 'fileCount', 0 - dropped)
local total = redis.call('HINCRBY', KEYS[1], 'totalBytes', string.format('%.0f', 0 - bytes))
redis.call('HSET', KEYS[1], 'activeAtMs', ARGV[1], 'updatedAt', ARGV[2])
local out = {'ok', string.format('%.0f', count), string.format('%.0f', total), #uploads}
for _, upload in ipairs(uploads) do table.insert(out, upload) end
for _, name in ipairs(unknown) do table.insert(out, name) end
return out
`;

export type DropFilesResult =
  /** `dropped`: the files as they were planned (a multipart one with the upload it had open). */
  | { ok: true; fileCount: number; totalBytes: number; dropped: PlannedFile[]; notPlanned: string[] }
  | { ok: false; problem: "no_job" }
  | { ok: false; problem: "not_uploading"; status: string };

/** The job has left uploading (submitted, expired): its plan's record of storage is final. */
export class NotUploadingError extends Error {
  override name = "NotUploadingError";
}

export function encodePlanned(file: { size: number; type: string; method: "PUT" | "multipart"; uploadId?: string; etag?: string }): string {
  for (const value of [file.type, file.uploadId, file.etag]) {
    if (value?.includes("\t")) throw new Error(`A planned file's record cannot hold a tab: ${JSON.stringify(value)}`);
  }
  return `${file.size}\t${file.type}\t${file.method === "multipart" ? "M" : "P"}\t${file.uploadId ?? ""}\t${file.etag ?? ""}`;
}

export function decodePlanned(jobId: string, name: string, record: string): PlannedFile {
  const [size = "0", type = "", method = "P", uploadId = "", etag = ""] = record.split("\t");
  return {
    name,
    key: inputKey(jobId, name),
    size: Number(size),
    type,
    method: method === "M" ? "multipart" : "PUT",
    ...(uploadId ? { uploadId } : {}),
    ...(etag.startsWith("!") ? { storedSize: Number(etag.slice(1)) } : etag ? { etag } : {}),
  };
}

export class FilePlan {
  readonly redis: RedisClient;
  readonly #ttlSeconds: number;

  /** `retentionDays`: keys this class creates on their own (parts records) expire after it. */
  constructor(redis: RedisClient, options: { retentionDays: number }) {
    this.redis = redis;
    this.#ttlSeconds = options.retentionDays * 24 * 3600;
  }

  /**
   * Adds a page of files to a job that is still uploading, counting them in its record and
   * checking the limits with them, all in one atomic step (nothing is written when refused).
   */
  async add(jobId: string, files: readonly NewPlannedFile[], limits: { maxFiles: number; maxTotalBytes: number }, now = new Date()): Promise<AddFilesResult> {
    const pairs = files.flatMap((file) => [file.name, encodePlanned(file)]);
    const reply = (await storeCall(() =>
      this.redis.eval(ADD_FILES_SCRIPT, 2, redisKeys.job(jobId), redisKeys.files(jobId), String(limits.maxFiles), String(limits.maxTotalBytes), String(now.getTime()), now.toISOString(), ...pairs),
    )) as string[];
    const [outcome, ...rest] = reply;
    if (outcome === "ok") return { ok: true, fileCount: Number(rest[0]), totalBytes: Number(rest[1]) };
    if (outcome === "not_uploading") return { ok: false, problem: "not_uploading", status: rest[0] ?? "" };
    if (outcome === "duplicate") return { ok: false, problem: "duplicate", names: rest };
    if (outcome === "too_many_files") return { ok: false, problem: "too_many_files", count: Number(rest[0]) };
    if (outcome === "too_large") return { ok: false, problem: "too_large", bytes: Number(rest[0]) };
    return { ok: false, problem: "no_job" };
  }

  /**
   * Leaves `names` out of a job still uploading (files a user no longer has): uncounted in one
   * atomic step; the caller aborts their open multipart uploads and deletes whatever storage
   * holds of them. Names the plan does not hold are returned, not an error (a retry
   * of a drop whose answer was lost finds them gone).
   */
  async drop(jobId: string, names: readonly string[], now = new Date()): Promise<DropFilesResult> {
    const before = await this.get(jobId, names);
    const reply = (await storeCall(() =>
      this.redis.eval(DROP_FILES_SCRIPT, 3, redisKeys.job(jobId), redisKeys.files(jobId), redisKeys.uploads(jobId), String(now.getTime()), now.toISOString(), ...names),
    )) as (string | number)[];
    const [outcome, ...rest] = reply;
    if (outcome === "not_uploading") return { ok: false, problem: "not_uploading", status: String(rest[0] ?? "") };
    if (outcome !== "ok") return { ok: false, problem: "no_job" };
    const uploadCount = Number(rest[2]);
    const notPlanned = rest.slice(3 + uploadCount).map(String);
    const gone = new Set(notPlanned);
    return {
      ok: true,
      fileCount: Number(rest[0]),
      totalBytes: Number(rest[1]),
      dropped: before.filter((file): file is PlannedFile => file !== null && !gone.has(file.name)),
      notPlanned,
    };
  }

  /** The planned files with these names, in order; null where the plan has no such name. */
  async get(jobId: string, names: readonly string[]): Promise<(PlannedFile | null)[]> {
    if (names.length === 0) return [];
    const records = await storeCall(() => this.redis.hmget(redisKeys.files(jobId), ...names));
    return records.map((record, index) => (record === null ? null : decodePlanned(jobId, names[index]!, record)));
  }

  /** The planned file whose multipart upload is `uploadId`, or null. */
  async byUploadId(jobId: string, uploadId: string): Promise<PlannedFile | null> {
    const name = await storeCall(() => this.redis.hget(redisKeys.uploads(jobId), uploadId));
    if (name === null) return null;
    const [file] = await this.get(jobId, [name]);
    return file?.uploadId === uploadId ? file : null;
  }

  /** Records `uploadId` as the file's open multipart upload; false when it has one already (or is gone). */
  async openUpload(jobId: string, name: string, uploadId: string): Promise<boolean> {
    const reply = await storeCall(() => this.redis.eval(OPEN_UPLOAD_SCRIPT, 2, redisKeys.files(jobId), redisKeys.uploads(jobId), name, uploadId));
    return reply === 1;
  }

  /**
   * The upload is over: completed (give the object's ETag) or aborted. Its file no longer has it
   * open (the next sign opens a new one), and its index entry and recorded parts go.
   */
  async closeUpload(jobId: string, uploadId: string, etag = ""): Promise<void> {
    await storeCall(() => this.redis.eval(CLOSE_UPLOAD_SCRIPT, 3, redisKeys.files(jobId), redisKeys.uploads(jobId), redisKeys.parts(jobId, uploadId), uploadId, etag));
  }

  /**
   * Compares objects found in storage (one listing page) with the plan, recording the ETags of
   * those that match; NotUploadingError once the job has left uploading.
   */
  async markStored(jobId: string, objects: readonly StoredObject[]): Promise<StoredCheck> {
    const check: StoredCheck = { matched: 0, extra: [], wrongSize: [] };
    if (objects.length === 0) return check;
    const args = objects.flatMap((object) => [object.name, String(object.size), object.etag]);
    const reply = (await storeCall(() => this.redis.eval(MARK_STORED_SCRIPT, 2, redisKeys.files(jobId), redisKeys.job(jobId), ...args))) as [number, ...string[]];
    if (reply[0] === -1) throw new NotUploadingError(`Job ${jobId} is no longer uploading: what storage holds is not compared with its plan any more.`);
    check.matched = reply[0];
    for (let i = 1; i + 4 <= reply.length; i += 4) {
      const [kind, name, expected, actual] = reply.slice(i, i + 4) as [string, string, string, string];
      if (kind === "extra") check.extra.push(name);
      else check.wrongSize.push({ name, expected: Number(expected), actual: Number(actual) });
    }
    return check;
  }

  /**
   * One HSCAN batch from `from`: the planned files after the first `from.skip` of that batch, and
   * where the next batch starts ("0": none). Files added while a listing runs may be missed or seen
   * twice (Redis's SCAN guarantee covers what exists throughout).
   */
  async scan(jobId: string, from: ScanPosition = { scan: "0", skip: 0 }): Promise<{ files: PlannedFile[]; next: string }> {
    const [next, flat] = await storeCall(() => this.redis.hscan(redisKeys.files(jobId), from.scan, "COUNT", SCAN_COUNT));
    const files: PlannedFile[] = [];
    for (let i = from.skip * 2; i + 1 < flat.length; i += 2) files.push(decodePlanned(jobId, flat[i]!, flat[i + 1]!));
    return { files, next };
  }

  /** Every planned file, a batch at a time (memory: one batch, whatever the job's size). */
  async *batches(jobId: string): AsyncGenerator<PlannedFile[]> {
    let scan = "0";
    do {
      const batch = await this.scan(jobId, { scan, skip: 0 });
      if (batch.files.length > 0) yield batch.files;
      scan = batch.next;
    } while (scan !== "0");
  }

  /** Parts the client reported for an upload, kept for resuming where storage cannot list them. */
  async recordParts(jobId: string, uploadId: string, parts: readonly { partNumber: number; etag: string }[]): Promise<void> {
    if (parts.length === 0) return;
    const key = redisKeys.parts(jobId, uploadId);
    const results = await storeCall(() =>
      this.redis
        .multi()
        .hset(key, ...parts.flatMap((part) => [String(part.partNumber), part.etag]))
        .expire(key, this.#ttlSeconds)
        .exec(),
    );
    const failed = results?.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
  }

  /** The recorded parts of an upload, by part number (at most S3's 10,000). */
  async recordedParts(jobId: string, uploadId: string): Promise<{ partNumber: number; etag: string }[]> {
    const fields = await storeCall(() => this.redis.hgetall(redisKeys.parts(jobId, uploadId)));
    return Object.entries(fields)
      .map(([partNumber, etag]) => ({ partNumber: Number(partNumber), etag }))
      .sort((a, b) => a.partNumber - b.partNumber);
  }

  /** A batch of the job's open multipart uploads (upload id → name) from `scan`, and where the next starts ("0": none). */
  async openUploads(jobId: string, scan = "0"): Promise<{ uploads: { uploadId: string; name: string }[]; next: string }> {
    const [next, flat] = await storeCall(() => this.redis.hscan(redisKeys.uploads(jobId), scan, "COUNT", SCAN_COUNT));
    const uploads: { uploadId: string; name: string }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) uploads.push({ uploadId: flat[i]!, name: flat[i + 1]! });
    return { uploads, next };
  }

  /** Drops the plan and its uploads index (the record stays, with its counts). */
  async remove(jobId: string): Promise<void> {
    await storeCall(() => this.redis.unlink(redisKeys.files(jobId), redisKeys.uploads(jobId)));
  }
}
