// The upload page: email, files (drop, pick, folders, zips), the list with per-file and total
// progress, cancel, retry, and Submit once everything has arrived in storage. Files that are
// not photos are flagged as they are picked; folders of the same name each get their own.
import { emailProblem } from "../../core/email.ts";
import { ApiError, type Api } from "./api.ts";
import { announce, byId, el, setBar } from "./dom.ts";
import { notPhotoReason } from "./fileKinds.ts";
import { formatBytes, formatDuration, formatSpeed, plural } from "./format.ts";
import { createImagesChoice } from "./imagesChoice.ts";
import { filesFromDrop, filesFromInput, type Picked } from "./pickedFiles.ts";
import { placePick, singleFolder } from "./pickedNames.ts";
import { TransferRate } from "./transferRate.ts";
import { createUploader, filesToSend, listedPath, uploadErrorMessage, uploadNames, type TrapUppy } from "./uploader.ts";

/** Rows drawn in the list; totals always count every file. Keeps huge cards responsive. */
const MAX_ROWS = 500;
const REDRAW_MS = 250;
/** The totals are redrawn this often while uploading, so a stall shows even when no event comes. */
const TOTALS_TICK_MS = 1_000;
/** Names quoted in a message before "…". */
const NAMES_QUOTED = 3;

type Phase = "editing" | "preparing" | "uploading" | "failed-files" | "submitting" | "cancelling";

export interface UploadPage {
  show(): void;
}

export function createUploadPage(api: Api, openJob: (jobId: string) => void): UploadPage {
  const form = byId<HTMLFormElement>("upload-form");
  const email = byId<HTMLInputElement>("email");
  const emailError = byId("email-error");
  const dropzone = byId("dropzone");
  const pickFiles = byId<HTMLInputElement>("pick-files");
  const pickFolder = byId<HTMLInputElement>("pick-folder");
  const filePanel = byId("file-panel");
  const summary = byId("file-summary-text");
  const clearButton = byId<HTMLButtonElement>("clear-files");
  const removeOthersButton = byId<HTMLButtonElement>("remove-not-photos");
  const list = byId<HTMLUListElement>("file-list");
  const more = byId("file-list-more");
  const totalBox = byId("total-progress");
  const totalBar = byId("total-bar");
  const totalPercent = byId("total-percent");
  const totalDetail = byId("total-detail");
  const message = byId("upload-message");
  const startButton = byId<HTMLButtonElement>("start-upload");
  const retryButton = byId<HTMLButtonElement>("retry-failed");
  const cancelButton = byId<HTMLButtonElement>("cancel-upload");
  const imagesChoice = createImagesChoice(byId("images-choice"));

  const uploader = createUploader(api);
  const uppy: TrapUppy = uploader.uppy;
  const rate = new TransferRate();
  const errors = new Map<string, string>();
  const rows = new Map<string, { row: HTMLLIElement; name: HTMLElement; state: HTMLElement; bar: HTMLElement; remove: HTMLElement }>();
  let phase: Phase = "editing";
  let jobId: string | null = null;
  let emailTouched = false;
  let redrawTimer = 0;
  let totalsTimer = 0;

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

  // ---- adding files ---------------------------------------------------------------------

  /** Why a listed file will not be read as a photo, or null. */
  const notPhotoOf = (file: { name?: string; type?: string; size: number | null }) => notPhotoReason(file.name ?? "", file.type ?? "", file.size ?? 0);
  const quoted = (names: string[]) => `${names.slice(0, NAMES_QUOTED).join(", ")}${names.length > NAMES_QUOTED ? "…" : ""}`;

  const addPicked = ({ files, skipped }: Picked) => {
    if (phase !== "editing") return;
    const listed = uppy.getFiles().map((file) => ({ path: listedPath(file), size: file.size ?? 0, lastModified: (file.data as File).lastModified }));
    const incoming = files.map(({ file, relativePath }) => ({ path: relativePath || file.name, size: file.size, lastModified: file.lastModified }));
    const placed = placePick(listed, incoming);
    const before = uppy.getFiles().length;
    uppy.addFiles(
      files.map(({ file }, index) => ({
        name: file.name,
        type: file.type,
        data: file,
        meta: { name: file.name, type: file.type, relativePath: placed.paths[index]! },
        source: "local",
        isRemote: false,
      })),
    );
    const added = uppy.getFiles().length - before;
    const notes: string[] = [`Added ${plural(added, "file")}.`];
    if (added < files.length) notes.push(`${plural(files.length - added, "file")} already in the list.`);
    for (const { from, to } of placed.renamed) notes.push(`“${from}” is already in the list, so this one is listed as “${to}”.`);
    const others = files.filter(({ file }) => notPhotoOf(file) !== null).map(({ file }) => file.name);
    if (others.length > 0) notes.push(notPhotosSentence(others.length, files.length, quoted(others)));
    if (skipped.length > 0) notes.push(`Skipped ${plural(skipped.length, "system file")} (${quoted(skipped)}).`);
    say(notes.join(" "));
    announce(notes.join(" "));
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
    uppy.clear();
    errors.clear();
    say("");
    announce("All files removed.");
    redraw();
  });

  removeOthersButton.addEventListener("click", () => {
    const others = uppy.getFiles().filter((file) => notPhotoOf(file) !== null);
    uppy.removeFiles(others.map((file) => file.id));
    say(`Removed ${plural(others.length, "file")} that ${others.length === 1 ? "is not a photo" : "are not photos"}.`);
    announce(`Removed ${plural(others.length, "file")}.`);
    redraw();
    clearButton.focus();
  });

  // ---- the list -------------------------------------------------------------------------

  const rowFor = (id: string) => {
    const existing = rows.get(id);
    if (existing) return existing;
    const file = uppy.getFile(id);
    const name = el("span", { className: "file-name" });
    const state = el("span", { className: "file-state" });
    const bar = el("div", { className: "bar", attrs: { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" } }, [el("div", { className: "bar-fill" })]);
    const remove = el("button", { className: "link-button file-remove", text: "Remove", attrs: { type: "button" } });
    remove.addEventListener("click", () => {
      uppy.removeFile(id);
      redraw();
      clearButton.focus();
    });
    const row = el("li", { className: "file-row" }, [name, el("span", { className: "file-size", text: formatBytes(file.size ?? 0) }), state, remove, bar]);
    const entry = { row, name, state, bar, remove };
    rows.set(id, entry);
    return entry;
  };

  const drawFiles = () => {
    const files = uppy.getFiles();
    filePanel.hidden = files.length === 0;
    const totalBytes = files.reduce((sum, file) => sum + (file.size ?? 0), 0);
    // The names change as folders come and go (one folder: paths inside it), so they are redrawn.
    const names = uploadNames(uppy);
    const folder = singleFolder(files.map(listedPath));
    const others = files.filter((file) => notPhotoOf(file) !== null).length;
    const parts = [plural(files.length, "file"), formatBytes(totalBytes)];
    if (folder !== null) parts.push(`from the folder “${folder}”`);
    if (others > 0) parts.push(`${others.toLocaleString("en")} not ${others === 1 ? "a photo" : "photos"}`);
    summary.textContent = parts.join(" · ");
    imagesChoice.showEstimates(totalBytes);
    clearButton.hidden = phase !== "editing";
    removeOthersButton.hidden = phase !== "editing" || others === 0;

    const shown = files.slice(0, MAX_ROWS);
    const shownIds = new Set(shown.map((file) => file.id));
    for (const [id, entry] of rows) {
      if (!shownIds.has(id)) {
        entry.row.remove();
        rows.delete(id);
      }
    }
    shown.forEach((file, index) => {
      const { row, name, state, bar, remove } = rowFor(file.id);
      if (list.children[index] !== row) list.insertBefore(row, list.children[index] ?? null);
      const shownName = names.get(file.id) ?? listedPath(file);
      if (name.textContent !== shownName) {
        name.textContent = shownName;
        name.title = shownName;
        bar.setAttribute("aria-label", `${shownName} upload`);
        remove.setAttribute("aria-label", `Remove ${shownName}`);
      }
      const sent = file.progress.bytesUploaded || 0;
      const size = file.size ?? 0;
      const error = errors.get(file.id);
      const notPhoto = notPhotoOf(file);
      let words = "Ready";
      let kind = "ready";
      if (error) [words, kind] = [`Failed — ${error}`, "failed"];
      else if (notPhoto && phase === "editing") [words, kind] = [`Not a photo: ${notPhoto}`, "not-photo"];
      else if (file.progress.uploadComplete) [words, kind] = ["Uploaded", "done"];
      else if (file.progress.uploadStarted) [words, kind] = [`${Math.floor(file.progress.percentage ?? 0)}%`, "active"];
      else if (phase !== "editing") [words, kind] = ["Waiting", "waiting"];
      if (state.textContent !== words) state.textContent = words;
      row.dataset.state = kind;
      setBar(bar, file.progress.uploadComplete ? 1 : size > 0 ? sent / size : 0, words);
    });
    more.hidden = files.length <= MAX_ROWS;
    more.textContent = `…and ${plural(files.length - MAX_ROWS, "more file")} (included in the totals).`;
  };

  const drawTotals = () => {
    const files = uppy.getFiles();
    const totalBytes = files.reduce((sum, file) => sum + (file.size ?? 0), 0);
    const sentBytes = files.reduce((sum, file) => sum + (file.progress.uploadComplete ? (file.size ?? 0) : file.progress.bytesUploaded || 0), 0);
    const active = phase === "uploading" || phase === "failed-files" || phase === "submitting";
    totalBox.classList.toggle("is-active", files.length > 0);
    totalBox.setAttribute("aria-hidden", files.length > 0 ? "false" : "true");
    if (!active) {
      totalPercent.textContent = "Ready";
      totalDetail.textContent = `${formatBytes(totalBytes)} to upload`;
      setBar(totalBar, 0, "Not started");
      return;
    }
    const fraction = totalBytes > 0 ? sentBytes / totalBytes : 1;
    const now = Date.now();
    const speed = phase === "uploading" ? rate.sample(sentBytes, now) : 0;
    const left = rate.secondsLeft(totalBytes - sentBytes);
    const stalled = phase === "uploading" && sentBytes < totalBytes ? rate.stalledFor(now) : 0;
    const done = files.filter((file) => file.progress.uploadComplete).length;
    totalPercent.textContent = `${Math.floor(fraction * 100)}%`;
    const parts = [`${formatBytes(sentBytes)} of ${formatBytes(totalBytes)}`, `${done} of ${plural(files.length, "file")}`];
    if (stalled > 0) {
      const quiet = `nothing sent for ${formatDuration(stalled / 1000)}`;
      parts.push(navigator.onLine ? `stalled: ${quiet}, still trying` : `offline: ${quiet}, waiting for the connection`);
    } else {
      if (phase === "uploading" && speed > 0) parts.push(formatSpeed(speed));
      if (phase === "uploading" && left !== null && sentBytes < totalBytes) parts.push(`about ${formatDuration(left)} left`);
    }
    totalBox.classList.toggle("is-stalled", stalled > 0);
    totalDetail.textContent = parts.join(" · ");
    setBar(totalBar, fraction, `${Math.floor(fraction * 100)}% uploaded`);
  };

  const drawControls = () => {
    const busy = phase === "preparing" || phase === "uploading" || phase === "submitting" || phase === "cancelling";
    startButton.disabled = busy;
    startButton.textContent = {
      editing: "Upload and start",
      preparing: "Preparing…",
      uploading: "Uploading…",
      "failed-files": "Upload and start",
      submitting: "Submitting…",
      cancelling: "Cancelling…",
    }[phase];
    startButton.hidden = phase === "failed-files";
    retryButton.hidden = phase !== "failed-files";
    cancelButton.hidden = !(phase === "uploading" || phase === "failed-files");
    email.readOnly = phase !== "editing";
    pickFiles.disabled = phase !== "editing";
    pickFolder.disabled = phase !== "editing";
    imagesChoice.setLocked(phase !== "editing");
    dropzone.classList.toggle("dropzone-locked", phase !== "editing");
  };

  function redraw() {
    if (redrawTimer !== 0) return;
    redrawTimer = window.setTimeout(() => {
      redrawTimer = 0;
      drawFiles();
      drawTotals();
      drawControls();
    }, REDRAW_MS);
  }

  const redrawNow = () => {
    window.clearTimeout(redrawTimer);
    redrawTimer = 0;
    drawFiles();
    drawTotals();
    drawControls();
  };

  uppy.on("upload-progress", redraw);
  uppy.on("upload-success", redraw);
  uppy.on("upload-error", (file, error) => {
    if (file) errors.set(file.id, uploadErrorMessage(error));
    redraw();
  });
  uppy.on("upload-retry", (file) => {
    if (file) errors.delete(file.id);
    redraw();
  });

  // ---- upload, retry, cancel, submit ----------------------------------------------------

  const setPhase = (next: Phase) => {
    phase = next;
    window.clearInterval(totalsTimer);
    if (phase === "uploading") totalsTimer = window.setInterval(drawTotals, TOTALS_TICK_MS);
    redrawNow();
  };

  const afterUploads = async () => {
    const failed = uppy.getFiles().filter((file) => errors.has(file.id) || !file.progress.uploadComplete);
    if (phase !== "uploading") return; // cancelled meanwhile
    if (failed.length > 0) {
      setPhase("failed-files");
      say(`${plural(failed.length, "file")} did not upload. Check your connection and press “Retry failed files”; the others are safe in storage.`, "error");
      announce(`${plural(failed.length, "file")} did not upload.`);
      retryButton.focus();
      return;
    }
    await submit();
  };

  const submit = async () => {
    if (!jobId) return;
    setPhase("submitting");
    say("All files uploaded. Submitting the job…");
    try {
      await api.submitJob(jobId);
      const submitted = jobId;
      resetAfterSubmit();
      openJob(submitted);
    } catch (error) {
      setPhase("failed-files");
      retryButton.hidden = true;
      startButton.hidden = false;
      startButton.textContent = "Submit again";
      say(`The files are uploaded but the job could not be submitted: ${(error as Error).message}`, "error");
      startButton.focus();
    }
  };

  const resetAfterSubmit = () => {
    uppy.clear();
    errors.clear();
    jobId = null;
    rate.reset();
    phase = "editing";
    say("");
    redrawNow();
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (phase === "failed-files" && jobId && uppy.getFiles().every((file) => file.progress.uploadComplete)) {
      void submit();
      return;
    }
    if (phase !== "editing") return;
    emailTouched = true;
    if (!checkEmail(true)) {
      email.focus();
      return;
    }
    const ids = uppy.getFiles().map((file) => file.id);
    if (ids.length === 0) {
      say("Add at least one photo, folder or zip first.", "error");
      dropzone.querySelector<HTMLElement>("label.button")?.focus();
      return;
    }
    void start(ids);
  });

  const start = async (ids: string[]) => {
    setPhase("preparing");
    say("Preparing the upload…");
    try {
      const job = await api.createJob(email.value.trim(), filesToSend(uppy, ids), { images: imagesChoice.value() });
      jobId = job.jobId;
      rate.reset();
      errors.clear();
      setPhase("uploading");
      say(`Uploading ${plural(ids.length, "file")}. Keep this page open until it says the job is submitted.`);
      announce("Upload started.");
      await uploader.start(job, ids);
      await afterUploads();
    } catch (error) {
      if (phase === "cancelling" || phase === "editing") return; // cancelled meanwhile: cancel has the last word
      setPhase("editing");
      const text = error instanceof ApiError || error instanceof Error ? error.message : String(error);
      if (error instanceof ApiError && /email/i.test(`${error.code} ${error.message}`)) {
        emailError.textContent = text;
        email.setAttribute("aria-invalid", "true");
        email.focus();
        say("");
      } else {
        say(text, "error");
        startButton.focus();
      }
    }
  };

  retryButton.addEventListener("click", () => {
    // retryAll emits no per-file retry event; every failed file starts clean.
    errors.clear();
    setPhase("uploading");
    say("Retrying the files that failed…");
    uploader.retry().then(afterUploads, (error: unknown) => say(uploadErrorMessage(error), "error"));
  });

  // Cancel stops every transfer and forgets the job; the files stay listed, and "Upload and
  // start" sends them all again as a new job (the cancelled one is left to expire).
  cancelButton.addEventListener("click", () => {
    if (phase !== "uploading" && phase !== "failed-files") return;
    setPhase("cancelling");
    say("Cancelling the upload…");
    void uploader.cancel().then(() => {
      errors.clear();
      jobId = null;
      rate.reset();
      setPhase("editing");
      say("Upload cancelled: nothing more is being sent. Your files are still listed; “Upload and start” sends them all again as a new job.");
      announce("Upload cancelled.");
      startButton.focus();
    });
  });

  window.addEventListener("beforeunload", (event) => {
    if (phase === "uploading" || phase === "preparing" || phase === "submitting") event.preventDefault();
  });

  redrawNow();

  return {
    show() {
      byId("upload-view").hidden = false;
      byId("job-view").hidden = true;
      document.title = "Trapline — find the animals in your camera-trap photos";
    },
  };
}

/** "2 files are not photos (a.pdf, b.txt): …", worded for one, some or all of a pick. */
function notPhotosSentence(count: number, picked: number, names: string): string {
  const subject = count === picked ? (count === 1 ? "It is not a photo" : "None of them are photos") : `${plural(count, "file")} ${count === 1 ? "is not a photo" : "are not photos"}`;
  return `${subject} (${names}): results.xlsx would list ${count === 1 ? "it" : "them"} as unreadable. Remove ${count === 1 ? "it" : "them"}, or upload as is.`;
}
