// What a job's state means, in the words shown on the job page.
import { formatDuration, plural } from "./format.ts";
import type { JobView } from "./types.ts";

export interface JobWords {
  /** One short line: the status. */
  headline: string;
  /** A sentence under it: what is happening and what to do. */
  detail: string;
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
        detail: total > 0 ? `${processed.toLocaleString("en")} of ${plural(total, "photo")} checked.` : "Starting on your photos.",
      };
    case "done":
      return {
        headline: "Results ready",
        detail: `${plural(total || processed, "photo")} checked. The zip holds every photo with boxes drawn, results.xlsx and detections.json.`,
      };
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

function queueSentence(position: number | null | undefined): string {
  if (position == null) return "Your job will start when a worker is free.";
  if (position <= 0) return "Your job is next in line.";
  return `${plural(position, "job")} ahead of yours.`;
}

/** Whether the page should keep asking for news. */
export function isFinal(job: JobView): boolean {
  return job.status === "done" || job.status === "failed" || job.status === "expired";
}

export function etaWords(secondsLeft: number): string {
  if (secondsLeft <= 0) return "Almost done…";
  return `About ${formatDuration(secondsLeft)} left`;
}
