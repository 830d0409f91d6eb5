// The results of a finished job on its page (issue 13): counts per category and folder, a
// gallery of previews with filters (category, folder, lowest confidence, order) kept in the
// link after "?" so a reload or a shared link opens the same view, a larger view with the
// keyboard's left and right arrows, the blank check in its own tab, and the activity chart and
// camera map (the same SVG as report.html, core/results/charts.ts).
// Bounded: the gallery asks for GALLERY_PAGE items at a time and holds at most GALLERY_MAX_ITEMS
// cards; beyond that it says how to see the rest (the zip's report and spreadsheet).
import { activityChartSvg, cameraMapSvg, categoryColor } from "../../core/results/charts.ts";
import { BLANK_CATEGORY, type BrowseItem, type BrowseSummary } from "../../functions/wire.ts";
import type { Api } from "./api.ts";
import { el } from "./dom.ts";

export const GALLERY_PAGE = 60;
export const GALLERY_MAX_ITEMS = 2_000;

export interface GalleryFilters {
  tab: "detections" | "blank";
  category: string;
  folder: string;
  minConf: string;
  sort: "time" | "confidence";
  /** One burst's frames (the results route's event= filter); "" for all. */
  event: string;
}

export function filtersOf(query: string | undefined): GalleryFilters {
  const params = new URLSearchParams(query ?? "");
  return {
    tab: params.get("tab") === "blank" ? "blank" : "detections",
    category: params.get("category") ?? "",
    folder: params.get("folder") ?? "",
    minConf: params.get("minConf") ?? "",
    sort: params.get("sort") === "confidence" ? "confidence" : "time",
    event: params.get("event") ?? "",
  };
}

export function queryOf(filters: GalleryFilters): string {
  const params = new URLSearchParams();
  if (filters.tab === "blank") params.set("tab", "blank");
  if (filters.category) params.set("category", filters.category);
  if (filters.folder) params.set("folder", filters.folder);
  if (filters.minConf) params.set("minConf", filters.minConf);
  if (filters.sort !== "time") params.set("sort", filters.sort);
  if (filters.event) params.set("event", filters.event);
  return params.toString();
}

const percent = (conf: number) => `${Math.round(conf * 100)} %`;
const when = (item: BrowseItem) => (item.datetime ? item.datetime.replace("T", " ") : "no date");

export interface Gallery {
  show(jobId: string, query: string | undefined): void;
  hide(): void;
}

export function createGallery(api: Api, root: HTMLElement): Gallery {
  let jobId = "";
  let summary: BrowseSummary | null = null;
  let filters = filtersOf(undefined);
  let items: BrowseItem[] = [];
  let cursor: string | undefined;
  let loading: AbortController | null = null;
  let viewing = -1;

  const heading = el("h2", { text: "What your cameras caught", attrs: { id: "results-title" } });
  const counts = el("ul", { className: "result-counts", attrs: { "aria-label": "Photos per category" } });
  const note = el("p", { className: "hint", attrs: { id: "results-note" } });
  const tabDetections = el("button", { text: "With a detection", attrs: { type: "button", role: "tab", id: "tab-detections", "aria-controls": "gallery-grid" } });
  const tabBlank = el("button", { text: "Blank check", attrs: { type: "button", role: "tab", id: "tab-blank", "aria-controls": "gallery-grid" } });
  const tabs = el("div", { className: "gallery-tabs", attrs: { role: "tablist", "aria-label": "Which photos" } }, [tabDetections, tabBlank]);
  const blankNote = el("p", { className: "hint", attrs: { id: "blank-note" } });
  const category = el("select", { attrs: { id: "filter-category" } });
  const folder = el("select", { attrs: { id: "filter-folder" } });
  const minConf = el("select", { attrs: { id: "filter-confidence" } });
  const sort = el("select", { attrs: { id: "filter-sort" } });
  for (const [value, text] of [["", "Any"], ["0.5", "50 % or more"], ["0.8", "80 % or more"], ["0.95", "95 % or more"]] as const) minConf.append(el("option", { text, attrs: { value } }));
  for (const [value, text] of [["time", "By time"], ["confidence", "Most confident first"]] as const) sort.append(el("option", { text, attrs: { value } }));
  const field = (label: string, control: HTMLElement) => el("div", { className: "filter" }, [el("label", { text: label, attrs: { for: control.id } }), control]);
  const form = el("form", { className: "gallery-filters", attrs: { "aria-label": "Filter the photos" } }, [
    field("Category", category),
    field("Folder", folder),
    field("Confidence", minConf),
    field("Order", sort),
  ]);
  // A burst opened from the larger view: its frames alone, until "Show all photos".
  const eventText = el("span");
  const allPhotos = el("button", { className: "button button-secondary", text: "Show all photos", attrs: { type: "button", id: "event-clear" } });
  const eventNote = el("p", { className: "hint", attrs: { id: "event-note" } }, [eventText, allPhotos]);
  eventNote.hidden = true;
  const status = el("p", { className: "hint", attrs: { id: "gallery-status", "aria-live": "polite" } });
  const grid = el("ul", { className: "gallery-grid", attrs: { id: "gallery-grid", role: "tabpanel" } });
  const more = el("button", { className: "button button-secondary", text: "Show more photos", attrs: { type: "button", id: "gallery-more" } });
  const viewerTitle = el("h3", { attrs: { id: "viewer-title" } });
  const viewerImage = el("img", { attrs: { id: "viewer-image", alt: "" } });
  const viewerDetails = el("div", { className: "viewer-details", attrs: { id: "viewer-details" } });
  const prev = el("button", { className: "button button-secondary", text: "← Previous", attrs: { type: "button", id: "viewer-prev" } });
  const next = el("button", { className: "button button-secondary", text: "Next →", attrs: { type: "button", id: "viewer-next" } });
  const close = el("button", { className: "button button-secondary", text: "Close", attrs: { type: "button", id: "viewer-close" } });
  const viewer = el("dialog", { className: "viewer", attrs: { id: "viewer", "aria-labelledby": "viewer-title" } }, [
    el("div", { className: "viewer-bar" }, [viewerTitle, prev, next, close]),
    viewerImage,
    viewerDetails,
  ]);
  const chart = el("figure", { className: "result-figure", attrs: { id: "activity-chart" } });
  const map = el("figure", { className: "result-figure", attrs: { id: "camera-map" } });
  root.replaceChildren(
    heading,
    counts,
    note,
    tabs,
    blankNote,
    form,
    eventNote,
    status,
    grid,
    more,
    viewer,
    el("h3", { text: "Activity over the day" }),
    chart,
    el("h3", { text: "Cameras" }),
    map,
  );

  const writeLink = () => {
    const base = `#/jobs/${jobId}`;
    const query = queryOf(filters);
    window.history.replaceState(null, "", query ? `${base}?${query}` : base);
  };

  const card = (item: BrowseItem, index: number): HTMLLIElement => {
    const words = item.detections.length > 0 ? item.detections.map((d) => `${d.species ?? d.label} ${percent(d.conf)}`).join(", ") : "judged empty";
    const button = el("button", { className: "gallery-card", attrs: { type: "button", "aria-label": `${item.file}: ${words}, ${when(item)}` } });
    if (item.previewUrl) {
      button.append(el("img", { attrs: { src: item.previewUrl, alt: "", loading: "lazy", width: "800", height: "600" } }));
    } else {
      button.append(el("span", { className: "gallery-missing", text: item.previewError ?? "No preview for this photo." }));
    }
    const top = item.detections[0];
    const caption = el("span", { className: "gallery-caption" }, [
      ...(top ? [el("span", { className: "swatch", attrs: { style: `background:${categoryColor(top.category)}`, "aria-hidden": "true" } }), `${top.species ?? top.label} ${percent(top.conf)} · `] : []),
      when(item),
      ...(item.eventFrames && item.eventFrames > 1 ? [` · ${item.eventFrames} frames`] : []),
    ]);
    button.append(caption);
    button.addEventListener("click", () => open(index));
    return el("li", {}, [button]);
  };

  const load = async (reset: boolean) => {
    loading?.abort();
    const controller = new AbortController();
    loading = controller;
    if (reset) {
      items = [];
      cursor = undefined;
      grid.replaceChildren();
    }
    more.hidden = true;
    status.textContent = "Loading photos…";
    const query: Record<string, string> = { limit: String(GALLERY_PAGE), sort: filters.sort };
    if (filters.tab === "blank") query.category = BLANK_CATEGORY;
    else if (filters.category) query.category = filters.category;
    if (filters.folder) query.folder = filters.folder;
    if (filters.tab !== "blank" && filters.minConf) query.minConf = filters.minConf;
    if (filters.event) query.event = filters.event;
    eventNote.hidden = !filters.event;
    eventText.textContent = filters.event ? `Showing the frames of one burst (event ${filters.event}) that have a detection or were sampled. ` : "";
    try {
      // A narrow filter may answer an empty page with a cursor: read on a few times before asking the user.
      let tries = 0;
      let added = 0;
      do {
        const page = await api.getImages(jobId, cursor ? { ...query, cursor } : query, controller.signal);
        if (controller.signal.aborted) return;
        for (const item of page.images) grid.append(card(item, items.push(item) - 1));
        added += page.images.length;
        cursor = page.cursor;
        tries += 1;
      } while (cursor && added === 0 && tries < 5);
      const full = items.length >= GALLERY_MAX_ITEMS;
      more.hidden = !cursor || full;
      status.textContent =
        items.length === 0
          ? filters.tab === "blank"
            ? "No photo was sampled for the blank check."
            : "No photos match these filters."
          : `${items.length} photo${items.length === 1 ? "" : "s"} shown${cursor ? (full ? "; the report and results.xlsx in the zip list the rest" : "; more below") : ""}.`;
    } catch (error) {
      if (controller.signal.aborted) return;
      status.textContent = `The photos could not be loaded: ${(error as Error).message}`;
      more.hidden = !cursor;
    } finally {
      if (loading === controller) loading = null;
    }
  };

  const open = (index: number) => {
    if (items.length === 0) return;
    viewing = (index + items.length) % items.length;
    const item = items[viewing]!;
    viewerTitle.textContent = `${viewing + 1} of ${items.length}${cursor ? "+" : ""}: ${item.file}`;
    viewerImage.hidden = !item.previewUrl;
    if (item.previewUrl) {
      viewerImage.src = item.previewUrl;
      viewerImage.alt = `Preview of ${item.file} with its boxes drawn`;
    }
    const list = el(
      "ul",
      { attrs: { "aria-label": "Detections" } },
      item.detections.map((d) => el("li", {}, [el("span", { className: "swatch", attrs: { style: `background:${categoryColor(d.category)}`, "aria-hidden": "true" } }), `${d.species ? `${d.species} (${d.label})` : d.label}: ${percent(d.conf)}`])),
    );
    viewerDetails.replaceChildren(
      el("p", { text: `${when(item)} · camera ${item.camera}${item.event ? ` · event ${item.event} (${item.eventFrames ?? 1} frame${item.eventFrames === 1 ? "" : "s"})` : ""}` }),
      item.detections.length > 0 ? list : el("p", { text: `Judged empty: no box reached ${percent(summary?.renderThreshold ?? 0)}.` }),
      ...(item.moreDetections ? [el("p", { text: `${item.moreDetections} more boxes are in results.xlsx.` })] : []),
      ...(item.event && (item.eventFrames ?? 1) > 1 && filters.event !== item.event ? [burstButton(item.event, item.eventFrames!)] : []),
    );
    if (!viewer.open) viewer.showModal();
    // Near the end of what is loaded: fetch the next page so the arrows keep going.
    if (viewing >= items.length - 3 && cursor && !loading && items.length < GALLERY_MAX_ITEMS) void load(false);
  };

  viewer.addEventListener("keydown", (event) => {
    if (event.key === "ArrowLeft") open(viewing - 1);
    else if (event.key === "ArrowRight") open(viewing + 1);
    else return;
    event.preventDefault();
  });
  prev.addEventListener("click", () => open(viewing - 1));
  next.addEventListener("click", () => open(viewing + 1));
  close.addEventListener("click", () => viewer.close());
  more.addEventListener("click", () => void load(false));

  const setTab = (tab: GalleryFilters["tab"]) => {
    filters.tab = tab;
    tabDetections.setAttribute("aria-selected", String(tab === "detections"));
    tabBlank.setAttribute("aria-selected", String(tab === "blank"));
    grid.setAttribute("aria-labelledby", tab === "blank" ? "tab-blank" : "tab-detections");
    blankNote.hidden = tab !== "blank";
    category.disabled = tab === "blank";
    minConf.disabled = tab === "blank";
  };
  /** Opens one burst: the gallery shows its frames alone (the link says so too). */
  const burstButton = (event: string, frames: number) => {
    const button = el("button", { className: "button button-secondary", text: `Show this burst's frames (${frames} in all)`, attrs: { type: "button", id: "viewer-burst" } });
    button.addEventListener("click", () => {
      viewer.close();
      filters = { ...filters, event };
      writeLink();
      void load(true);
    });
    return button;
  };
  allPhotos.addEventListener("click", () => {
    filters = { ...filters, event: "" };
    writeLink();
    void load(true);
  });
  const changed = () => {
    filters = { ...filters, category: category.value, folder: folder.value, minConf: minConf.value, sort: sort.value === "confidence" ? "confidence" : "time" };
    writeLink();
    void load(true);
  };
  for (const control of [category, folder, minConf, sort]) control.addEventListener("change", changed);
  form.addEventListener("submit", (event) => event.preventDefault());
  for (const [button, tab] of [[tabDetections, "detections"], [tabBlank, "blank"]] as const) {
    button.addEventListener("click", () => {
      setTab(tab);
      writeLink();
      void load(true);
    });
  }

  const fill = (s: BrowseSummary) => {
    const ids = Object.keys(s.categories).sort((a, b) => Number(a) - Number(b));
    counts.replaceChildren(
      ...ids.map((id) =>
        el("li", {}, [el("span", { className: "swatch", attrs: { style: `background:${categoryColor(id)}`, "aria-hidden": "true" } }), `${s.categories[id]}: `, el("strong", { text: String(s.perCategory[id] ?? 0) })]),
      ),
      el("li", {}, ["empty: ", el("strong", { text: String(s.empty) })]),
      ...(s.failed ? [el("li", {}, ["could not be read: ", el("strong", { text: String(s.failed) })])] : []),
    );
    const threshold = percent(s.renderThreshold);
    note.textContent =
      s.withDetections === 0
        ? `Nothing was detected at ${threshold} confidence or more in ${s.images} photos. The blank check shows a sample of them: look there for animals the threshold missed.`
        : `${s.withDetections} of ${s.images} photos have an animal, person or vehicle at ${threshold} confidence or more, in ${s.events} event${s.events === 1 ? "" : "s"}.${s.previewsFailed ? ` ${s.previewsFailed} preview${s.previewsFailed === 1 ? "" : "s"} could not be made.` : ""}`;
    tabBlank.textContent = `Blank check (${s.blankSample})`;
    blankNote.textContent = `A sample of the photos judged empty (no box reached ${threshold}), chosen at random. If you see animals here, the threshold hides them: run the photos again with a lower one (trapline process --threshold, or the job option renderThreshold).`;
    category.replaceChildren(el("option", { text: "All categories", attrs: { value: "" } }), ...ids.filter((id) => (s.perCategory[id] ?? 0) > 0).map((id) => el("option", { text: s.categories[id] ?? id, attrs: { value: id } })));
    folder.replaceChildren(el("option", { text: "All folders", attrs: { value: "" } }), ...s.folders.map((f) => el("option", { text: `${f.folder} (${f.withDetections} of ${f.images})`, attrs: { value: f.folder } })));
    // Built from the summary's numbers and escaped names (core/results/charts.ts), never from raw input.
    chart.innerHTML = activityChartSvg(s);
    map.innerHTML = cameraMapSvg(s);
  };

  return {
    show(id, query) {
      root.hidden = false;
      const again = id === jobId && summary !== null;
      jobId = id;
      filters = filtersOf(query);
      const apply = () => {
        category.value = filters.category;
        folder.value = filters.folder;
        minConf.value = filters.minConf;
        sort.value = filters.sort;
      };
      if (again) return;
      status.textContent = "Loading the results…";
      api.getSummary(id).then(
        (s) => {
          if (jobId !== id) return;
          summary = s;
          fill(s);
          // A job with nothing detected opens on its blank check, unless the link says otherwise.
          if (s.withDetections === 0 && !query) filters.tab = "blank";
          setTab(filters.tab);
          apply();
          void load(true);
        },
        (error: unknown) => {
          status.textContent = `The results could not be loaded: ${(error as Error).message}`;
        },
      );
    },
    hide() {
      loading?.abort();
      root.hidden = true;
      jobId = "";
      summary = null;
      if (viewer.open) viewer.close();
    },
  };
}
