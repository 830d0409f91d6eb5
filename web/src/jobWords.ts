// What a job's state means, in the words shown on the job page.
import { formatDuration, plural } from "./format.ts";
import type { JobView } from "../../functions/wire.ts";

export interface JobWords {
  /** One short line: the status. */
  headline: string;
  /** A sentence under it: what is happening and what to do. */
  detail: string;
}

/** Where the reasons for unreadable files are, said the same way everywhere. */
function whereReasons(count: number): string {
  return count === 1 ? "results.xlsx in the zip says why" : "results.xlsx in the zip lists each one and why";
}

export function describeJob(job: JobView): JobWords {
  const processed = job.progress?.processed ?? 0;
  const total = job.progress?.total ?? job.fileCount ?? 0;
  switch (job.status) {
    case "uploading":
      return {
        headline: "Waiting for the upload",
        detail: "The photos have not all arrived yet. Keep the upload page open until it says the job is submitted.",
      };
    case "queued":
      return { headline: "In the queue", detail: queueSentence(job.queuePosition) };
    case "processing":
      return {
        headline: "Finding animals, people and vehicles",
        detail: total > 0 ? `${processed.toLocaleString("en")} of ${plural(total, "file")} checked.` : "Fetching and counting your photos.",
      };
    case "done":
      return doneWords(job);
    case "failed":
      return {
        headline: "This job failed",
        detail: job.error ?? "The server did not say why. Try submitting the photos again; if it fails again, contact the team.",
      };
    case "expired":
      return {
        headline: "Results deleted",
        detail: "Photos and results are kept for a limited time and this job's have been removed. Upload the photos again to redo it.",
      };
  }
}

/** Photos read and files that could not be, from the job's result; null when the page cannot know. */
export function doneCounts(job: JobView): { photos: number; unreadable: number } | null {
  if (job.status !== "done" || job.recordGone || !job.result) return null;
  const unreadable = Math.max(0, job.result.failed);
  return { photos: Math.max(0, job.result.images - unreadable), unreadable };
}

function doneWords(job: JobView): JobWords {
  const counts = doneCounts(job);
  const contents = "The zip holds the photos with boxes drawn, results.xlsx and detections.json.";
  if (!counts) {
    return {
      headline: "Results ready",
      detail: job.recordGone
        ? `This job's details have expired, so this page no longer knows how many photos it held; its results are still kept. ${contents}`
        : contents,
    };
  }
  const { photos, unreadable } = counts;
  if (photos === 0 && unreadable > 0) {
    return {
      headline: "No photos could be read",
      detail: `None of the ${plural(unreadable, "file")} could be read as a photo (${whereReasons(unreadable)}). Upload JPEG, PNG or TIFF photos, or zips of them.`,
    };
  }
  const unread = unreadable > 0 ? ` ${plural(unreadable, "file")} could not be read (not ${unreadable === 1 ? "a photo" : "photos"}, empty or damaged); ${whereReasons(unreadable)}.` : "";
  return { headline: "Results ready", detail: `${plural(photos, "photo")} checked.${unread} ${contents}` };
}

/** The figure beside the bar: files done while it runs, photos and unreadable files when done. */
export function countWords(job: JobView): string {
  if (job.status === "done") {
    const counts = doneCounts(job);
    if (!counts) return "";
    return counts.unreadable > 0 ? `${plural(counts.photos, "photo")} checked · ${counts.unreadable.toLocaleString("en")} unreadable` : `${plural(counts.photos, "photo")} checked`;
  }
  const processed = job.progress?.processed ?? 0;
  const total = job.progress?.total ?? 0;
  if (total > 0) return `${processed.toLocaleString("en")} of ${plural(total, "file")}${shardWords(job)}`;
  return job.status === "queued" ? "Waiting to start" : "";
}

/** A job split into parts (shards) says how they stand: " · 2 of 6 parts done, 3 running on 2 workers". */
export function shardWords(job: JobView): string {
  const shards = job.shards;
  if (!shards || shards.count <= 1 || job.status !== "processing") return "";
  const running = shards.running > 0 ? `, ${shards.running.toLocaleString("en")} running on ${plural(shards.workers, "worker")}` : "";
  const failed = shards.failed > 0 ? ` (${shards.failed.toLocaleString("en")} could not be processed)` : "";
  return ` · ${shards.done.toLocaleString("en")} of ${shards.count.toLocaleString("en")} parts done${failed}${running}`;
}

function queueSentence(position: number | null | undefined): string {
  if (position == null) return "Your job will start when a worker is free.";
  if (position <= 0) return "Your job is next in line.";
  return `${plural(position, "job")} ahead of yours.`;
}

/** Whether the page should keep asking for news. */
export function isFinal(job: JobView): boolean {
  return job.status === "done" || job.status === "failed" || job.status === "expired";
}

/** Below this, an estimate made before any photo is done is not shown: it is a guess, not a measure. */
const UNMEASURED_MIN_SECONDS = 60;

/**
 * The countdown's words. `started`: photos are being done, so the estimate rests on this job's
 * own progress; before that a short estimate is not claimed ("a few seconds" at the start of a
 * two-minute job), only a long one (a queue to wait through).
 */
export function etaWords(secondsLeft: number | null, started: boolean): string {
  if (secondsLeft === null || (!started && secondsLeft < UNMEASURED_MIN_SECONDS)) return "Estimating time left…";
  if (secondsLeft <= 0) return "Almost done…";
  if (secondsLeft < 5) return "A few seconds left";
  return `About ${formatDuration(secondsLeft)} left`;
}
