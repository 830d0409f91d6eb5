// How each file goes up: one presigned PUT, or a multipart upload whose part size keeps it
// within S3's 10,000 parts. Pure arithmetic; routes/createJob.ts does the signing.
import { S3_MAX_PARTS } from "./validation.ts";

const MiB = 1024 * 1024;
/** Part URLs signed up front; the client asks the sign route for the rest (signing 10,000 would be slow). */
export const INITIAL_SIGNED_PARTS = 100;

export function usesMultipart(size: number, thresholdBytes: number): boolean {
  return size > thresholdBytes;
}

/** PART_BYTES, raised (to a whole MiB) when the file would otherwise need more than 10,000 parts. */
export function partSizeFor(size: number, partBytes: number): number {
  const smallest = Math.ceil(size / S3_MAX_PARTS);
  return smallest <= partBytes ? partBytes : Math.ceil(smallest / MiB) * MiB;
}

export function partCountFor(size: number, partSize: number): number {
  return Math.max(1, Math.ceil(size / partSize));
}

/** Bytes in part `partNumber` (1-based): partSize, except the last part, which holds the rest. */
export function partLength(size: number, partSize: number, partNumber: number): number {
  return Math.max(0, Math.min(partSize, size - (partNumber - 1) * partSize));
}

/** 1..n */
export function partNumbers(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index + 1);
}
