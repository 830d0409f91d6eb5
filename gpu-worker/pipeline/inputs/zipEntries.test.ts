import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflatedEntry, directoryEntry, storedEntry, symlinkEntry, zipBytes } from "../../../test/helpers/zipBytes.ts";
import { resolveInputLimits } from "./limits.ts";
import type { InputLimits } from "./limits.ts";
import { countZipEntries, EMPTY_ZIP_REASON, NESTED_ZIP_REASON, readZipEntries, ZipReadError } from "./zipEntries.ts";
import type { ZipEntryItem, ZipEntryRange } from "./zipEntries.ts";

// Enough of each format for sniffing; zipEntries never decodes pixels.
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from("a jpeg body that is long enough to sniff")]);
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from("png body bytes")]);
const MiB = 1024 * 1024;

let folder: string;
let zipCount = 0;

before(async () => {
  folder = await mkdtemp(join(tmpdir(), "trapline-zip-entries-"));
});
after(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function writeZip(bytes: Buffer): Promise<string> {
  zipCount += 1;
  const path = join(folder, `test-${zipCount}.zip`);
  await writeFile(path, bytes);
  return path;
}

async function listEntries(zipPath: string, limits: Partial<InputLimits> = {}, range: ZipEntryRange = {}): Promise<ZipEntryItem[]> {
  const items: ZipEntryItem[] = [];
  for await (const item of readZipEntries(zipPath, resolveInputLimits(limits), undefined, range)) items.push(item);
  return items;
}

/** The items without their read functions, for deepEqual. */
function summarise(items: ZipEntryItem[]) {
  return items.map((item) => (item.kind === "image" ? { kind: item.kind, path: item.path, size: item.size } : item));
}

function readable(reason: string, ...mustContain: string[]) {
  assert.ok(reason.length > 20, `reason too short: ${reason}`);
  assert.doesNotMatch(reason, /0x[0-9a-f]|undefined|\[object/, `reason not readable: ${reason}`);
  for (const text of mustContain) assert.ok(reason.includes(text), `"${reason}" should mention ${text}`);
}

function rejectedReason(items: ZipEntryItem[], path: string): string {
  const item = items.find((candidate) => candidate.kind === "rejected" && candidate.path === path);
  assert.ok(item && item.kind === "rejected", `no rejected item at ${path}`);
  return item.reason;
}

describe("readZipEntries", () => {
  test("lists images in archive order, skips folders and OS junk, and reads bytes back exactly", async () => {
    const zipPath = await writeZip(
      zipBytes([
        directoryEntry("cam1/"),
        deflatedEntry("cam1/IMG_0002.JPG", JPEG),
        storedEntry("cam1/IMG_0001.PNG", PNG),
        storedEntry("__MACOSX/cam1/._IMG_0002.JPG", Buffer.from("apple double")),
        storedEntry("cam1/.DS_Store", Buffer.from("finder")),
        storedEntry("Thumbs.db", Buffer.from("thumbs")),
        storedEntry("cam1\\sub\\IMG_0003.JPG", JPEG),
      ]),
    );
    const items = await listEntries(zipPath);
    assert.deepEqual(summarise(items), [
      { kind: "image", path: "cam1/IMG_0002.JPG", size: JPEG.length },
      { kind: "image", path: "cam1/IMG_0001.PNG", size: PNG.length },
      { kind: "image", path: "cam1/sub/IMG_0003.JPG", size: JPEG.length },
    ]);
    const [deflated, stored, backslashed] = items;
    assert.ok(deflated?.kind === "image" && stored?.kind === "image" && backslashed?.kind === "image");
    assert.deepEqual(await deflated.read(), JPEG);
    assert.deepEqual(await stored.read(), PNG);
    assert.deepEqual(await backslashed.read(), JPEG);
    // Reading twice works: each read opens the zip afresh.
    assert.deepEqual(await deflated.read(), JPEG);
  });

  test("rejects entries whose names leave the zip, naming the entry, and keeps the rest", async () => {
    const zipPath = await writeZip(
      zipBytes([
        storedEntry("../evil.jpg", JPEG),
        storedEntry("cam/../../evil.jpg", JPEG),
        storedEntry("/etc/evil.jpg", JPEG),
        storedEntry("C:/Windows/evil.jpg", JPEG),
        storedEntry("..\\..\\evil.jpg", JPEG),
        storedEntry("bad\nname.jpg", JPEG),
        storedEntry("good.jpg", JPEG),
      ]),
    );
    const items = await listEntries(zipPath);
    assert.equal(items.length, 7);
    assert.deepEqual(summarise(items.slice(6)), [{ kind: "image", path: "good.jpg", size: JPEG.length }]);
    const reasons = items.slice(0, 6).map((item) => {
      assert.equal(item.kind, "rejected");
      assert.equal(item.kind === "rejected" && item.path, undefined);
      return item.kind === "rejected" ? item.reason : "";
    });
    readable(reasons[0]!, '"../evil.jpg"', "..");
    readable(reasons[1]!, '"cam/../../evil.jpg"');
    readable(reasons[2]!, '"/etc/evil.jpg"', "absolute");
    readable(reasons[3]!, '"C:/Windows/evil.jpg"', "drive letter");
    readable(reasons[4]!, '"../../evil.jpg"', "..");
    readable(reasons[5]!, '"bad\\nname.jpg"', "control characters");
  });

  test("rejects symlinks, nested zips, encrypted entries, exotic compression and non-images", async () => {
    const nestedZip = zipBytes([storedEntry("inner.jpg", JPEG)]);
    const zipPath = await writeZip(
      zipBytes([
        symlinkEntry("link.jpg", "/etc/passwd"),
        storedEntry("inner.zip", nestedZip),
        storedEntry("disguised.jpg", nestedZip),
        storedEntry("secret.jpg", JPEG, { flags: 0x0801 }),
        storedEntry("bzip.jpg", JPEG, { method: 12, compressedSize: 10 }),
        storedEntry("notes.jpg", Buffer.from("these are my field notes\n")),
        storedEntry("empty.jpg", Buffer.alloc(0)),
        storedEntry("clip.avi", Buffer.concat([Buffer.from("RIFF\x10\x00\x00\x00AVI LIST", "latin1"), Buffer.alloc(8)])),
      ]),
    );
    const items = await listEntries(zipPath);
    assert.deepEqual(
      items.map((item) => [item.kind, item.path]),
      ["link.jpg", "inner.zip", "disguised.jpg", "secret.jpg", "bzip.jpg", "notes.jpg", "empty.jpg", "clip.avi"].map((path) => ["rejected", path]),
    );
    readable(rejectedReason(items, "link.jpg"), "symbolic link");
    assert.equal(rejectedReason(items, "inner.zip"), NESTED_ZIP_REASON);
    assert.equal(rejectedReason(items, "disguised.jpg"), NESTED_ZIP_REASON);
    readable(rejectedReason(items, "secret.jpg"), "password");
    readable(rejectedReason(items, "bzip.jpg"), "bzip2");
    assert.equal(rejectedReason(items, "notes.jpg"), "not an image (text file)");
    assert.equal(rejectedReason(items, "empty.jpg"), "empty file (0 bytes)");
    assert.equal(rejectedReason(items, "clip.avi"), "not an image (AVI video)");
  });

  test("rejects a deflate bomb by its compression ratio without unpacking it", async () => {
    const zeros = Buffer.concat([JPEG, Buffer.alloc(8 * MiB)]);
    const zipPath = await writeZip(zipBytes([deflatedEntry("bomb.jpg", zeros), storedEntry("ok.jpg", JPEG)]));
    const items = await listEntries(zipPath);
    assert.deepEqual(
      items.map((item) => [item.kind, item.path]),
      [
        ["rejected", "bomb.jpg"],
        ["image", "ok.jpg"],
      ],
    );
    readable(rejectedReason(items, "bomb.jpg"), "zip bomb", "200:1", "8 MiB");
  });

  test("holds an entry to its declared size when the header lies", async () => {
    const real = Buffer.concat([JPEG, Buffer.alloc(2 * MiB, 7)]);
    const lyingSmaller = deflatedEntry("smaller.jpg", real, { uncompressedSize: 1000 });
    const lyingLarger = deflatedEntry("larger.jpg", JPEG, { uncompressedSize: JPEG.length + 10 });
    const storedMismatch = storedEntry("mismatch.jpg", JPEG, { uncompressedSize: 5 * MiB });
    const zipPath = await writeZip(zipBytes([lyingSmaller, lyingLarger, storedMismatch, storedEntry("ok.jpg", JPEG)]));
    const items = await listEntries(zipPath);
    assert.deepEqual(summarise(items), [
      { kind: "image", path: "smaller.jpg", size: 1000 },
      { kind: "image", path: "larger.jpg", size: JPEG.length + 10 },
      { kind: "rejected", path: "mismatch.jpg", reason: "has contradictory sizes in its zip header: the zip is damaged or was made to mislead" },
      { kind: "image", path: "ok.jpg", size: JPEG.length },
    ]);
    const [smaller, larger, , ok] = items;
    assert.ok(smaller?.kind === "image" && larger?.kind === "image" && ok?.kind === "image");
    await assert.rejects(smaller.read(), (error: Error) => {
      readable(error.message, "more than", "declares");
      return true;
    });
    await assert.rejects(larger.read(), (error: Error) => {
      readable(error.message, "less than", "declares");
      return true;
    });
    assert.deepEqual(await ok.read(), JPEG);
  });

  test("rejects an entry whose bytes do not match its checksum when read", async () => {
    const zipPath = await writeZip(zipBytes([storedEntry("flipped.jpg", JPEG, { crc32: 12345 })]));
    const [item] = await listEntries(zipPath);
    assert.ok(item?.kind === "image");
    await assert.rejects(item.read(), /damaged.*checksum mismatch/);
  });

  test("applies the per-image, per-zip and entry-count caps", async () => {
    const big = Buffer.concat([JPEG, Buffer.alloc(3000, 1)]);
    const zipPath = await writeZip(
      zipBytes([storedEntry("a.jpg", JPEG), storedEntry("big.jpg", big), storedEntry("b.jpg", JPEG), storedEntry("c.jpg", JPEG)]),
    );
    const capped = await listEntries(zipPath, { maxImageBytes: 2000, maxZipUnpackedBytes: JPEG.length * 2 });
    assert.deepEqual(
      capped.map((item) => [item.kind, item.path]),
      [
        ["image", "a.jpg"],
        ["rejected", "big.jpg"],
        ["image", "b.jpg"],
        ["rejected", "c.jpg"],
      ],
    );
    readable(rejectedReason(capped, "big.jpg"), "3 KiB", "2 KiB");
    readable(rejectedReason(capped, "c.jpg"), "split the zip");

    await assert.rejects(listEntries(zipPath, { maxZipEntries: 3 }), (error: Error) => {
      assert.ok(error instanceof ZipReadError);
      readable(error.message, "4 entries", "3 allowed");
      return true;
    });
  });

  test("a truncated or garbage zip fails as a whole with a readable error, without hanging", async () => {
    const whole = zipBytes([storedEntry("a.jpg", JPEG), storedEntry("b.jpg", JPEG)]);
    for (const bytes of [whole.subarray(0, Math.floor(whole.length / 2)), Buffer.from("PK\x03\x04 and then nothing useful", "latin1")]) {
      const zipPath = await writeZip(bytes);
      await assert.rejects(listEntries(zipPath), (error: Error) => {
        assert.ok(error instanceof ZipReadError);
        readable(error.message, "not a readable zip");
        return true;
      });
    }
  });

  test("a zip damaged part-way yields the entries before the damage, then fails", async () => {
    const zipPath = await writeZip(zipBytes([storedEntry("a.jpg", JPEG), storedEntry("b.jpg", JPEG)], { declaredEntryCount: 3 }));
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const item of readZipEntries(zipPath, resolveInputLimits())) seen.push(`${item.kind} ${item.path}`);
      })(),
      (error: Error) => {
        assert.ok(error instanceof ZipReadError);
        readable(error.message, "damaged after its first 2 entries");
        return true;
      },
    );
    assert.deepEqual(seen, ["image a.jpg", "image b.jpg"]);
  });

  test("an entry whose data lies outside the file is rejected when its first bytes cannot be read", async () => {
    const whole = zipBytes([storedEntry("a.jpg", JPEG)]);
    // Point the central directory's local header offset (byte 42 of the record) past the data.
    const centralStart = whole.length - 22 - 46 - "a.jpg".length;
    whole.writeUInt32LE(whole.length - 10, centralStart + 42);
    const items = await listEntries(await writeZip(whole));
    assert.equal(items.length, 1);
    readable(rejectedReason(items, "a.jpg"), "damaged or truncated");
  });

  test("300 entries over one stored JPEG (issue 9): the first is listed, every other is rejected naming it", async () => {
    const photo = Buffer.concat([JPEG, Buffer.alloc(4000, 7)]);
    const entries = [storedEntry("IMG_0001.JPG", photo)];
    for (let i = 2; i <= 300; i++) entries.push(storedEntry(`IMG_${String(i).padStart(4, "0")}.JPG`, photo, { pointsAt: { entry: 0 } }));
    const items = await listEntries(await writeZip(zipBytes(entries)));
    assert.equal(items.length, 300);
    assert.deepEqual(summarise(items.filter((item) => item.kind === "image")), [{ kind: "image", path: "IMG_0001.JPG", size: photo.length }]);
    readable(rejectedReason(items, "IMG_0300.JPG"), "also those of \"IMG_0001.JPG\"", "only the first is kept");
  });

  test("an entry whose bytes start inside another's data is rejected too; zips whose entries follow each other are not", async () => {
    const inner = zipBytes([storedEntry("inner.jpg", JPEG)]).subarray(0, 30 + "inner.jpg".length + JPEG.length); // a local header and its data
    const outer = Buffer.concat([JPEG, inner]);
    const items = await listEntries(
      await writeZip(
        zipBytes([
          storedEntry("outer.jpg", outer),
          storedEntry("inner.jpg", JPEG, { pointsAt: { entry: 0, intoData: 30 + "outer.jpg".length + JPEG.length } }),
          storedEntry("after.jpg", JPEG),
        ]),
      ),
    );
    assert.deepEqual(
      items.map((item) => [item.kind, item.path]),
      [
        ["image", "outer.jpg"],
        ["rejected", "inner.jpg"],
        ["image", "after.jpg"],
      ],
    );
    readable(rejectedReason(items, "inner.jpg"), "\"outer.jpg\"");
  });

  test("a photo in a hidden folder is listed like any other; only the named OS junk is skipped", async () => {
    const items = await listEntries(
      await writeZip(
        zipBytes([
          storedEntry("cam/.also_hidden.jpg", JPEG),
          storedEntry(".cam2/IMG_0001.JPG", JPEG),
          storedEntry("cam/._IMG_0001.JPG", Buffer.from("apple double")),
          storedEntry(".Trash-1000/files/old.jpg", JPEG),
          storedEntry("System Volume Information/WPSettings.dat", Buffer.from("settings")),
        ]),
      ),
    );
    assert.deepEqual(summarise(items), [
      { kind: "image", path: "cam/.also_hidden.jpg", size: JPEG.length },
      { kind: "image", path: ".cam2/IMG_0001.JPG", size: JPEG.length },
    ]);
  });

  test("an empty zip, or one of only folders and OS junk, is one row saying so", async () => {
    const empty = await listEntries(await writeZip(zipBytes([])));
    assert.deepEqual(empty, [{ kind: "rejected", reason: EMPTY_ZIP_REASON }]);
    const foldersOnly = await listEntries(await writeZip(zipBytes([directoryEntry("DCIM/"), storedEntry("__MACOSX/._a.jpg", JPEG)])));
    assert.equal(foldersOnly.length, 1);
    assert.ok(foldersOnly[0]?.kind === "rejected" && foldersOnly[0].path === undefined);
    readable(foldersOnly[0].reason, "only folders and system files");
    const withRejections = await listEntries(await writeZip(zipBytes([storedEntry("notes.txt", Buffer.from("hello, this is text"))])));
    assert.deepEqual(withRejections.map((item) => [item.kind, item.path]), [["rejected", "notes.txt"]], "a zip whose entries have rows needs no extra one");
  });

  test("in ranges, a zip-wide error comes from one range: too many entries from the first, damage from the range holding it", async () => {
    const zipPath = await writeZip(zipBytes([storedEntry("a.jpg", JPEG), storedEntry("b.jpg", JPEG), storedEntry("c.jpg", JPEG), storedEntry("d.jpg", JPEG)]));
    assert.equal(await countZipEntries(zipPath), 4);
    await assert.rejects(listEntries(zipPath, { maxZipEntries: 3 }, { from: 0, to: 2 }), ZipReadError);
    assert.deepEqual(await listEntries(zipPath, { maxZipEntries: 3 }, { from: 2, to: 4 }), []);

    // Two entries where the end record promises four: the record at index 2 is the damage.
    const damaged = await writeZip(zipBytes([storedEntry("a.jpg", JPEG), storedEntry("b.jpg", JPEG)], { declaredEntryCount: 4 }));
    assert.deepEqual(summarise(await listEntries(damaged, {}, { from: 0, to: 2 })), [
      { kind: "image", path: "a.jpg", size: JPEG.length },
      { kind: "image", path: "b.jpg", size: JPEG.length },
    ]);
    await assert.rejects(listEntries(damaged, {}, { from: 2, to: 3 }), /damaged after its first 2 entries/);
    assert.deepEqual(await listEntries(damaged, {}, { from: 3, to: 4 }), [], "a range after the damage leaves it to the range that holds it");

    await assert.rejects(listEntries(zipPath, {}, { from: 3, to: 1 }), RangeError);
  });
});
