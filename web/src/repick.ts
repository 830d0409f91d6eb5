// A folder picked again for a job whose upload stopped (a reload, a closed tab, an outage): which
// of its files the job still needs, which storage holds already, and how the pick differs from
// the job. Names and sizes are compared with the job's plan and with what storage lacks, as the
// API lists them (GET /api/jobs/<id>/files, with and without missing=1, a page at a time).
import type { FileListPage } from "../../functions/wire.ts";
import type { Api } from "./api.ts";

export interface JobListing {
  /** Every file in the job's plan: name → size. */
  planned: Map<string, number>;
  /** Names of planned files storage does not hold yet. */
  missing: Set<string>;
}

/** One picked file as compared: its upload name and size. */
export interface PickedEntry {
  name: string;
  size: number;
}

export interface PickComparison {
  /** Picked files the job needs and storage lacks, at the planned size: these are sent. */
  toSend: number[];
  /** Picked files storage holds already (at the planned size): never sent again. */
  stored: number[];
  /** Picked files whose size differs from the job's plan. */
  otherSize: { index: number; planned: number }[];
  /** Picked files the job's plan does not hold. */
  extra: number[];
  /** Planned files storage lacks that the pick does not hold either: nothing can send them. */
  notPicked: { name: string; size: number }[];
  /**
   * Names of the planned files storage lacks that this pick cannot send: not picked, or picked
   * at another size. The job waits for them, or the person leaves them out (POST .../files/drop).
   */
  unsendable: string[];
}

export function comparePick(picked: readonly PickedEntry[], listing: JobListing): PickComparison {
  const result: PickComparison = { toSend: [], stored: [], otherSize: [], extra: [], notPicked: [], unsendable: [] };
  const seen = new Set<string>();
  picked.forEach(({ name, size }, index) => {
    const planned = listing.planned.get(name);
    if (planned === undefined) {
      result.extra.push(index);
      return;
    }
    seen.add(name);
    if (planned !== size) result.otherSize.push({ index, planned });
    else if (listing.missing.has(name)) result.toSend.push(index);
    else result.stored.push(index);
  });
  for (const name of listing.missing) if (!seen.has(name)) result.notPicked.push({ name, size: listing.planned.get(name) ?? 0 });
  const otherSizeMissing = result.otherSize.map(({ index }) => picked[index]!.name).filter((name) => listing.missing.has(name));
  result.unsendable = [...result.notPicked.map((file) => file.name), ...otherSizeMissing];
  return result;
}

/** Every page of one of the job's listings. */
async function allPages(api: Api, jobId: string, missing: boolean, each: (files: FileListPage["files"]) => void): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await api.listFiles(jobId, { missing, ...(cursor ? { cursor } : {}) });
    each(page.files);
    cursor = page.cursor;
  } while (cursor);
}

/** The job's plan and what storage lacks of it, read in pages. */
export async function fetchListing(api: Api, jobId: string): Promise<JobListing> {
  const listing: JobListing = { planned: new Map(), missing: new Set() };
  await allPages(api, jobId, false, (files) => files.forEach(({ name, size }) => listing.planned.set(name, size)));
  await allPages(api, jobId, true, (files) => files.forEach(({ name }) => listing.missing.add(name)));
  return listing;
}

/** Just the names storage lacks (after an upload ends, before submitting). */
export async function fetchMissing(api: Api, jobId: string): Promise<Set<string>> {
  const missing = new Set<string>();
  await allPages(api, jobId, true, (files) => files.forEach(({ name }) => missing.add(name)));
  return missing;
}
