import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_SAVED_JOBS, STORAGE_KEY, saveJob, savedJob, type KeyValueStorage } from "./savedJobs.ts";

/** Web Storage's two calls over a Map, as localStorage behaves for one origin. */
function memoryStorage(): KeyValueStorage & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return { map, getItem: (key) => map.get(key) ?? null, setItem: (key, value) => void map.set(key, value) };
}

test("a job's email and counts come back by its id; an update keeps one entry", () => {
  const storage = memoryStorage();
  saveJob(storage, "A", { email: "a@example.org", files: 5000, bytes: 10, listed: false });
  saveJob(storage, "A", { email: "a@example.org", files: 5000, bytes: 10, listed: true });
  assert.deepEqual(
    { ...savedJob(storage, "A"), savedAt: "" },
    { email: "a@example.org", files: 5000, bytes: 10, listed: true, savedAt: "" },
  );
  assert.equal(savedJob(storage, "B"), null);
  assert.equal(Object.keys(JSON.parse(storage.map.get(STORAGE_KEY)!) as object).length, 1);
});

test("at most MAX_SAVED_JOBS are kept, the oldest dropped; garbage in storage is ignored", () => {
  const storage = memoryStorage();
  storage.setItem(STORAGE_KEY, "not json");
  assert.equal(savedJob(storage, "x"), null);
  for (let n = 0; n <= MAX_SAVED_JOBS; n += 1) {
    saveJob(storage, `job${n}`, { email: "a@example.org", files: 1, bytes: 1, listed: true, savedAt: new Date(Date.UTC(2026, 0, 1, 0, n)).toISOString() });
  }
  assert.equal(savedJob(storage, "job0"), null);
  assert.equal(savedJob(storage, `job${MAX_SAVED_JOBS}`)?.email, "a@example.org");
});

test("a storage that refuses writes costs only the memory", () => {
  const storage: KeyValueStorage = {
    getItem: () => null,
    setItem: () => {
      throw new DOMException("full", "QuotaExceededError");
    },
  };
  assert.doesNotThrow(() => saveJob(storage, "A", { email: "a@example.org", files: 1, bytes: 1, listed: true }));
});
