// The email a job's owner gets when it is done or failed: what was found, the job page's link
// and when the files go. Pure text in, text out (plain text plus simple HTML, the same words), so
// a test reads exactly what the user reads.
import type { JobRecord } from "../jobs.ts";

export interface JobEmail {
  subject: string;
  text: string;
  html: string;
}

export interface JobEmailInput {
  /** A job that is done or failed. */
  job: JobRecord;
  /** The job's page (jobPageUrl.ts). */
  pageUrl: string;
  /** RETENTION_DAYS: the S3 lifecycle deletes uploads and results this long after each was written. */
  retentionDays: number;
}

const DAY_MS = 24 * 3600 * 1000;

/** MegaDetector's category names, in its order, as the counts read in a sentence. */
const CATEGORY_WORDS: Readonly<Record<string, string>> = { animal: "animals", person: "people", vehicle: "vehicles" };

const count = new Intl.NumberFormat("en-US");
const day = new Intl.DateTimeFormat("en-GB", { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });

/**
 * When the files the email is about are deleted: a done job's results zip RETENTION_DAYS after it
 * was written (finishedAt), a failed job's uploads RETENTION_DAYS after the job was created. S3
 * deletes at the next midnight UTC or later, so the date given is the last safe day.
 */
export function filesDeletedAt(job: JobRecord, retentionDays: number): Date {
  const from = job.status === "done" ? (job.finishedAt ?? job.updatedAt) : job.createdAt;
  return new Date(Date.parse(from) + retentionDays * DAY_MS);
}

export function composeJobEmail(input: JobEmailInput): JobEmail {
  const { job } = input;
  if (job.status !== "done" && job.status !== "failed") {
    throw new Error(`Job ${job.id} is ${job.status}: its email is composed only once it is done or failed.`);
  }
  const deleted = `${day.format(filesDeletedAt(job, input.retentionDays))} (UTC)`;
  const rows = countRows(job);
  const days = `${input.retentionDays} day${input.retentionDays === 1 ? "" : "s"}`;
  const paragraphs: Paragraph[] =
    job.status === "done"
      ? [
          { text: `Trapline has finished checking your camera-trap photos (job ${job.id}).` },
          { rows },
          { text: "Open the job's page to download the results (it makes a fresh download link each time you open it):", link: input.pageUrl },
          { text: `The results are deleted ${days} after the job finished: download them by ${deleted}.` },
        ]
      : [
          { text: `Trapline could not finish checking your camera-trap photos (job ${job.id}).` },
          { text: `What went wrong: ${job.error ?? "the job failed without a reason; tell the site's operator the job id."}` },
          ...(rows.length > 0 ? [{ rows }] : []),
          { text: "The job's page:", link: input.pageUrl },
          { text: `The uploaded photos are deleted ${days} after they were uploaded, by ${deleted}.` },
        ];
  const subject =
    job.status === "done"
      ? `Your Trapline results are ready: ${count.format(job.result?.images ?? 0)} photos checked`
      : "Your Trapline job could not be finished";
  const footer = "You get this email because this address was given when the photos were uploaded to Trapline.";
  return { subject, text: asText(paragraphs, footer), html: asHtml(subject, paragraphs, footer) };
}

interface Paragraph {
  text?: string;
  link?: string;
  rows?: CountRow[];
}

/** One count: its label, the figure, and a note after it. */
type CountRow = [label: string, figure: string, note?: string];

/** Photos checked, per category found, unreadable: whatever the job's result holds. */
function countRows(job: JobRecord): CountRow[] {
  const result = job.result;
  if (!result) return [];
  const rows: CountRow[] = [["Photos checked", count.format(result.images)]];
  const found = result.imagesWith ?? {};
  // MegaDetector's three first, in its order, then any other model's categories.
  const names = [...Object.keys(CATEGORY_WORDS).filter((name) => name in found), ...Object.keys(found).filter((name) => !(name in CATEGORY_WORDS))];
  for (const name of names) rows.push([`With ${CATEGORY_WORDS[name] ?? name}`, count.format(found[name] ?? 0)]);
  rows.push(result.failed > 0 ? ["Could not be read", count.format(result.failed), "(results.xlsx says why for each)"] : ["Could not be read", "0"]);
  return rows;
}

function asText(paragraphs: readonly Paragraph[], footer: string): string {
  const rows = paragraphs.flatMap((p) => p.rows ?? []);
  const labelWidth = Math.max(0, ...rows.map(([label]) => label.length)) + 1;
  const figureWidth = Math.max(0, ...rows.map(([, figure]) => figure.length));
  const blocks = paragraphs.map((p) => {
    if (p.rows) {
      return p.rows.map(([label, figure, note]) => `  ${`${label}:`.padEnd(labelWidth)} ${figure.padStart(figureWidth)}${note ? ` ${note}` : ""}`).join("\n");
    }
    return p.link ? `${p.text}\n${p.link}` : (p.text ?? "");
  });
  return `Hello,\n\n${blocks.join("\n\n")}\n\n-- \n${footer}\n`;
}

function asHtml(title: string, paragraphs: readonly Paragraph[], footer: string): string {
  const blocks = paragraphs.map((p) => {
    if (p.rows) {
      const cells = p.rows.map(
        ([label, figure, note]) =>
          `<tr><td style="padding:2px 16px 2px 0">${escapeHtml(label)}</td><td style="padding:2px 0;text-align:right">${escapeHtml(figure)}</td>` +
          `<td style="padding:2px 0 2px 8px">${escapeHtml(note ?? "")}</td></tr>`,
      );
      return `<table role="presentation" style="border-collapse:collapse;margin:0 0 16px">${cells.join("")}</table>`;
    }
    const link = p.link ? `<br><a href="${escapeHtml(p.link)}">${escapeHtml(p.link)}</a>` : "";
    return `<p style="margin:0 0 16px">${escapeHtml(p.text ?? "")}${link}</p>`;
  });
  return [
    "<!doctype html>",
    `<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`,
    '<body style="font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;line-height:1.5;color:#1b1f1d;max-width:600px">',
    '<p style="margin:0 0 16px">Hello,</p>',
    ...blocks,
    `<p style="margin:24px 0 0;color:#5a615d;font-size:smaller">${escapeHtml(footer)}</p>`,
    "</body></html>",
  ].join("\n");
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
