// Upload plans for planned files, as POST /api/jobs, POST .../files and POST .../uploads/sign
// answer with them: a presigned PUT (or form POST, when the client asks: browsers), or a multipart upload (created here when the file has none
// open) with its first part URLs. An answer never passes MAX_BODY_BYTES: plans go in the order
// asked while they fit, multipart plans get their first parts from what room is left, and the
// files that did not fit are counted in `unsigned` for the client to ask for again.
import { AbortMultipartUploadCommand, CreateMultipartUploadCommand } from "@aws-sdk/client-s3";
import { FilePlan } from "../core/filePlan.ts";
import type { PlannedFile } from "../core/jobs.ts";
import { UploadSigner } from "./presign.ts";
import type { AppDeps } from "./types.ts";
import { INITIAL_SIGNED_PARTS, partCountFor, partSizeFor } from "./uploadPlan.ts";
import { MAX_BODY_BYTES } from "./wire.ts";
import type { MultipartUploadPlan, SingleUpload, UploadPlan, UploadPlans } from "./wire.ts";

/** Room an answer keeps for what surrounds its plans (jobId, expiresAt, limits, unsigned). */
const ENVELOPE_BYTES = 4_096;
/** S3 calls in flight at once while opening the multipart uploads of one page. */
const CREATE_CONCURRENCY = 16;

/** Bytes of `value` as JSON, as the answer will carry it. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

export interface Planner {
  plan: FilePlan;
  signer: UploadSigner;
  /** Plans for `files` (in that order) that fit in one answer; see the top of this file. */
  plansFor(jobId: string, files: readonly PlannedFile[], options?: { singleUpload?: SingleUpload | undefined; budget?: number }): Promise<Pick<UploadPlans, "uploads" | "unsigned">>;
  /** The file's open multipart upload id, opening one first when it has none (never opened, completed or aborted). */
  openUpload(jobId: string, file: PlannedFile): Promise<string>;
}

export function planner(deps: Pick<AppDeps, "config" | "store" | "aws">): Planner {
  const { config, aws } = deps;
  const plan = new FilePlan(deps.store.redis, { retentionDays: config.RETENTION_DAYS });
  const signer = new UploadSigner(aws.presigner, config.BUCKET, config.PRESIGN_SECONDS);

  async function openUpload(jobId: string, file: PlannedFile): Promise<string> {
    if (file.uploadId) return file.uploadId;
    const { UploadId } = await aws.s3.send(new CreateMultipartUploadCommand({ Bucket: config.BUCKET, Key: file.key, ContentType: file.type }));
    if (!UploadId) throw new Error(`S3 returned no upload id for ${file.key}`);
    if (await plan.openUpload(jobId, file.name, UploadId)) return UploadId;
    // Another request opened one first: use theirs, and leave no parts of ours behind.
    await aws.s3.send(new AbortMultipartUploadCommand({ Bucket: config.BUCKET, Key: file.key, UploadId })).catch(() => {});
    const [now] = await plan.get(jobId, [file.name]);
    if (!now?.uploadId) throw new Error(`The multipart upload of "${file.name}" changed while it was being opened; ask again.`);
    return now.uploadId;
  }

  async function bare(file: PlannedFile, singleUpload: SingleUpload): Promise<UploadPlan> {
    if (file.method === "PUT" && singleUpload === "POST") {
      return { name: file.name, method: "POST", ...(await signer.post(file.key, file.type ?? "application/octet-stream", file.size)) };
    }
    if (file.method === "PUT") {
      return { name: file.name, method: "PUT", url: await signer.put(file.key, file.type ?? "application/octet-stream", file.size), headers: { "content-type": file.type ?? "application/octet-stream" } };
    }
    const partSize = partSizeFor(file.size, config.PART_BYTES);
    return { name: file.name, method: "multipart", multipart: { uploadId: file.uploadId!, key: file.key, partSize, partCount: partCountFor(file.size, partSize), parts: [] } };
  }

  /** Signs the first parts of each multipart plan, in order, while `room` bytes last. */
  async function addFirstParts(entries: readonly { file: PlannedFile; plan: UploadPlan }[], room: number): Promise<void> {
    for (const { file, plan: entry } of entries) {
      if (entry.method !== "multipart") continue;
      const { multipart } = entry;
      const wanted = Math.min(multipart.partCount, INITIAL_SIGNED_PARTS);
      const target = { key: multipart.key, uploadId: multipart.uploadId, size: file.size, partSize: multipart.partSize };
      const first = { partNumber: 1, url: await signer.part(target, 1) };
      // Each part costs about what the first does, plus the digits of a longer part number.
      const perPart = jsonBytes(first) + 1 + String(wanted).length;
      const count = Math.min(wanted, Math.floor(room / perPart));
      if (count <= 0) return;
      const rest = await Promise.all(Array.from({ length: count - 1 }, async (_, index) => ({ partNumber: index + 2, url: await signer.part(target, index + 2) })));
      multipart.parts = [first, ...rest];
      room -= jsonBytes(multipart.parts);
    }
  }

  async function plansFor(jobId: string, files: readonly PlannedFile[], options: { singleUpload?: SingleUpload | undefined; budget?: number } = {}): Promise<Pick<UploadPlans, "uploads" | "unsigned">> {
    const budget = options.budget ?? MAX_BODY_BYTES - ENVELOPE_BYTES;
    const ready: PlannedFile[] = [...files];
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(CREATE_CONCURRENCY, files.length) }, async () => {
        while (next < files.length) {
          const index = next++;
          const file = files[index]!;
          if (file.method === "multipart" && !file.uploadId) ready[index] = { ...file, uploadId: await openUpload(jobId, file) };
        }
      }),
    );
    const entries: { file: PlannedFile; plan: UploadPlan }[] = [];
    let used = 2; // the list's brackets
    for (const file of ready) {
      const entry = await bare(file, options.singleUpload ?? "PUT");
      const bytes = jsonBytes(entry) + 1;
      if (used + bytes > budget) break;
      entries.push({ file, plan: entry });
      used += bytes;
    }
    await addFirstParts(entries, budget - used);
    const uploads = entries.map((entry) => entry.plan);
    // The last part URL of a plan may be a few bytes longer than the estimate: trim until it fits.
    while (jsonBytes(uploads) > budget) {
      const trimmed = [...uploads].reverse().find((entry): entry is MultipartUploadPlan => entry.method === "multipart" && entry.multipart.parts.length > 0);
      if (!trimmed) break;
      trimmed.multipart.parts.pop();
    }
    return { uploads, ...(uploads.length < files.length ? { unsigned: files.length - uploads.length } : {}) };
  }

  return { plan, signer, plansFor, openUpload };
}
