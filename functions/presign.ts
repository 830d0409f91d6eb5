// Presigned S3 URLs for browsers: PUT for small files, one URL per multipart part, GET for the
// result. All are signed with the presigning client (no x-amz-checksum-* parameters). Upload URLs
// sign the body's length too (content-length in X-Amz-SignedHeaders), so S3 refuses a body of any
// other size with SignatureDoesNotMatch; browsers send that header themselves.
import { GetObjectCommand, PutObjectCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { S3Client } from "@aws-sdk/client-s3";
import { partLength } from "./uploadPlan.ts";

export interface Signed {
  url: string;
  expiresAt: string;
}

/** When a URL signed now for `seconds` stops working, as ISO 8601. */
export function expiry(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toISOString();
}

/** A PUT URL for a body of exactly `size` bytes; the client sends one header of its own: content-type. */
export async function presignPut(presigner: S3Client, target: { bucket: string; key: string; contentType: string; size: number }, seconds: number): Promise<string> {
  return getSignedUrl(presigner, new PutObjectCommand({ Bucket: target.bucket, Key: target.key, ContentType: target.contentType, ContentLength: target.size }), {
    expiresIn: seconds,
    signableHeaders: new Set(["content-type", "content-length"]),
  });
}

/** Part URLs of a file of `size` bytes cut into `partSize` parts; each accepts exactly its part's length. */
export async function presignParts(
  presigner: S3Client,
  target: { bucket: string; key: string; uploadId: string; size: number; partSize: number },
  partNumbers: readonly number[],
  seconds: number,
): Promise<{ partNumber: number; url: string }[]> {
  return Promise.all(
    partNumbers.map(async (partNumber) => ({
      partNumber,
      url: await getSignedUrl(
        presigner,
        new UploadPartCommand({
          Bucket: target.bucket,
          Key: target.key,
          UploadId: target.uploadId,
          PartNumber: partNumber,
          ContentLength: partLength(target.size, target.partSize, partNumber),
        }),
        { expiresIn: seconds, signableHeaders: new Set(["content-length"]) },
      ),
    })),
  );
}

/** A GET URL that downloads as `filename`. */
export async function presignGet(presigner: S3Client, bucket: string, key: string, filename: string, seconds: number): Promise<Signed> {
  const url = await getSignedUrl(
    presigner,
    new GetObjectCommand({ Bucket: bucket, Key: key, ResponseContentDisposition: `attachment; filename="${filename}"` }),
    { expiresIn: seconds },
  );
  return { url, expiresAt: expiry(seconds) };
}

