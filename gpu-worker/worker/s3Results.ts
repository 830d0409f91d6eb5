// The results zip goes to S3 as it is written: a multipart upload (lib-storage) fed by the
// pipeline's output stream, so memory holds a couple of parts, never the zip.
//
// A half-written result never looks complete: S3 shows an object only once PutObject or
// CompleteMultipartUpload succeeds, so a worker killed mid-upload leaves nothing at the key
// (just incomplete parts, which the bucket's lifecycle rule aborts). A redo overwrites the
// same key, so a job always has exactly one result object.
import type { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Transform, type Writable } from "node:stream";

/** Parts uploading at once: memory is about this many parts. */
const PARTS_IN_FLIGHT = 2;

export interface ResultUploadOptions {
  bucket: string;
  key: string;
  /** Name the browser saves the download under. */
  fileName: string;
  /** Multipart part size (S3's minimum is 5 MiB; fauxqs accepts bodies up to about 11 MiB). */
  partBytes: number;
}

export interface ResultUpload {
  /** Where the pipeline writes the zip; ending it completes the upload. */
  body: Writable;
  /** Resolves with the bytes stored once the object is complete in S3. */
  done: Promise<number>;
  /** Rejects when the upload fails, never resolves: race the producer against it, so a dead upload cannot stall it. */
  failed: Promise<never>;
  /** Abandons the upload: no object appears, uploaded parts are removed. */
  abort(): Promise<void>;
}

export function startResultUpload(s3: S3Client, options: ResultUploadOptions): ResultUpload {
  let bytes = 0;
  const body = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const upload = new Upload({
    client: s3,
    params: {
      Bucket: options.bucket,
      Key: options.key,
      Body: body,
      ContentType: "application/zip",
      ContentDisposition: `attachment; filename="${options.fileName.replace(/["\\]/g, "_")}"`,
    },
    partSize: options.partBytes,
    queueSize: PARTS_IN_FLIGHT,
    leavePartsOnError: false,
  });
  const done = upload.done().then(() => bytes);
  const failed = done.then(
    () => new Promise<never>(() => {}),
    (error: unknown) => {
      // Writers blocked on a full buffer would otherwise wait forever.
      body.destroy(error instanceof Error ? error : new Error(String(error)));
      throw new Error(`could not store the results in S3: ${error instanceof Error ? error.message : String(error)}`);
    },
  );
  // Callers await these when they need them; an unobserved rejection must not crash the process.
  done.catch(() => {});
  failed.catch(() => {});
  return {
    body,
    done,
    failed,
    async abort() {
      body.destroy();
      await upload.abort().catch(() => {});
      await done.catch(() => {});
    },
  };
}
