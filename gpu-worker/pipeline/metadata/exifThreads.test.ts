// The metadata threads against the real exifr, fed the 32-byte HEIF it loops on for ever (the
// box check in exif.ts normally keeps it away; here it is handed over on purpose).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ascii, jpegWithExif } from "../../../test/helpers/exifImages.ts";
import { damagedIsoMediaFiles } from "../../../test/helpers/isoMedia.ts";
import { ExifThreads } from "./exifThreads.ts";

const MAKE = 0x010f;
const looping = damagedIsoMediaFiles()["zero-length-box.heic"]!;

test("a file that keeps exifr busy past its deadline gets a timed-out answer, and the pool goes on reading", async () => {
  const threads = new ExifThreads({ size: 1, deadlineMs: 400 });
  try {
    const started = performance.now();
    const stuck = await threads.parse(looping);
    assert.deepEqual({ ok: stuck.ok, timedOut: !stuck.ok && stuck.timedOut }, { ok: false, timedOut: true });
    assert.match(!stuck.ok ? stuck.reason : "", /took too long to read \(over 0\.4 s\)/);
    assert.ok(performance.now() - started < 5_000);
    // The thread was ended and replaced: the next file is read as usual.
    const after = await threads.parse(await jpegWithExif({ ifd0: { [MAKE]: ascii("RECONYX") } }));
    assert.ok(after.ok);
    assert.equal(after.raw.ifd0?.[MAKE], "RECONYX");
  } finally {
    await threads.close();
  }
});

test("while one thread is stuck the other keeps answering, and the caller's bytes stay usable", async () => {
  const threads = new ExifThreads({ size: 2, deadlineMs: 2_000 });
  try {
    const stuck = threads.parse(looping);
    const jpeg = await jpegWithExif({ ifd0: { [MAKE]: ascii("Bushnell") } });
    const copy = Buffer.from(jpeg);
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 5 }, () => threads.parse(jpeg)));
    assert.ok(performance.now() - started < 1_800, "answered before the stuck file's deadline");
    for (const answer of answers) assert.equal(answer.ok && answer.raw.ifd0?.[MAKE], "Bushnell");
    assert.deepEqual(jpeg, copy, "the bytes were copied to the thread, not taken from the caller");
    assert.equal((await stuck).ok, false);
  } finally {
    await threads.close();
  }
});

test("closing answers what still waits", async () => {
  const threads = new ExifThreads({ size: 1, deadlineMs: 60_000 });
  const stuck = threads.parse(looping);
  const waiting = threads.parse(await jpegWithExif({}));
  await new Promise((resolve) => setTimeout(resolve, 300));
  await threads.close();
  assert.deepEqual(await stuck, { ok: false, reason: "the metadata reader is closed" });
  assert.deepEqual(await waiting, { ok: false, reason: "the metadata reader is closed" });
});
