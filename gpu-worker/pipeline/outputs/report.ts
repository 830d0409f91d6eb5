// report.html (issue 13): one self-contained page in the results zip that shows what the cameras
// caught without a server or a network: the summary, the activity chart and camera map (the
// same SVG as the job page, core/results/charts.ts), and a gallery of the previews, referenced by
// their relative path inside the unzipped folder. Inline CSS and JS only; nothing is fetched.
//
// Bounded: the gallery holds at most REPORT_MAX_ITEMS photos with a detection (most confident
// first) and REPORT_MAX_BLANK of the blank check, whatever the job's size; the page says when
// more exist (results.xlsx lists every photo).
import { activityChartSvg, cameraMapSvg, categoryColor, escapeXml } from "../../../core/results/charts.ts";
import type { BrowseItem, BrowseSummary } from "../../../core/results/browse.ts";
import type { ImageResult, RunInfo } from "../types.ts";
import { RESULTS_REPORT, RESULTS_WORKBOOK } from "../zipLayout.ts";
import { ALL_VIEW, BLANK_VIEW, buildBrowse, type BrowseBuild } from "./browse.ts";
import type { ResultsZip } from "./resultsZip.ts";

export const REPORT_MAX_ITEMS = 2_000;
export const REPORT_MAX_BLANK = 500;

/**
 * The one way a run's report is written (runPipeline, and the worker's merge): the browse index
 * built from the results (`images` starts a fresh read, as spool.sorted does), `withIndex` given
 * it first (the worker stores it for the results routes), then report.html added to the zip.
 */
export async function writeResultsReport(
  zip: ResultsZip,
  images: () => AsyncIterable<ImageResult> | Iterable<ImageResult>,
  run: RunInfo,
  options: { eventGapSeconds?: number; scratchDir?: string; withIndex?: (build: BrowseBuild) => Promise<void> } = {},
): Promise<BrowseSummary> {
  const build = await buildBrowse(images, run, {
    ...(options.eventGapSeconds !== undefined ? { eventGapSeconds: options.eventGapSeconds } : {}),
    ...(options.scratchDir ? { scratchDir: options.scratchDir } : {}),
  });
  try {
    await options.withIndex?.(build);
    await writeReport(zip, build, run);
    return build.summary;
  } finally {
    await build.dispose();
  }
}

/** Adds report.html to the zip, drawn from the run's browse build. */
async function writeReport(zip: ResultsZip, build: BrowseBuild, run: RunInfo): Promise<void> {
  const items: BrowseItem[] = [];
  for await (const item of build.items(ALL_VIEW, "confidence", REPORT_MAX_ITEMS)) items.push(item);
  const blank: BrowseItem[] = [];
  for await (const item of build.items(BLANK_VIEW, "time", REPORT_MAX_BLANK)) blank.push(item);
  await zip.addBuffer(RESULTS_REPORT, Buffer.from(reportHtml(build.summary, items, blank, run)));
}

/** JSON safe inside a <script> element: no "</script>" or "<!--" can end it early. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

export function reportHtml(summary: BrowseSummary, items: BrowseItem[], blank: BrowseItem[], run: RunInfo): string {
  const ids = Object.keys(summary.categories).sort((a, b) => Number(a) - Number(b));
  const percent = Math.round(summary.renderThreshold * 100);
  const counts = ids
    .map((id) => `<li><span class="swatch" style="background:${categoryColor(id)}"></span>${escapeXml(summary.categories[id] ?? id)}: <strong>${summary.perCategory[id] ?? 0}</strong></li>`)
    .join("");
  const folders = summary.folders
    .map((f) => `<tr><td>${escapeXml(f.folder)}</td><td>${f.images}</td>${ids.map((id) => `<td>${f.perCategory[id] ?? 0}</td>`).join("")}</tr>`)
    .join("");
  const data = {
    summary,
    items,
    blank,
    more: Math.max(0, summary.withDetections - items.length),
    moreBlank: Math.max(0, summary.blankSample - blank.length),
    colors: Object.fromEntries(ids.map((id) => [id, categoryColor(id)])),
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trapline results</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<h1>What your cameras caught</h1>
<p class="lede">${summary.images} photos checked by ${escapeXml(run.detector)}; ${summary.withDetections} with a detection at ${percent} % confidence or more, ${summary.empty} judged empty${summary.failed ? `, ${summary.failed} could not be read` : ""}. Every photo is listed in <code>${RESULTS_WORKBOOK}</code>.</p>
<ul class="counts" id="counts">${counts}<li>empty: <strong>${summary.empty}</strong></li></ul>
<section aria-labelledby="gallery-title">
<h2 id="gallery-title">Photos</h2>
<div class="tabs" role="tablist" aria-label="Which photos">
<button role="tab" id="tab-detections" aria-selected="true" aria-controls="gallery">With a detection</button>
<button role="tab" id="tab-blank" aria-selected="false" aria-controls="gallery">Blank check (${summary.blankSample})</button>
</div>
<p id="blank-note" class="note" hidden>A sample of the photos judged empty: no box reached ${percent} %. If you see animals here, run the job again with a lower threshold.</p>
<form id="filters" class="filters">
<label>Category <select id="f-category"><option value="">All</option>${ids.map((id) => `<option value="${escapeXml(id)}">${escapeXml(summary.categories[id] ?? id)}</option>`).join("")}</select></label>
<label>Folder <select id="f-folder"><option value="">All</option>${summary.folders.map((f) => `<option>${escapeXml(f.folder)}</option>`).join("")}</select></label>
<label>Lowest confidence <input id="f-min" type="number" min="0" max="1" step="0.05" value="0"></label>
<label>Sort <select id="f-sort"><option value="confidence">Most confident first</option><option value="time">By time</option></select></label>
</form>
<p id="shown" class="note" aria-live="polite"></p>
<ul id="gallery" class="gallery" role="tabpanel" aria-labelledby="tab-detections"></ul>
</section>
<dialog id="viewer" aria-labelledby="viewer-title">
<div class="viewer-bar"><h3 id="viewer-title"></h3><button id="viewer-prev" aria-label="Previous photo">←</button><button id="viewer-next" aria-label="Next photo">→</button><button id="viewer-close" aria-label="Close">✕</button></div>
<img id="viewer-img" alt="">
<div id="viewer-details"></div>
</dialog>
<section aria-labelledby="activity-heading"><h2 id="activity-heading">Activity over the day</h2>${activityChartSvg(summary)}</section>
<section aria-labelledby="map-heading"><h2 id="map-heading">Cameras</h2>${cameraMapSvg(summary)}</section>
<section aria-labelledby="folders-heading"><h2 id="folders-heading">Per folder</h2>
<div class="table-wrap"><table><thead><tr><th>Folder</th><th>Photos</th>${ids.map((id) => `<th>${escapeXml(summary.categories[id] ?? id)}</th>`).join("")}</tr></thead><tbody>${folders}</tbody></table></div>
${summary.foldersLeftOut ? `<p class="note">${summary.foldersLeftOut} more folders are in ${RESULTS_WORKBOOK}.</p>` : ""}</section>
</main>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${REPORT_JS}</script>
</body>
</html>
`;
}

const REPORT_CSS = `
:root{color-scheme:light;--ink:#1f2933;--muted:#52606d;--line:#c5ccd3;--accent:#1d6b3a}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:var(--ink);background:#fafbf9}
main{max-width:1100px;margin:0 auto;padding:16px}h1{margin:.2em 0}.lede{color:var(--muted)}
.counts{display:flex;flex-wrap:wrap;gap:8px 20px;list-style:none;padding:0}.swatch{display:inline-block;width:12px;height:12px;margin-right:6px;border:1px solid var(--ink)}
.tabs{display:flex;gap:4px}.tabs button{font:inherit;padding:8px 14px;border:1px solid var(--line);background:#fff;border-radius:6px 6px 0 0;cursor:pointer}
.tabs button[aria-selected=true]{background:var(--accent);color:#fff;border-color:var(--accent)}
.filters{display:flex;flex-wrap:wrap;gap:8px 16px;margin:12px 0}.filters label{display:flex;flex-direction:column;font-size:14px}
select,input{font:inherit;padding:4px}.note{color:var(--muted);font-size:14px}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:8px;list-style:none;padding:0}
.gallery button{all:unset;display:block;cursor:pointer;background:#fff;border:1px solid var(--line);border-radius:6px;overflow:hidden;width:100%}
.gallery button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.gallery img{display:block;width:100%;aspect-ratio:4/3;object-fit:cover;background:#e4e7eb}.gallery .cap{padding:4px 6px;font-size:13px;overflow-wrap:anywhere}
.missing{display:flex;align-items:center;justify-content:center;aspect-ratio:4/3;padding:8px;font-size:13px;color:var(--muted)}
dialog{max-width:min(96vw,1000px);width:100%;padding:8px;border:1px solid var(--line);border-radius:8px}dialog img{width:100%;height:auto}
.viewer-bar{display:flex;gap:6px;align-items:center}.viewer-bar h3{flex:1;margin:0;font-size:15px;overflow-wrap:anywhere}.viewer-bar button{font:inherit;padding:4px 10px}
svg{width:100%;height:auto;border:1px solid var(--line);border-radius:6px;background:#fff}.table-wrap{overflow-x:auto}
table{border-collapse:collapse}td,th{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left}
`;

// Plain ES2017 with no imports: it runs from file:// in any browser.
const REPORT_JS = `
(function(){
var data=JSON.parse(document.getElementById("report-data").textContent);
var s=data.summary,tab="detections",list=[],at=0;
var $=function(id){return document.getElementById(id)};
function pct(c){return Math.round(c*100)+" %"}
function current(){
  var cat=$("f-category").value,folder=$("f-folder").value,min=Number($("f-min").value)||0,sort=$("f-sort").value;
  var from=tab==="blank"?data.blank:data.items;
  var out=from.filter(function(i){
    if(folder&&i.folder!==folder)return false;
    if(tab==="blank")return true;
    if(cat&&!i.detections.some(function(d){return d.category===cat}))return false;
    return i.maxConf>=min;
  });
  out.sort(sort==="time"?function(a,b){return (a.datetime||"~").localeCompare(b.datetime||"~")||a.file.localeCompare(b.file)}:function(a,b){return b.maxConf-a.maxConf||a.file.localeCompare(b.file)});
  return out;
}
function draw(){
  list=current();
  var ul=$("gallery");ul.textContent="";
  list.forEach(function(item,n){
    var li=document.createElement("li"),b=document.createElement("button");
    b.type="button";b.setAttribute("aria-label",item.file+(item.detections.length?", "+item.detections.map(function(d){return (d.species||d.label)+" "+pct(d.conf)}).join(", "):", judged empty"));
    if(item.preview){var img=document.createElement("img");img.src=item.preview;img.alt="";img.loading="lazy";b.appendChild(img)}
    else{var m=document.createElement("div");m.className="missing";m.textContent=item.previewError||"No preview";b.appendChild(m)}
    var cap=document.createElement("div");cap.className="cap";
    cap.textContent=(item.detections[0]?(item.detections[0].species||item.detections[0].label)+" "+pct(item.detections[0].conf)+" · ":"")+(item.datetime?item.datetime.replace("T"," "):"no date");
    b.appendChild(cap);b.addEventListener("click",function(){open(n)});li.appendChild(b);ul.appendChild(li);
  });
  var more=tab==="blank"?data.moreBlank:data.more;
  $("shown").textContent=list.length+" photo"+(list.length===1?"":"s")+" shown"+(more?"; "+more+" more are listed in results.xlsx":"")+".";
}
function open(n){
  at=(n+list.length)%list.length;var item=list[at];if(!item)return;
  $("viewer-title").textContent=(at+1)+" of "+list.length+": "+item.file;
  var img=$("viewer-img");if(item.preview){img.src=item.preview;img.hidden=false;img.alt="Preview of "+item.file}else{img.hidden=true}
  var d=$("viewer-details");d.textContent="";
  var p=document.createElement("p");p.textContent=(item.datetime?item.datetime.replace("T"," "):"No date")+" · camera "+item.camera+(item.event?" · event "+item.event+" ("+item.eventFrames+" frames)":"");d.appendChild(p);
  var ul=document.createElement("ul");item.detections.forEach(function(x){var li=document.createElement("li");li.textContent=(x.species?x.species+" ("+x.label+")":x.label)+": "+pct(x.conf);ul.appendChild(li)});d.appendChild(ul);
  var v=$("viewer");if(!v.open)v.showModal();
}
$("viewer-prev").onclick=function(){open(at-1)};$("viewer-next").onclick=function(){open(at+1)};$("viewer-close").onclick=function(){$("viewer").close()};
$("viewer").addEventListener("keydown",function(e){if(e.key==="ArrowLeft"){open(at-1);e.preventDefault()}if(e.key==="ArrowRight"){open(at+1);e.preventDefault()}});
function setTab(t){tab=t;$("tab-detections").setAttribute("aria-selected",String(t==="detections"));$("tab-blank").setAttribute("aria-selected",String(t==="blank"));$("blank-note").hidden=t!=="blank";$("gallery").setAttribute("aria-labelledby","tab-"+t);draw()}
$("tab-detections").onclick=function(){setTab("detections")};$("tab-blank").onclick=function(){setTab("blank")};
["f-category","f-folder","f-min","f-sort"].forEach(function(id){$(id).addEventListener("change",draw)});
draw();
})();
`;
