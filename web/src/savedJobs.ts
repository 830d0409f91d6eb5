// What this browser remembers of the jobs it started, so that a job's link opened again (a
// reload mid-upload, the tab closed and reopened) knows the email it was started with and how
// many files it was meant to hold; the API does not give the email back to whoever has the link.
// Kept in localStorage under one key, at most MAX_SAVED_JOBS jobs, the oldest dropped first.

export const STORAGE_KEY = "trapline.jobs";
export const MAX_SAVED_JOBS = 20;

export interface SavedJob {
  email: string;
  /** Files and bytes the page meant the job to hold when it created it. */
  files: number;
  bytes: number;
  /** True once every file was added to the job's plan (false: the page closed while adding pages). */
  listed: boolean;
  savedAt: string;
}

/** The part of the Web Storage API used here (window.localStorage in the page). */
export type KeyValueStorage = Pick<Storage, "getItem" | "setItem">;

function readAll(storage: KeyValueStorage): Record<string, SavedJob> {
  try {
    const parsed = JSON.parse(storage.getItem(STORAGE_KEY) ?? "{}") as unknown;
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, SavedJob>) : {};
  } catch {
    return {};
  }
}

export function savedJob(storage: KeyValueStorage, jobId: string): SavedJob | null {
  const job = readAll(storage)[jobId];
  return job && typeof job.email === "string" ? job : null;
}

/** Saves or updates a job; never throws (a full or refused storage only costs the memory). */
export function saveJob(storage: KeyValueStorage, jobId: string, job: Omit<SavedJob, "savedAt"> & { savedAt?: string }): void {
  const all = readAll(storage);
  all[jobId] = { ...job, savedAt: job.savedAt ?? new Date().toISOString() };
  const kept = Object.entries(all)
    .sort(([, a], [, b]) => b.savedAt.localeCompare(a.savedAt))
    .slice(0, MAX_SAVED_JOBS);
  try {
    storage.setItem(STORAGE_KEY, JSON.stringify(Object.fromEntries(kept)));
  } catch {
    // Private browsing or a full storage: the job still works, only a reload will not know its email.
  }
}

/** The window's localStorage, or null where the browser refuses it (some private modes). */
export function browserStorage(): KeyValueStorage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}
