// Presigned S3 URLs for browsers: PUT for small files, one URL per multipart part, GET for the
// result. All are signed with the presigning client (no x-amz-checksum-* parameters).
import { GetObjectCommand, PutObjectCommand, UploadPartCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { S3Client } from "@aws-sdk/client-s3";

export interface Signed {
  url: string;
  expiresAt: string;
}

/** When a URL signed now for `seconds` stops working, as ISO 8601. */
export function expiry(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toISOString();
}

/** A PUT URL that expects exactly one header: content-type. */
export async function presignPut(presigner: S3Client, bucket: string, key: string, contentType: string, seconds: number): Promise<string> {
  return getSignedUrl(presigner, new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: contentType }), {
    expiresIn: seconds,
    signableHeaders: new Set(["content-type"]),
  });
}

export async function presignParts(
  presigner: S3Client,
  target: { bucket: string; key: string; uploadId: string },
  partNumbers: readonly number[],
  seconds: number,
): Promise<{ partNumber: number; url: string }[]> {
  return Promise.all(
    partNumbers.map(async (partNumber) => ({
      partNumber,
      url: await getSignedUrl(
        presigner,
        new UploadPartCommand({ Bucket: target.bucket, Key: target.key, UploadId: target.uploadId, PartNumber: partNumber }),
        { expiresIn: seconds },
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

