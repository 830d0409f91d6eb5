// The results' pictures as SVG text: the activity chart (photos per hour of the camera's clock,
// per category) and the camera map (GPS positions on a plain grid, no map tiles: the machines
// that show it may have no internet). Pure functions of a BrowseSummary, shared by the job page
// (web/src/gallery.ts) and the offline report (gpu-worker/pipeline/outputs/report.ts), so both
// draw the same thing. Every text is escaped; the callers may insert the SVG as markup.
import type { BrowseSummary } from "./browse.ts";

/**
 * One colour per category id, as the boxes are drawn (gpu-worker/pipeline/outputs/render.ts
 * follows MegaDetector: animal red, person royal blue, vehicle gold).
 */
export const CATEGORY_COLORS: readonly string[] = [
  "#f0f8ff", // AliceBlue
  "#ff0000", // Red: animal
  "#4169e1", // RoyalBlue: person
  "#ffd700", // Gold: vehicle
  "#7fff00", // Chartreuse
  "#00ffff", // Aqua
  "#ff8c00", // DarkOrange
  "#ff1493", // DeepPink
  "#8a2be2", // BlueViolet
  "#00ff7f", // SpringGreen
];

export function categoryColor(category: string): string {
  const id = Number.parseInt(category, 10);
  const index = Number.isNaN(id) ? [...category].reduce((sum, c) => sum + c.charCodeAt(0), 0) : Math.abs(id);
  return CATEGORY_COLORS[index % CATEGORY_COLORS.length] ?? "#ff0000";
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const INK = "#1f2933";
const GRID = "#c5ccd3";
const FONT = `font-family="system-ui, sans-serif" font-size="12" fill="${INK}"`;

/** Categories that have a photo, in id order. */
function presentCategories(summary: BrowseSummary): string[] {
  return Object.keys(summary.categories)
    .filter((id) => (summary.perCategory[id] ?? 0) > 0)
    .sort((a, b) => Number(a) - Number(b));
}

/** Grouped bars: per hour 0–23, one bar per category. Undated photos are named, not drawn. */
export function activityChartSvg(summary: BrowseSummary): string {
  const width = 720;
  const height = 260;
  const left = 40;
  const right = 10;
  const top = 30;
  const bottom = 40;
  const ids = presentCategories(summary);
  const max = Math.max(1, ...ids.flatMap((id) => summary.hours[id] ?? []));
  const plotWidth = width - left - right;
  const plotHeight = height - top - bottom;
  const slot = plotWidth / 24;
  const barWidth = Math.max(1, (slot - 2) / Math.max(1, ids.length));
  const y = (value: number) => top + plotHeight - (value / max) * plotHeight;
  const parts: string[] = [];
  const describe = ids.map((id) => {
    const hours = summary.hours[id] ?? [];
    const peak = hours.indexOf(Math.max(...hours));
    return `${summary.categories[id]}: ${hours.reduce((s, v) => s + v, 0)} dated photos, most at ${peak}:00`;
  });
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="activity-title activity-desc" class="activity-chart">`,
    `<title id="activity-title">Photos with a detection per hour of the day (camera clock)</title>`,
    `<desc id="activity-desc">${escapeXml(describe.join("; ") || "No dated photos with a detection.")}</desc>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  );
  for (const tick of [0, 0.5, 1]) {
    const value = Math.round(max * tick);
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y(value)}" y2="${y(value)}" stroke="${GRID}"/>`, `<text x="${left - 6}" y="${y(value) + 4}" text-anchor="end" ${FONT}>${value}</text>`);
  }
  ids.forEach((id, c) => {
    const hours = summary.hours[id] ?? [];
    for (let hour = 0; hour < 24; hour++) {
      const value = hours[hour] ?? 0;
      if (value === 0) continue;
      const x = left + hour * slot + 1 + c * barWidth;
      parts.push(
        `<rect class="activity-bar" data-category="${escapeXml(id)}" data-hour="${hour}" x="${x.toFixed(1)}" y="${y(value).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${(top + plotHeight - y(value)).toFixed(1)}" fill="${categoryColor(id)}" stroke="${INK}" stroke-width="0.5"><title>${escapeXml(`${summary.categories[id]}, ${hour}:00–${hour}:59: ${value}`)}</title></rect>`,
      );
    }
  });
  for (let hour = 0; hour < 24; hour += 3) parts.push(`<text x="${left + hour * slot + slot / 2}" y="${height - bottom + 16}" text-anchor="middle" ${FONT}>${hour}:00</text>`);
  let legendX = left;
  for (const id of ids) {
    const name = escapeXml(summary.categories[id] ?? id);
    parts.push(`<rect x="${legendX}" y="8" width="12" height="12" fill="${categoryColor(id)}" stroke="${INK}" stroke-width="0.5"/>`, `<text x="${legendX + 16}" y="18" ${FONT}>${name}</text>`);
    legendX += 30 + name.length * 7;
  }
  if (summary.undated > 0) parts.push(`<text x="${width - right}" y="${height - 6}" text-anchor="end" ${FONT}>${summary.undated} photo${summary.undated === 1 ? "" : "s"} without a date not shown</text>`);
  parts.push("</svg>");
  return parts.join("");
}

/**
 * The cameras with GPS as markers on an equirectangular grid fitted to them (longitude scaled by
 * the cosine of the mean latitude, so distances look right near the cameras). A marker's area
 * grows with its photos with a detection; its title names the camera and its counts.
 */
export function cameraMapSvg(summary: BrowseSummary): string {
  const width = 720;
  const height = 420;
  const pad = 50;
  const cameras = summary.cameras;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="map-title" class="camera-map">`,
    `<title id="map-title">${cameras.length} camera${cameras.length === 1 ? "" : "s"} with GPS positions</title>`,
    `<rect width="${width}" height="${height}" fill="#f4f7f2"/>`,
  ];
  if (cameras.length === 0) {
    parts.push(`<text x="${width / 2}" y="${height / 2}" text-anchor="middle" ${FONT}>No photo carries a GPS position.</text></svg>`);
    return parts.join("");
  }
  const lats = cameras.map((c) => c.latitude);
  const lons = cameras.map((c) => c.longitude);
  const meanLat = lats.reduce((s, v) => s + v, 0) / lats.length;
  const kx = Math.max(0.01, Math.cos((meanLat * Math.PI) / 180));
  // At least ~1 km across, so one camera (or a tight cluster) sits in the middle of a readable grid.
  const span = Math.max(0.01, Math.max(...lats) - Math.min(...lats), (Math.max(...lons) - Math.min(...lons)) * kx);
  const midLat = (Math.max(...lats) + Math.min(...lats)) / 2;
  const midLon = (Math.max(...lons) + Math.min(...lons)) / 2;
  const scale = Math.min(width - 2 * pad, height - 2 * pad) / span;
  const px = (lon: number) => width / 2 + (lon - midLon) * kx * scale;
  const py = (lat: number) => height / 2 - (lat - midLat) * scale;
  // Grid lines at a round step in degrees.
  const step = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20].find((s) => span / s <= 6) ?? 30;
  const digits = Math.max(0, -Math.floor(Math.log10(step)));
  for (let lat = Math.ceil((midLat - height / 2 / scale) / step) * step; lat <= midLat + height / 2 / scale; lat += step) {
    parts.push(`<line x1="0" x2="${width}" y1="${py(lat).toFixed(1)}" y2="${py(lat).toFixed(1)}" stroke="${GRID}"/>`, `<text x="4" y="${(py(lat) - 3).toFixed(1)}" ${FONT}>${lat.toFixed(digits)}°</text>`);
  }
  const halfLon = width / 2 / (kx * scale);
  for (let lon = Math.ceil((midLon - halfLon) / step) * step; lon <= midLon + halfLon; lon += step) {
    parts.push(`<line y1="0" y2="${height}" x1="${px(lon).toFixed(1)}" x2="${px(lon).toFixed(1)}" stroke="${GRID}"/>`, `<text x="${(px(lon) + 3).toFixed(1)}" y="${height - 4}" ${FONT}>${lon.toFixed(digits)}°</text>`);
  }
  const most = Math.max(1, ...cameras.map((c) => Object.values(c.perCategory).reduce((s, v) => s + v, 0)));
  cameras.forEach((camera, i) => {
    const counts = Object.entries(camera.perCategory)
      .filter(([, n]) => n > 0)
      .map(([id, n]) => `${summary.categories[id] ?? id} ${n}`);
    const detected = Object.values(camera.perCategory).reduce((s, v) => s + v, 0);
    const r = 6 + 14 * Math.sqrt(detected / most);
    const top = Object.entries(camera.perCategory).sort((a, b) => b[1] - a[1])[0]?.[0];
    const label = `${camera.camera}: ${camera.images} photos${counts.length ? `, ${counts.join(", ")}` : ", nothing detected"}`;
    parts.push(
      `<g class="marker" data-camera="${escapeXml(camera.camera)}" tabindex="0" role="img" aria-label="${escapeXml(label)}">` +
        `<circle cx="${px(camera.longitude).toFixed(1)}" cy="${py(camera.latitude).toFixed(1)}" r="${r.toFixed(1)}" fill="${top ? categoryColor(top) : "#ffffff"}" fill-opacity="0.85" stroke="${INK}" stroke-width="1.5"/>` +
        `<text x="${(px(camera.longitude) + r + 4).toFixed(1)}" y="${(py(camera.latitude) + 4).toFixed(1)}" ${FONT} font-weight="600">${escapeXml(String(i + 1))}. ${escapeXml(camera.camera)}</text>` +
        `<title>${escapeXml(label)}</title></g>`,
    );
  });
  parts.push("</svg>");
  return parts.join("");
}
