// The job page (#/jobs/<id>): what the job is doing in words, its queue position, a bar of
// photos checked, a countdown to the estimate, the error when it failed, and the download with
// its link's expiry when done. It asks politely: faster while the job moves, slower while
// nothing changes or the server is away (the countdown then says it is reconnecting rather than
// counting on), and not at all once the job has finished.
import { ApiError, type Api } from "./api.ts";
import { announce, byId, setBar } from "./dom.ts";
import { formatDuration, plural } from "./format.ts";
import { countWords, describeJob, etaWords, isFinal } from "./jobWords.ts";
import { createGallery } from "./gallery.ts";
import { linkExpiresAt } from "./linkExpiry.ts";
import { afterAnswer, afterFailure, effectiveDelay, firstPoll, type PollState } from "./pollSchedule.ts";
import type { JobView } from "../../functions/wire.ts";

export interface JobPage {
  /** `query`: the gallery's filters from the link (gallery.ts). */
  show(jobId: string, query?: string): void;
  /** A #/jobs/ link that holds no job id: say so instead of showing the upload page. */
  showNotAJobLink(link: string): void;
  hide(): void;
}

/** `onUploading`: the job still waits for its files; the upload view takes over to ask for them. */
export function createJobPage(api: Api, onUploading: (jobId: string, job: JobView) => void): JobPage {
  const idText = byId("job-id");
  const hint = byId("job-hint");
  const copyButton = byId<HTMLButtonElement>("copy-link");
  const copyFeedback = byId("copy-feedback");
  const card = byId("status-card");
  const headline = byId("status-headline");
  const detail = byId("status-detail");
  const progressBox = byId("job-progress");
  const count = byId("job-count");
  const eta = byId("job-eta");
  const bar = byId("job-bar");
  const download = byId("download");
  const downloadLink = byId<HTMLAnchorElement>("download-link");
  const expiry = byId("download-expiry");
  const message = byId("job-message");
  const gallery = createGallery(api, byId("results"));
  let galleryQuery: string | undefined;

  let jobId = "";
  let last: JobView | null = null;
  let poll: PollState = firstPoll;
  let pollTimer = 0;
  let tickTimer = 0;
  let inFlight: AbortController | null = null;
  /** When the estimate reaches zero, in this browser's clock. */
  let etaEndsAt: number | null = null;
  let linkEndsAt: Date | null = null;
  /** The last poll failed: the countdown stops and says so until an answer comes. */
  let reconnecting = false;

  const say = (text: string, kind: "info" | "error" = "info") => {
    message.textContent = text;
    message.className = `notice${text ? ` notice-${kind}` : ""}`;
  };

  const render = (job: JobView) => {
    const words = describeJob(job);
    card.dataset.status = job.status;
    if (headline.textContent !== words.headline) {
      headline.textContent = words.headline;
      announce(`${words.headline}. ${words.detail}`);
    }
    detail.textContent = words.detail;
    document.title = `${words.headline} — Trapline`;

    const processed = job.progress?.processed ?? 0;
    const total = job.progress?.total ?? 0;
    const showProgress = job.status === "queued" || job.status === "processing" || job.status === "done";
    progressBox.classList.toggle("is-active", showProgress);
    const fraction = job.status === "done" ? 1 : total > 0 ? processed / total : 0;
    count.textContent = countWords(job);
    setBar(bar, fraction, job.status === "done" ? "Finished" : total > 0 ? `${processed} of ${plural(total, "file")} checked` : "Not started");

    const running = job.status === "queued" || job.status === "processing";
    etaEndsAt = running && typeof job.etaSeconds === "number" ? Date.now() + job.etaSeconds * 1000 : null;

    // The record may be gone with the results still there (recordGone): the index decides, the routes say.
    if (job.status === "done") gallery.show(jobId, galleryQuery);
    else gallery.hide();
    if (job.status === "done" && job.downloadUrl) {
      download.hidden = false;
      downloadLink.href = job.downloadUrl;
      linkEndsAt = linkExpiresAt(job.downloadUrl, job.downloadExpiresAt);
    } else {
      download.hidden = true;
      linkEndsAt = null;
    }
    tick();
  };

  /** Once a second: the countdown and the link's remaining life. */
  const tick = () => {
    const running = last?.status === "queued" || last?.status === "processing";
    if (running && reconnecting) {
      eta.textContent = "Reconnecting…";
    } else if (running) {
      const started = last?.status === "processing" && (last.progress?.processed ?? 0) > 0;
      eta.textContent = etaWords(etaEndsAt === null ? null : Math.max(0, Math.round((etaEndsAt - Date.now()) / 1000)), started);
    } else if (last?.status === "done") {
      eta.textContent = "Finished";
    } else {
      eta.textContent = "";
    }
    if (linkEndsAt) {
      const secondsLeft = Math.round((linkEndsAt.getTime() - Date.now()) / 1000);
      const clock = linkEndsAt.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      if (secondsLeft > 0) {
        expiry.textContent = `This link works until ${clock} (${formatDuration(secondsLeft)} from now). Come back to this page for a fresh one.`;
        download.classList.remove("is-expired");
      } else {
        expiry.textContent = "This download link has expired. Press the button to get a fresh one.";
        download.classList.add("is-expired");
      }
    }
  };

  const schedule = () => {
    window.clearTimeout(pollTimer);
    pollTimer = window.setTimeout(() => void fetchJob(), effectiveDelay(poll, document.hidden));
  };

  const fetchJob = async () => {
    inFlight?.abort();
    const controller = new AbortController();
    inFlight = controller;
    const forId = jobId;
    try {
      const job = await api.getJob(forId, controller.signal);
      if (forId !== jobId) return;
      const changed = !last || last.status !== job.status || last.progress?.processed !== job.progress?.processed || last.queuePosition !== job.queuePosition;
      if (job.status === "uploading") {
        stop();
        onUploading(forId, job);
        return;
      }
      last = job;
      reconnecting = false;
      poll = afterAnswer(poll, changed);
      say("");
      render(job);
      if (!isFinal(job)) schedule();
    } catch (error) {
      if (controller.signal.aborted || forId !== jobId) return;
      if (error instanceof ApiError && error.status === 404) {
        showMissing("Job not found", `No job has the code ${forId}. Check that the whole link was copied; jobs and their results are deleted after a few days.`);
        return;
      }
      reconnecting = true;
      tick();
      poll = afterFailure(poll);
      const wait = Math.round(effectiveDelay(poll, document.hidden) / 1000);
      say(`${(error as Error).message} Trying again in ${wait} s.`, "error");
      schedule();
    } finally {
      if (inFlight === controller) inFlight = null;
    }
  };

  /** A link that leads to no job: no bookmark advice, no progress, no polling. */
  const showMissing = (title: string, sentence: string) => {
    last = null;
    etaEndsAt = null;
    card.dataset.status = "failed";
    headline.textContent = title;
    detail.textContent = sentence;
    hint.hidden = true;
    copyButton.hidden = true;
    progressBox.classList.remove("is-active");
    count.textContent = "";
    eta.textContent = "";
    download.hidden = true;
    gallery.hide();
    document.title = `${title} — Trapline`;
    announce(`${title}.`);
  };

  // An expired link is replaced by asking the API again, which signs a fresh one.
  downloadLink.addEventListener("click", (event) => {
    if (!linkEndsAt || linkEndsAt.getTime() > Date.now()) return;
    event.preventDefault();
    say("Getting a fresh download link…");
    api.getJob(jobId).then(
      (job) => {
        last = job;
        render(job);
        say("");
        if (job.status === "done" && job.downloadUrl) window.location.assign(job.downloadUrl);
      },
      (error: unknown) => say((error as Error).message, "error"),
    );
  });

  copyButton.addEventListener("click", () => {
    const link = window.location.href;
    navigator.clipboard.writeText(link).then(
      () => (copyFeedback.textContent = "Link copied."),
      () => (copyFeedback.textContent = `Copy this link: ${link}`),
    );
  });

  // A tab brought back to the front catches up at once instead of waiting out a long delay.
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && jobId && last && !isFinal(last)) {
      poll = firstPoll;
      void fetchJob();
    }
  });

  const reset = (id: string) => {
    jobId = id;
    last = null;
    poll = firstPoll;
    etaEndsAt = null;
    linkEndsAt = null;
    reconnecting = false;
    hint.hidden = false;
    copyButton.hidden = false;
    idText.textContent = id;
  };

  /** No more polling or ticking for this job. */
  const stop = () => {
    gallery.hide();
    window.clearTimeout(pollTimer);
    window.clearInterval(tickTimer);
    inFlight?.abort();
    jobId = "";
  };

  return {
    showNotAJobLink(link) {
      this.hide();
      byId("upload-view").hidden = true;
      byId("job-view").hidden = false;
      reset("");
      idText.textContent = "–";
      showMissing("This is not a job link", `The link ends in “${link}”, which holds no job code (22 letters and digits after /jobs/). Copy the whole link again from the email or page you got it from, or start a new job.`);
    },
    show(id, query) {
      galleryQuery = query;
      byId("upload-view").hidden = true;
      byId("job-view").hidden = false;
      if (id !== jobId) {
        reset(id);
        card.dataset.status = "loading";
        headline.textContent = "Checking your job…";
        detail.textContent = "";
        count.textContent = "";
        eta.textContent = "";
        download.hidden = true;
        copyFeedback.textContent = "";
        setBar(bar, 0, "Not started");
        say("");
      }
      window.clearInterval(tickTimer);
      tickTimer = window.setInterval(tick, 1000);
      void fetchJob();
    },
    hide: stop,
  };
}
