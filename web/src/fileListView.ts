// The picked files as the page shows them, whatever their number: a summary line, a row per file
// for the first MAX_ROWS (state, bar, remove) and "…and N more", counts per folder once the rows
// do not show them all, and then every failed file with its reason in a list that draws only the
// rows in view. Redrawing touches only what changed, so it can run a few times a second.
import { byId, el, setBar } from "./dom.ts";
import { formatBytes, plural } from "./format.ts";
import type { PickedList } from "./pickedList.ts";
import { VirtualList } from "./virtualList.ts";

/** File rows drawn; the totals, the folders and the failures list count every file. */
export const MAX_ROWS = 200;
/** Folders listed before "…and N more folders". */
const MAX_FOLDERS = 50;
/** Height of one row of the failures list (styles.css .failed-row). */
const FAILED_ROW_PX = 52;

/** What the rows say depends on whether the list is being edited or sent. */
export type ListMode = "editing" | "sending";

interface Row {
  row: HTMLLIElement;
  name: HTMLElement;
  size: HTMLElement;
  state: HTMLElement;
  bar: HTMLElement;
  remove: HTMLButtonElement;
  /** What the row shows now, so an unchanged row is not touched. */
  shown: string;
}

export interface FileListView {
  draw(mode: ListMode): void;
}

export function createFileListView(list: PickedList, onRemove: (index: number) => void): FileListView {
  const panel = byId("file-panel");
  const summary = byId("file-summary-text");
  const rowsList = byId<HTMLUListElement>("file-list");
  const more = byId("file-list-more");
  const foldersBox = byId("folder-panel");
  const foldersList = byId<HTMLUListElement>("folder-list");
  const failedBox = byId("failed-panel");
  const failedTitle = byId("failed-title");
  const rows: Row[] = [];
  let failed: number[] = [];
  let failedSeen = -1;

  const failedList = new VirtualList(byId("failed-list"), FAILED_ROW_PX, (row, position) => {
    const index = failed[position];
    if (index === undefined) return;
    const name = list.shownName(index);
    const reason = list.reason(index) ?? "";
    if (row.dataset.index === String(index) && row.title === reason) return;
    row.dataset.index = String(index);
    row.className = "virtual-row failed-row";
    row.title = reason;
    row.replaceChildren(el("span", { className: "file-name", text: name }), el("span", { className: "failed-reason", text: reason }));
  });

  const newRow = (): Row => {
    const name = el("span", { className: "file-name" });
    const size = el("span", { className: "file-size" });
    const state = el("span", { className: "file-state" });
    const bar = el("div", { className: "bar", attrs: { role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" } }, [el("div", { className: "bar-fill" })]);
    const remove = el("button", { className: "link-button file-remove", text: "Remove", attrs: { type: "button" } });
    const row = el("li", { className: "file-row" }, [name, size, state, remove, bar]);
    const entry: Row = { row, name, size, state, bar, remove, shown: "" };
    remove.addEventListener("click", () => onRemove(Number(row.dataset.index)));
    return entry;
  };

  /** One row's words and look: [words, data-state]. */
  const rowState = (index: number, mode: ListMode): [string, string] => {
    const state = list.state(index);
    const notPhoto = list.notPhoto(index);
    if (state === "failed") return [`Failed — ${list.reason(index) ?? "unknown reason"}`, "failed"];
    if (state === "excluded") return [`Not sent — ${list.reason(index) ?? ""}`, "excluded"];
    if (notPhoto && mode === "editing" && state === "ready") return [`Not a photo: ${notPhoto}`, "not-photo"];
    if (state === "done") return ["Uploaded", "done"];
    if (state === "sending") return [`${Math.floor((100 * list.sent(index)) / Math.max(1, list.file(index).size))}%`, "active"];
    return mode === "editing" ? ["Ready", "ready"] : ["Waiting", "waiting"];
  };

  const drawRows = (mode: ListMode) => {
    const shown = Math.min(list.size, MAX_ROWS);
    while (rows.length < shown) rows.push(newRow());
    while (rowsList.children.length > shown) rowsList.lastElementChild!.remove();
    for (let index = 0; index < shown; index += 1) {
      const entry = rows[index]!;
      if (rowsList.children[index] !== entry.row) rowsList.insertBefore(entry.row, rowsList.children[index] ?? null);
      const name = list.shownName(index);
      const [words, kind] = rowState(index, mode);
      const key = `${name}\n${words}\n${kind}`;
      if (entry.shown === key) continue;
      entry.shown = key;
      entry.row.dataset.index = String(index);
      entry.row.dataset.state = kind;
      if (entry.name.textContent !== name) {
        entry.name.textContent = name;
        entry.name.title = name;
        entry.size.textContent = formatBytes(list.file(index).size);
        entry.bar.setAttribute("aria-label", `${name} upload`);
        entry.remove.setAttribute("aria-label", `Remove ${name}`);
      }
      entry.state.textContent = words;
      const size = list.file(index).size;
      setBar(entry.bar, list.state(index) === "done" ? 1 : size > 0 ? list.sent(index) / size : 0, words);
    }
    // Beyond MAX_ROWS the folders are listed too (drawFolders).
    more.hidden = list.size <= MAX_ROWS;
    more.textContent = `…and ${plural(list.size - MAX_ROWS, "more file")} (counted in the totals and per folder below).`;
  };

  const drawFolders = () => {
    foldersBox.hidden = list.size <= MAX_ROWS;
    if (foldersBox.hidden) return;
    const folders = list.folders();
    const items = folders.slice(0, MAX_FOLDERS).map(({ folder, files, bytes, done, failed: failures }) => {
      const parts = [plural(files, "file"), formatBytes(bytes)];
      if (done > 0) parts.push(`${done.toLocaleString("en")} uploaded`);
      if (failures > 0) parts.push(`${failures.toLocaleString("en")} failed`);
      return el("li", { className: "folder-row" }, [el("span", { className: "file-name", text: folder === "" ? "(top level)" : `${folder}/` }), el("span", { className: "folder-counts", text: parts.join(" · ") })]);
    });
    if (folders.length > MAX_FOLDERS) items.push(el("li", { className: "folder-row hint", text: `…and ${plural(folders.length - MAX_FOLDERS, "more folder")}.` }));
    foldersList.replaceChildren(...items);
  };

  const drawFailed = () => {
    const count = list.count("failed");
    // The rows show each file's failure while they show every file; beyond that, this list does.
    failedBox.hidden = count === 0 || list.size <= MAX_ROWS;
    if (failedBox.hidden) return;
    if (list.failuresVersion !== failedSeen) {
      failedSeen = list.failuresVersion;
      failed = list.indicesIn("failed");
      failedTitle.textContent = `${plural(count, "file")} did not upload`;
      failedList.setCount(failed.length);
    } else failedList.refresh();
  };

  return {
    draw(mode) {
      panel.hidden = list.size === 0;
      const parts = [plural(list.size, "file"), formatBytes(list.bytes)];
      const folder = list.folder();
      if (folder !== null) parts.push(`from the folder “${folder}”`);
      const others = mode === "editing" ? list.notPhotoCount() : 0;
      if (others > 0) parts.push(`${others.toLocaleString("en")} not ${others === 1 ? "a photo" : "photos"}`);
      summary.textContent = parts.join(" · ");
      drawRows(mode);
      drawFolders();
      drawFailed();
    },
  };
}
