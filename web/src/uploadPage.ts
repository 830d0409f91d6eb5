// The upload page: email, files (drop, pick, folders, zips), the list (fileListView.ts) and the
// total progress (totalProgressView.ts), cancel, retry, and Submit once everything is in storage.
// The job's link is in the address bar from the moment the job exists; opened again while the job
// still uploads (a reload, a closed tab), the page asks for the same folder and sends only what
// storage lacks (repick.ts), to the same job. This file holds the phases and the words; the
// files live in pickedList.ts, the job's side in jobFiles.ts, the sending in uploadQueue.ts.
import { emailProblem } from "../../core/email.ts";
import { MAX_PAGE_FILES, type JobView } from "../../functions/wire.ts";
import { ApiError, type Api } from "./api.ts";
import { browserSignals, Connection } from "./connection.ts";
import { announce, byId } from "./dom.ts";
import { createFileListView } from "./fileListView.ts";
import { formatBytes, plural } from "./format.ts";
import { createImagesChoice } from "./imagesChoice.ts";
import { createPrivacyChoice } from "./privacyChoice.ts";
import { JobFiles } from "./jobFiles.ts";
import { filesFromDrop, filesFromInput, type Picked } from "./pickedFiles.ts";
import { PickedList } from "./pickedList.ts";
import { pickReport } from "./pickReport.ts";
import { comparePick, fetchListing, fetchMissing } from "./repick.ts";
import { browserStorage, saveJob, savedJob, type SavedJob } from "./savedJobs.ts";
import { createTotalProgressView, PAUSED_WORDS } from "./totalProgressView.ts";
import { TransferRate } from "./transferRate.ts";
import { createTransport, isConnectionError } from "./uploader.ts";
import { UploadQueue } from "./uploadQueue.ts";

/** Redraws at most this often (a few times a second), however many files report progress. */
const REDRAW_MS = 250;
/** The totals are redrawn this often while uploading, so a stall shows even when no event comes. */
const TOTALS_TICK_MS = 1_000;
/** Names quoted in a message before "…". */
const NAMES_QUOTED = 3;

type Phase = "editing" | "comparing" | "preparing" | "uploading" | "failed-files" | "submitting" | "cancelling";

/** A job that exists already and still waits for files: opened again from its link. */
interface Resumed {
  jobId: string;
  job: JobView;
  saved: SavedJob | null;
  /** Files picked that are not part of the job; added to it when its listing was cut short. */
  extras: number[];
  addExtras: boolean;
  /** The pick lacks files storage lacks too: the job cannot be submitted from it yet. */
  complete: boolean;
  /** Names of the files it lacks that this pick cannot send (repick.ts): the person may leave them out instead (POST .../files/drop). */
  unsendable: string[];
}

export interface UploadPage {
  /** The upload view: a new job, or the job this tab is sending. */
  show(): void;
  /** The upload view for a job still uploading, opened from its link. */
  resume(jobId: string, job: JobView): void;
  /** The job this tab is creating or sending, if any. */
  activeJob(): string | null;
}

export function createUploadPage(api: Api, openJob: (jobId: string) => void): UploadPage {
  const form = byId<HTMLFormElement>("upload-form");
  const title = byId("upload-title");
  const resumeBox = byId("resume-panel");
  const resumeText = byId("resume-text");
  const email = byId<HTMLInputElement>("email");
  const emailError = byId("email-error");
  const dropzone = byId("dropzone");
  const pickFiles = byId<HTMLInputElement>("pick-files");
  const pickFolder = byId<HTMLInputElement>("pick-folder");
  const clearButton = byId<HTMLButtonElement>("clear-files");
  const removeOthersButton = byId<HTMLButtonElement>("remove-not-photos");
  const report = byId("pick-report");
  const dropButton = byId<HTMLButtonElement>("drop-missing");
  const message = byId("upload-message");
  const startButton = byId<HTMLButtonElement>("start-upload");
  const retryButton = byId<HTMLButtonElement>("retry-failed");
  const cancelButton = byId<HTMLButtonElement>("cancel-upload");
  const imagesChoice = createImagesChoice(byId("images-choice"));
  const privacyChoice = createPrivacyChoice(byId("privacy-choice"));

  const storage = browserStorage();
  const list = new PickedList();
  const rate = new TransferRate();
  const connection = new Connection(browserSignals, () => onConnectionChange());
  let job: JobFiles | null = null;
  let queue: UploadQueue | null = null;
  let resumed: Resumed | null = null;
  const transport = createTransport(api, () => job?.jobId ?? resumed?.jobId ?? "");
  const listView = createFileListView(list, (index) => {
    if (phase !== "editing") return;
    list.remove([index]);
    afterEdit();
    redrawNow();
    clearButton.focus();
  });
  const totals = createTotalProgressView(list, rate, connection);
  let phase: Phase = "editing";
  let emailTouched = false;
  /** The sending in progress (settled or not); cancel waits for it. */
  let sending: Promise<void> = Promise.resolve();
  let redrawTimer = 0;
  let totalsTimer = 0;
  let wasPaused = false;

  // ---- messages -------------------------------------------------------------------------

  const say = (text: string, kind: "info" | "error" | "success" = "info") => {
    message.textContent = text;
    message.className = `notice${text ? ` notice-${kind}` : ""}`;
  };

  const checkEmail = (force: boolean): boolean => {
    const problem = emailProblem(email.value);
    const visible = force || emailTouched;
    emailError.textContent = visible && problem ? problem : "";
    email.setAttribute("aria-invalid", visible && problem ? "true" : "false");
    return problem === null;
  };

  email.addEventListener("input", () => checkEmail(false));
  email.addEventListener("blur", () => {
    if (email.value.trim() !== "") emailTouched = true;
    checkEmail(false);
  });

  const quoted = (names: string[]) => `${names.slice(0, NAMES_QUOTED).join(", ")}${names.length > NAMES_QUOTED ? "…" : ""}`;

  // ---- adding files ---------------------------------------------------------------------

  const addPicked = ({ files, skipped }: Picked) => {
    if (phase !== "editing") return;
    const added = list.add(files);
    const notes: string[] = [`Added ${plural(added.added, "file")}.`];
    if (added.alreadyListed > 0) notes.push(`${plural(added.alreadyListed, "file")} already in the list.`);
    for (const { from, to } of added.renamed) notes.push(`“${from}” is already in the list, so this one is listed as “${to}”.`);
    const others = added.notPhotos.map((path) => path.slice(path.lastIndexOf("/") + 1));
    if (others.length > 0) notes.push(notPhotosSentence(others.length, files.length, quoted(others)));
    if (skipped.length > 0) notes.push(`Skipped ${plural(skipped.length, "system file")} (${quoted(skipped)}).`);
    say(notes.join(" "));
    announce(notes.join(" "));
    afterEdit();
    redraw();
  };

  pickFiles.addEventListener("change", () => {
    addPicked(filesFromInput(pickFiles));
    pickFiles.value = "";
  });
  pickFolder.addEventListener("change", () => {
    addPicked(filesFromInput(pickFolder));
    pickFolder.value = "";
  });

  // Labels styled as buttons open the pickers; make them keyboard-operable like buttons.
  dropzone.querySelectorAll<HTMLLabelElement>("label.button").forEach((label) => {
    label.tabIndex = 0;
    label.setAttribute("role", "button");
    label.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        label.click();
      }
    });
  });

  let dragDepth = 0;
  dropzone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    dragDepth += 1;
    dropzone.classList.add("dropzone-active");
  });
  dropzone.addEventListener("dragover", (event) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = phase === "editing" ? "copy" : "none";
  });
  dropzone.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) dropzone.classList.remove("dropzone-active");
  });
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dragDepth = 0;
    dropzone.classList.remove("dropzone-active");
    if (!event.dataTransfer) return;
    say("Reading the dropped files…");
    filesFromDrop(event.dataTransfer).then(addPicked, () => say("Those files could not be read. Try the “Choose” buttons instead.", "error"));
  });
  // A file dropped beside the zone should not replace the page.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());

  clearButton.addEventListener("click", () => {
    list.clear();
    say("");
    announce("All files removed.");
    afterEdit();
    redraw();
  });

  removeOthersButton.addEventListener("click", () => {
    const others = list.notPhotos();
    list.remove(others);
    say(`Removed ${plural(others.length, "file")} that ${others.length === 1 ? "is not a photo" : "are not photos"}.`);
    announce(`Removed ${plural(others.length, "file")}.`);
    afterEdit();
    redraw();
    clearButton.focus();
  });

  /** The list changed while editing: a resumed job compares it with what the job lacks. */
  const afterEdit = () => {
    if (resumed) void compareWithJob();
  };

  // ---- a job opened again: the same folder, only what storage lacks ----------------------

  const compareWithJob = async () => {
    const open = resumed;
    if (!open) return;
    report.replaceChildren();
    if (list.size === 0) return;
    setPhase("comparing");
    say(`Comparing ${plural(list.size, "file")} with the job…`);
    try {
      const listing = await fetchListing(api, open.jobId);
      if (resumed !== open) return;
      const comparison = comparePick(
        Array.from({ length: list.size }, (_, index) => ({ name: list.uploadName(index), size: list.file(index).size })),
        listing,
      );
      // The page closed while it was adding the job's files: the ones it had not added yet join now.
      open.addExtras = open.saved !== null && !open.saved.listed && (open.job.fileCount ?? 0) < open.saved.files;
      open.extras = comparison.extra;
      open.complete = comparison.unsendable.length === 0;
      open.unsendable = comparison.unsendable;
      list.resetStates();
      for (const index of comparison.stored) list.setState(index, "done");
      for (const { index, planned } of comparison.otherSize) list.setState(index, "excluded", `another size than in the job (${formatBytes(planned)})`);
      if (!open.addExtras) for (const index of comparison.extra) list.setState(index, "excluded", "not part of this job");
      const words = pickReport(comparison, (index) => list.uploadName(index), (index) => list.file(index).size, open.addExtras);
      report.replaceChildren(...words.differences.map((sentence) => Object.assign(document.createElement("li"), { textContent: sentence })));
      report.hidden = words.differences.length === 0;
      setPhase("editing");
      say(words.differences.length > 0 ? `${words.summary} This pick differs from the job:` : `${words.summary} The pick matches the job.`, words.complete ? "info" : "error");
      announce(words.summary);
    } catch (error) {
      if (resumed !== open) return;
      setPhase("editing");
      say(`The job's files could not be read: ${(error as Error).message} Pick the folder again to retry.`, "error");
    }
  };

  const toSendCount = () => list.count("ready") + list.count("failed");

  // ---- drawing ----------------------------------------------------------------------------

  const drawControls = () => {
    const busy = phase === "comparing" || phase === "preparing" || phase === "uploading" || phase === "submitting" || phase === "cancelling";
    startButton.disabled = busy || (resumed !== null && list.size === 0);
    const sendWords = !resumed ? "Upload and start" : list.size === 0 ? "Send the missing files" : toSendCount() > 0 ? `Send the ${plural(toSendCount(), "missing file")}` : "Submit the job";
    startButton.textContent = {
      editing: sendWords,
      comparing: "Comparing…",
      preparing: "Preparing…",
      uploading: "Uploading…",
      "failed-files": sendWords,
      submitting: "Submitting…",
      cancelling: "Cancelling…",
    }[phase];
    startButton.hidden = phase === "failed-files";
    retryButton.hidden = phase !== "failed-files";
    cancelButton.hidden = !(phase === "uploading" || phase === "failed-files");
    email.readOnly = phase !== "editing" || resumed !== null;
    pickFiles.disabled = phase !== "editing";
    pickFolder.disabled = phase !== "editing";
    imagesChoice.setLocked(phase !== "editing");
    privacyChoice.setLocked(phase !== "editing");
    dropzone.classList.toggle("dropzone-locked", phase !== "editing");
    clearButton.hidden = phase !== "editing";
    removeOthersButton.hidden = phase !== "editing" || list.notPhotoCount() === 0;
    const leftOut = resumed?.unsendable.length ?? 0;
    dropButton.hidden = phase !== "editing" || leftOut === 0;
    dropButton.textContent = `Leave the ${plural(leftOut, "file")} out of the job`;
  };

  const drawAll = () => {
    const underway = phase !== "editing" && phase !== "comparing" && phase !== "preparing";
    listView.draw(underway || resumed !== null ? "sending" : "editing");
    imagesChoice.showEstimates(list.bytes);
    totals.draw(underway || resumed !== null, phase === "uploading");
    drawControls();
  };

  function redraw() {
    if (redrawTimer !== 0) return;
    redrawTimer = window.setTimeout(() => {
      redrawTimer = 0;
      drawAll();
    }, REDRAW_MS);
  }

  const redrawNow = () => {
    window.clearTimeout(redrawTimer);
    redrawTimer = 0;
    drawAll();
  };

  const setPhase = (next: Phase) => {
    phase = next;
    window.clearInterval(totalsTimer);
    if (phase === "uploading") totalsTimer = window.setInterval(() => totals.draw(true, phase === "uploading"), TOTALS_TICK_MS);
    redrawNow();
  };

  /** A pause begins or ends: the message says what is true now. */
  function onConnectionChange() {
    const paused = connection.pausedSince !== null;
    if (phase === "uploading" && paused !== wasPaused) {
      const stored = `${list.count("done").toLocaleString("en")} of ${plural(list.size - list.count("excluded"), "file")} are in storage`;
      if (paused) say(`${PAUSED_WORDS}. ${stored}; none of them is sent again.`, "error");
      else say(`Connection back: uploading again. ${stored}.`);
      announce(paused ? PAUSED_WORDS : "Connection back: uploading again.");
    }
    wasPaused = paused;
    redraw();
  }

  // ---- upload, retry, cancel, submit ----------------------------------------------------

  const jobLink = (jobId: string) => `#/jobs/${jobId}`;
  const remember = (jobId: string, listed: boolean) => {
    if (storage) saveJob(storage, jobId, { email: email.value.trim(), files: list.size, bytes: list.bytes, listed });
  };

  /** Sends every ready file of `job` (adding `rest` to the job meanwhile), then submits when storage has them all. */
  const send = async (rest: number[]) => {
    const current = job;
    if (!current) return;
    rate.reset();
    setPhase("uploading");
    say(`Uploading ${plural(toSendCount(), "file")}. Keep this page open until it says the job is submitted; if it closes, open this page's address again and pick the same folder to finish.`);
    announce("Upload started.");
    const running = new UploadQueue({ list, files: current, transport, connection, onChange: redraw });
    queue = running;
    const listing = current.addRest(rest).then(() => {
      if (!resumed) remember(current.jobId, true);
    });
    // A page the server refuses (limits) stops the sending: the job could not be submitted anyway.
    listing.catch(() => running.cancel());
    try {
      await Promise.all([running.run(), listing]);
    } catch (error) {
      if (phase !== "uploading") return;
      running.cancel();
      list.resetStates();
      setPhase("editing");
      say(`The job's files could not all be added: ${(error as Error).message}`, "error");
      return;
    } finally {
      if (queue === running) queue = null;
    }
    await afterUploads();
  };

  const afterUploads = async () => {
    if (phase !== "uploading" || !job) return; // cancelled meanwhile
    const failed = list.count("failed");
    const inStorage = `storage holds the other ${plural(list.count("done"), "file")}`;
    if (failed > 0) {
      setPhase("failed-files");
      say(`${plural(failed, "file")} did not upload (the list says why); ${inStorage}. “Retry failed files” sends just ${failed === 1 ? "that one" : "those"}.`, "error");
      announce(`${plural(failed, "file")} did not upload.`);
      retryButton.focus();
      return;
    }
    if (resumed && !resumed.complete) {
      setPhase("editing");
      say(`Sent what this pick could. The job still lacks files that are not in it (listed below): pick the folder that holds them, and the job is submitted once storage has every file.`, "error");
      return;
    }
    await submit();
  };

  const submit = async () => {
    const jobId = job?.jobId ?? resumed?.jobId;
    if (!jobId) return;
    setPhase("submitting");
    say("All files uploaded. Submitting the job…");
    try {
      await api.submitJob(jobId);
      resetAfterSubmit();
      openJob(jobId);
    } catch (error) {
      if (error instanceof ApiError && error.code === "uploads_incomplete") {
        await missingAtSubmit(jobId, error);
        return;
      }
      setPhase("failed-files");
      retryButton.hidden = true;
      startButton.hidden = false;
      startButton.textContent = "Submit again";
      say(`The files are uploaded but the job could not be submitted: ${(error as Error).message}`, "error");
      startButton.focus();
    }
  };

  /** Submit found files missing from storage: which ones, from the API's own listing, and a button that sends them. */
  const missingAtSubmit = async (jobId: string, error: ApiError) => {
    let missing: Set<string>;
    try {
      missing = await fetchMissing(api, jobId);
    } catch {
      missing = new Set(error.details.missing ?? []);
    }
    let again = 0;
    for (let index = 0; index < list.size; index += 1) {
      if (list.state(index) === "done" && missing.has(job?.serverName(index) ?? list.uploadName(index))) {
        list.setState(index, "failed", "Storage does not hold this file after all.");
        again += 1;
      }
    }
    setPhase("failed-files");
    say(
      again > 0
        ? `Storage lacks ${plural(missing.size, "file")} the job needs (listed below). “Retry failed files” sends ${again === 1 ? "it" : "them"} again.`
        : `The job could not be submitted: ${error.message}`,
      "error",
    );
    retryButton.focus();
  };

  const resetAfterSubmit = () => {
    list.clear();
    job = null;
    resumed = null;
    rate.reset();
    report.replaceChildren();
    report.hidden = true;
    phase = "editing";
    say("");
    showNewJobWords();
    redrawNow();
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (phase === "failed-files" && toSendCount() === 0) {
      sending = submit();
      return;
    }
    if (phase !== "editing") return;
    if (resumed) {
      void startResumed();
      return;
    }
    emailTouched = true;
    if (!checkEmail(true)) {
      email.focus();
      return;
    }
    if (list.size === 0) {
      say("Add at least one photo, folder or zip first.", "error");
      dropzone.querySelector<HTMLElement>("label.button")?.focus();
      return;
    }
    void start();
  });

  const start = async () => {
    setPhase("preparing");
    say("Preparing the upload…");
    try {
      const created = await JobFiles.create(api, list, connection, {
        email: email.value.trim(),
        indices: Array.from({ length: list.size }, (_, index) => index),
        options: { images: imagesChoice.value(), ...privacyChoice.value() },
      });
      job = created.job;
      remember(job.jobId, created.rest.length === 0);
      // The job's link, from the moment it exists: a reload comes back to it.
      window.history.replaceState(null, "", jobLink(job.jobId));
      sending = send(created.rest);
      await sending;
    } catch (error) {
      if (phase === "cancelling" || phase === "editing") return; // cancelled meanwhile: cancel has the last word
      setPhase("editing");
      const text = error instanceof Error ? error.message : String(error);
      if (error instanceof ApiError && /email/i.test(`${error.code} ${error.message}`)) {
        emailError.textContent = text;
        email.setAttribute("aria-invalid", "true");
        email.focus();
        say("");
      } else {
        say(isConnectionError(error) ? `${text} Nothing was sent yet; press “Upload and start” again.` : text, "error");
        startButton.focus();
      }
    }
  };

  const startResumed = async () => {
    const open = resumed;
    if (!open) return;
    if (toSendCount() === 0 && open.complete) {
      await submit();
      return;
    }
    const inJob: number[] = [];
    for (let index = 0; index < list.size; index += 1) if (!open.extras.includes(index) || !open.addExtras) inJob.push(index);
    job = JobFiles.existing(api, list, connection, open.jobId, inJob);
    sending = send(open.addExtras ? open.extras : []);
    await sending;
  };

  /** The panel of a job opened again: what it holds (again after files are left out of it). */
  const describeResumed = (open: Resumed) => {
    const { fileCount, totalBytes } = open.job;
    const holds = fileCount !== null ? ` It holds ${plural(fileCount, "file")} (${formatBytes(totalBytes ?? 0)}).` : "";
    resumeText.textContent = `Job ${open.jobId} is waiting for its files: its upload stopped before storage had them all.${holds} Pick the same folder (or files) again: only the files storage does not have are sent, and the job keeps this link.`;
  };

  // Files the card no longer has: out of the job (and out of storage), then the pick is compared again.
  dropButton.addEventListener("click", () => {
    const open = resumed;
    if (!open || open.unsendable.length === 0 || phase !== "editing") return;
    const names = open.unsendable;
    setPhase("comparing");
    say(`Leaving ${plural(names.length, "file")} out of the job…`);
    void (async () => {
      try {
        for (let at = 0; at < names.length; at += MAX_PAGE_FILES) {
          const dropped = await api.dropFiles(open.jobId, { names: names.slice(at, at + MAX_PAGE_FILES) });
          open.job = { ...open.job, fileCount: dropped.fileCount, totalBytes: dropped.totalBytes };
        }
      } catch (error) {
        if (resumed !== open) return;
        setPhase("editing");
        say(`The files could not be left out: ${(error as Error).message}`, "error");
        return;
      }
      if (resumed !== open) return;
      // The job is smaller now on purpose: its listing was not cut short.
      if (open.saved) open.saved = { ...open.saved, listed: true };
      describeResumed(open);
      announce(`${plural(names.length, "file")} left out of the job.`);
      await compareWithJob();
    })();
  });

  retryButton.addEventListener("click", () => {
    for (const index of list.indicesIn("failed")) list.setState(index, "ready");
    say("Retrying the files that failed…");
    sending = send([]);
  });

  // Cancel stops every transfer. A new job is forgotten: the files stay listed, and "Upload and
  // start" sends them all again as a new job (the cancelled one is left to expire). A job opened
  // again keeps its link: the next press sends what storage still lacks.
  cancelButton.addEventListener("click", () => {
    if (phase !== "uploading" && phase !== "failed-files") return;
    setPhase("cancelling");
    say("Cancelling the upload…");
    queue?.cancel();
    job?.stop();
    // Whatever was in flight has settled once the sending has returned.
    void sending.catch(() => undefined).then(async () => {
      job = null;
      rate.reset();
      connection.reset();
      if (resumed) {
        setPhase("editing");
        say("Upload stopped: nothing more is being sent. The job keeps its link; the button below sends what storage still lacks.");
        await compareWithJob();
      } else {
        list.resetStates();
        window.history.replaceState(null, "", "#/");
        setPhase("editing");
        say("Upload cancelled: nothing more is being sent. Your files are still listed; “Upload and start” sends them all again as a new job.");
      }
      announce("Upload cancelled.");
      startButton.focus();
    });
  });

  window.addEventListener("beforeunload", (event) => {
    if (phase === "uploading" || phase === "preparing" || phase === "submitting") event.preventDefault();
  });

  const showNewJobWords = () => {
    title.textContent = "Find the animals in your camera-trap photos";
    resumeBox.hidden = true;
    email.readOnly = false;
    email.placeholder = "";
  };

  redrawNow();

  /** The job this tab is sending (or submitting, or holding failed files of); none while files are edited. */
  const activeJob = () => (phase === "editing" || phase === "comparing" ? null : (job?.jobId ?? resumed?.jobId ?? null));

  return {
    activeJob,
    show() {
      byId("upload-view").hidden = false;
      byId("job-view").hidden = true;
      document.title = "Trapline — find the animals in your camera-trap photos";
      const active = activeJob();
      // The address bar keeps the link of the job this tab is sending.
      if (active) window.history.replaceState(null, "", jobLink(active));
      else if (resumed) {
        resumed = null;
        list.clear();
        report.replaceChildren();
        report.hidden = true;
        showNewJobWords();
        say("");
        redrawNow();
      }
    },
    resume(jobId, view) {
      byId("upload-view").hidden = false;
      byId("job-view").hidden = true;
      if (activeJob() === jobId) return;
      const saved = storage ? savedJob(storage, jobId) : null;
      resumed = { jobId, job: view, saved, extras: [], addExtras: false, complete: true, unsendable: [] };
      job = null;
      list.clear();
      report.replaceChildren();
      report.hidden = true;
      title.textContent = "Finish uploading your job";
      document.title = "Finish uploading — Trapline";
      resumeBox.hidden = false;
      describeResumed(resumed);
      email.value = saved?.email ?? "";
      email.placeholder = saved ? "" : "not known to this browser";
      emailError.textContent = "";
      setPhase("editing");
      say("");
    },
  };
}

/** "2 files are not photos (a.pdf, b.txt): …", worded for one, some or all of a pick. */
function notPhotosSentence(count: number, picked: number, names: string): string {
  const subject = count === picked ? (count === 1 ? "It is not a photo" : "None of them are photos") : `${plural(count, "file")} ${count === 1 ? "is not a photo" : "are not photos"}`;
  return `${subject} (${names}): results.xlsx would list ${count === 1 ? "it" : "them"} as unreadable. Remove ${count === 1 ? "it" : "them"}, or upload as is.`;
}
