// What a job's merge adds for browsing (issue 13), once the spool holds every shard's records:
// the browse index in S3 beside the zip (pages, manifest, then the summary last, so a summary
// means a complete index), the shards' previews copied into the zip, and report.html.
// mergeJob calls this once; nothing here knows about shards.
import { GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { browseKeys, previewKey } from "../../../core/keys.ts";
import type { ImageResult, RunInfo } from "../../pipeline/index.ts";
import type { BrowseBuild } from "../../pipeline/outputs/browse.ts";
import { writeResultsReport } from "../../pipeline/outputs/report.ts";
import type { ResultsZip } from "../../pipeline/outputs/resultsZip.ts";
import { prefetch } from "../../pipeline/run/prefetch.ts";

/** Objects written or read at once: hides S3's latency; memory holds this many pages or previews. */
export const BROWSE_REQUESTS_IN_FLIGHT = 8;

export interface BrowseOutputOptions {
  s3: S3Client;
  bucket: string;
  jobId: string;
  zip: ResultsZip;
  /** Starts a fresh read of every result (spool.sorted). */
  images: () => AsyncIterable<ImageResult> | Iterable<ImageResult>;
  run: RunInfo;
  eventGapSeconds?: number;
  scratchDir: string;
}

/** The index where the results routes read it: pages, the manifest, and the summary last (a summary means a complete index). */
export async function storeBrowseIndex(s3: S3Client, bucket: string, jobId: string, build: BrowseBuild): Promise<void> {
  const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: key.endsWith(".json") ? "application/json" : "application/x-ndjson" }));
  for await (const _ of prefetch(build.pages(), BROWSE_REQUESTS_IN_FLIGHT, (page) => put(browseKeys.page(jobId, page.view, page.sort, page.page), page.body))) void _;
  await put(browseKeys.manifest(jobId), JSON.stringify(build.manifest));
  await put(browseKeys.summary(jobId), JSON.stringify(build.summary));
}

export async function writeBrowseOutputs(options: BrowseOutputOptions): Promise<void> {
  const { s3, bucket, jobId, zip } = options;
  // Previews into the zip in path order, a few fetched ahead; one missing from storage is left out (its card says no preview).
  const withPreview = async function* () {
    for await (const image of options.images()) if (image.preview) yield image.preview;
  };
  const fetchPreview = async (name: string) => {
    try {
      const reply = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: previewKey(jobId, name) }));
      return { name, bytes: Buffer.from(await reply.Body!.transformToByteArray()) };
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === "NoSuchKey") return { name, bytes: undefined };
      throw error;
    }
  };
  const added = new Set<string>();
  for await (const { name, bytes } of prefetch(withPreview(), BROWSE_REQUESTS_IN_FLIGHT, fetchPreview)) {
    // Two records naming one preview (the same path in two shards) add it once.
    if (bytes && !added.has(name)) await zip.addBuffer(name, bytes, "jpeg");
    added.add(name);
  }
  await writeResultsReport(zip, options.images, options.run, {
    ...(options.eventGapSeconds !== undefined ? { eventGapSeconds: options.eventGapSeconds } : {}),
    scratchDir: options.scratchDir,
    withIndex: (build) => storeBrowseIndex(s3, bucket, jobId, build),
  });
}
