// A metadata thread: reads EXIF with exifr, one file at a time, for exifThreads.ts, which ends
// this thread when a file keeps it busy past its deadline. exifr runs nowhere else: it is plain
// JavaScript that a crafted file can keep busy for ever.
import { parentPort } from "node:worker_threads";
import exifr from "exifr";
import { EXIFR_OPTIONS, type ExifTags, type RawExif } from "./exifTags.ts";
import type { ExifReply, ExifRequest } from "./exifThreads.ts";

const port = parentPort!;

async function parseExifTags(bytes: Uint8Array): Promise<ExifTags> {
  try {
    const raw = ((await exifr.parse(bytes, EXIFR_OPTIONS)) ?? {}) as RawExif;
    return { ok: true, raw: compact(raw) as RawExif };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * exifr hands back views into the file (a MakerNote is a Uint8Array over the whole buffer), and
 * posting a view copies its whole buffer: send small copies of the views instead. Its collected
 * errors become their messages.
 */
function compact(value: unknown): unknown {
  if (value instanceof Uint8Array) return value.slice();
  if (value instanceof Error) return value.message;
  if (Array.isArray(value)) return value.map(compact);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, compact(inner)]));
  }
  return value;
}

port.on("message", (request: ExifRequest) => {
  void parseExifTags(new Uint8Array(request.bytes)).then((tags) => port.postMessage({ id: request.id, tags } satisfies ExifReply));
});
port.postMessage({ ready: true } satisfies ExifReply);
