// Zips read from the S3 emulator with ranged GETs: the same items as reading the zip from disk,
// ranges that add up to the whole listing, and only a small part of a big zip fetched for a
// small range or a count.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLocalAws, TEST_CREDENTIALS, type LocalAws } from "../../test/helpers/localAws.ts";
import { deflatedEntry, directoryEntry, storedEntry, zipBytes } from "../../test/helpers/zipBytes.ts";
import { noiseJpeg, photo } from "../../test/e2e/photos.ts";
import { resolveInputLimits, type InputLimits } from "../pipeline/inputs/limits.ts";
import {
  countZipEntries,
  EMPTY_ZIP_REASON,
  NESTED_ZIP_REASON,
  readZipEntries,
  ZipReadError,
  ZipSourceError,
  type ZipEntryRange,
  type ZipSource,
} from "../pipeline/inputs/zipEntries.ts";
import { s3ZipSource, type S3ZipSource } from "./s3ZipSource.ts";

/** What yauzl reads first to find the end of the central directory (or the whole zip if smaller). */
const TAIL_BYTES = 22 + 20 + 0xffff;

let aws: LocalAws;
let folder: string;
let keys = 0;

before(async () => {
  aws = await startLocalAws();
  folder = await mkdtemp(join(tmpdir(), "trapline-s3zip-"));
});

after(async () => {
  await aws?.stop();
  await rm(folder, { recursive: true, force: true });
});

/** Puts the zip at a fresh key; returns a source for it (with its ETag) and its local copy. */
async function stored(bytes: Buffer): Promise<{ s3: S3ZipSource; local: string; key: string; etag: string }> {
  keys += 1;
  const key = `jobs/zip-test/input/test-${keys}.zip`;
  const { ETag } = await aws.clients.s3.send(new PutObjectCommand({ Bucket: aws.config.BUCKET, Key: key, Body: bytes }));
  assert.ok(ETag);
  const local = join(folder, `test-${keys}.zip`);
  await writeFile(local, bytes);
  return { s3: sourceAt(key, bytes.length, ETag), local, key, etag: ETag };
}

function sourceAt(key: string, size: number, etag?: string): S3ZipSource {
  return s3ZipSource(aws.clients.s3, { bucket: aws.config.BUCKET, key, size, ...(etag ? { etag } : {}), describe: key });
}

type Listed = { kind: "image"; path: string; size: number; bytes: Buffer } | { kind: "rejected"; path?: string; reason: string };

/** Every item of the listing, each image read after the listing ended (as the pipeline does). */
async function list(source: ZipSource, range: ZipEntryRange = {}, limits: Partial<InputLimits> = {}): Promise<Listed[]> {
  const resolved = resolveInputLimits(limits);
  const items = [];
  for await (const item of readZipEntries(source, resolved, undefined, range)) items.push(item);
  const listed: Listed[] = [];
  for (const item of items) listed.push(item.kind === "image" ? { kind: "image", path: item.path, size: item.size, bytes: await item.read() } : item);
  return listed;
}

async function listInRanges(source: ZipSource, bounds: number[], limits: Partial<InputLimits> = {}): Promise<Listed[][]> {
  const parts: Listed[][] = [];
  for (let i = 0; i + 1 < bounds.length; i += 1) parts.push(await list(source, { from: bounds[i]!, to: bounds[i + 1]! }, limits));
  return parts;
}

function shape(items: Listed[]): Array<[string, string | undefined]> {
  return items.map((item) => [item.kind, item.path]);
}

describe("a zip read from S3 with ranged GETs", () => {
  let mixed: Awaited<ReturnType<typeof stored>>;
  let jpegA: Buffer;
  let jpegB: Buffer;

  before(async () => {
    jpegA = await photo();
    jpegB = await photo({ left: 10, top: 10, width: 50, height: 40 });
    mixed = await stored(
      zipBytes([
        directoryEntry("cam1/"),
        deflatedEntry("cam1/IMG_0001.JPG", jpegA),
        storedEntry("cam1/IMG_0002.JPG", jpegB),
        storedEntry("__MACOSX/cam1/._IMG_0001.JPG", Buffer.from("apple double")),
        storedEntry("../x.jpg", jpegA),
        storedEntry("cam1/inner.zip", zipBytes([storedEntry("a.jpg", jpegA)])),
        storedEntry("cam1/notes.txt", Buffer.from("field notes: camera 1 moved on day 3\n")),
        deflatedEntry("cam2/IMG_0003.JPG", jpegB),
      ]),
    );
  });

  test("lists and reads exactly what the same zip on disk gives", async () => {
    const fromDisk = await list(mixed.local);
    const fromS3 = await list(mixed.s3);
    assert.deepEqual(fromS3, fromDisk);
    assert.deepEqual(shape(fromS3), [
      ["image", "cam1/IMG_0001.JPG"],
      ["image", "cam1/IMG_0002.JPG"],
      ["rejected", undefined],
      ["rejected", "cam1/inner.zip"],
      ["rejected", "cam1/notes.txt"],
      ["image", "cam2/IMG_0003.JPG"],
    ]);
    const images = fromS3.filter((item) => item.kind === "image");
    assert.deepEqual(
      images.map((item) => item.bytes),
      [jpegA, jpegB, jpegB],
    );
    const [, , unsafe, nested] = fromS3;
    assert.match(unsafe?.kind === "rejected" ? unsafe.reason : "", /"\.\.\/x\.jpg"/);
    assert.equal(nested?.kind === "rejected" ? nested.reason : "", NESTED_ZIP_REASON);
  });

  test("ranges [0,3), [3,6), [6,end) list together exactly the whole zip", async () => {
    const whole = await list(mixed.s3);
    const parts = await listInRanges(mixed.s3, [0, 3, 6, 8]);
    assert.deepEqual(parts.flat(), whole);
    assert.deepEqual(parts.map(shape), [
      [
        ["image", "cam1/IMG_0001.JPG"],
        ["image", "cam1/IMG_0002.JPG"],
      ],
      [
        ["rejected", undefined],
        ["rejected", "cam1/inner.zip"],
      ],
      [
        ["rejected", "cam1/notes.txt"],
        ["image", "cam2/IMG_0003.JPG"],
      ],
    ]);
    assert.deepEqual(await list(mixed.s3, { from: 8, to: 20 }), [], "a range past the end lists nothing");
  });

  test("an empty or folders-only zip gets its one row from the range that starts at 0, whatever the ranges", async () => {
    const empty = await stored(zipBytes([]));
    assert.deepEqual(await listInRanges(empty.s3, [0, 0]), [[{ kind: "rejected", reason: EMPTY_ZIP_REASON }]]);
    assert.deepEqual(await list(empty.s3, { from: 0, to: 5 }), [{ kind: "rejected", reason: EMPTY_ZIP_REASON }]);

    const folders = await stored(
      zipBytes([
        directoryEntry("cam1/"),
        directoryEntry("cam1/day1/"),
        storedEntry("cam1/.DS_Store", Buffer.from("finder")),
        directoryEntry("cam2/"),
        storedEntry("__MACOSX/cam2/._x", Buffer.from("apple double")),
        storedEntry("Thumbs.db", Buffer.from("thumbs")),
        directoryEntry("cam3/"),
      ]),
    );
    const whole = await list(folders.s3);
    assert.equal(whole.length, 1);
    assert.match(whole[0]?.kind === "rejected" ? whole[0].reason : "", /only folders/);
    assert.deepEqual(await listInRanges(folders.s3, [0, 3, 6, 7]), [whole, [], []]);
    assert.deepEqual(await list(folders.s3, { from: 3 }), [], "a range to the end that starts later says nothing");
    assert.deepEqual(await list(empty.s3, { from: 1 }), []);

    // The first range holds only folders but the zip does not: no row.
    const laterPhoto = await stored(zipBytes([directoryEntry("cam1/"), directoryEntry("cam2/"), directoryEntry("cam3/"), storedEntry("cam3/IMG_1.JPG", jpegA)]));
    assert.deepEqual((await listInRanges(laterPhoto.s3, [0, 2, 4])).map(shape), [[], [["image", "cam3/IMG_1.JPG"]]]);
  });

  test("the per-zip cap rejects the same entries whether the zip is read whole or in ranges", async () => {
    const capped = await stored(
      zipBytes([
        storedEntry("a.jpg", jpegA),
        storedEntry("notes.txt", Buffer.from("counted: it passes the central directory's checks")),
        storedEntry("b.jpg", jpegA),
        storedEntry("c.jpg", jpegA),
        directoryEntry("more/"),
        storedEntry("more/d.jpg", jpegA),
      ]),
    );
    const limits = { maxZipUnpackedBytes: jpegA.length * 3 };
    const whole = await list(capped.s3, {}, limits);
    assert.deepEqual(shape(whole), [
      ["image", "a.jpg"],
      ["rejected", "notes.txt"],
      ["image", "b.jpg"],
      ["rejected", "c.jpg"],
      ["rejected", "more/d.jpg"],
    ]);
    assert.deepEqual((await listInRanges(capped.s3, [0, 2, 4, 6], limits)).flat(), whole);
    assert.deepEqual(await list(capped.local, {}, limits), whole);
  });

  test("an entry that lies about its size or checksum fails its read from S3 with the words it gets from disk", async () => {
    const liar = await stored(
      zipBytes([
        deflatedEntry("smaller.jpg", Buffer.concat([jpegA, Buffer.alloc(256 * 1024, 7)]), { uncompressedSize: 1000 }),
        deflatedEntry("larger.jpg", jpegA, { uncompressedSize: jpegA.length + 10 }),
        storedEntry("flipped.jpg", jpegB, { crc32: 12345 }),
      ]),
    );
    const failures = async (source: ZipSource) => {
      const reasons = [];
      for await (const item of readZipEntries(source, resolveInputLimits())) {
        assert.ok(item.kind === "image", `${item.path} should be listed`);
        reasons.push(await item.read().then(() => "read", (error: Error) => error.message));
      }
      return reasons;
    };
    const fromS3 = await failures(liar.s3);
    assert.deepEqual(fromS3, await failures(liar.local));
    assert.equal(fromS3.length, 3);
    assert.match(fromS3[0]!, /more than the 1000 bytes its zip header declares/);
    assert.match(fromS3[1]!, /less than .* its zip header declares/);
    assert.match(fromS3[2]!, /checksum mismatch/);
  });

  test("a range of 10 entries out of 200 fetches a small part of the zip", async () => {
    const entryBytes = 8192;
    const entries = Array.from({ length: 200 }, (_, i) => storedEntry(`cam/IMG_${String(i).padStart(4, "0")}.JPG`, noiseJpeg(entryBytes)));
    const zip = zipBytes(entries);
    const big = await stored(zip);
    const listed = await list(big.s3, { from: 100, to: 110 });
    assert.deepEqual(
      listed.map((item) => item.path),
      entries.slice(100, 110).map((entry) => entry.name),
    );
    assert.deepEqual(
      listed.map((item) => (item.kind === "image" ? item.bytes : undefined)),
      entries.slice(100, 110).map((entry) => entry.data),
    );
    const { gets, bytes } = big.s3.stats();
    // The end of the zip once (the central directory is inside it), then per entry its local
    // header and first bytes, and its data when read: well under 3 entries' worth each.
    const allowed = TAIL_BYTES + 10 * 3 * entryBytes;
    assert.ok(bytes <= allowed, `fetched ${bytes} bytes, allowed ${allowed}`);
    assert.ok(bytes < zip.length / 6, `fetched ${bytes} of the zip's ${zip.length} bytes`);
    assert.ok(gets <= 1 + 10 + 10, `${gets} GETs`);
  });

  test("a central directory larger than the zip's tail is walked in a few growing reads, not two per entry", async () => {
    const count = 3000;
    const body = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(1020, 7)]);
    const name = (i: number) => `a-long-folder-name-for-camera-traps/site-07/IMG_${String(i).padStart(5, "0")}.JPG`;
    const zip = zipBytes(Array.from({ length: count }, (_, i) => storedEntry(name(i), body)));
    const centralDirectoryBytes = count * (46 + name(0).length);
    assert.ok(centralDirectoryBytes > 3 * TAIL_BYTES, "the test needs a central directory well past the tail");
    const big = await stored(zip);
    const listed = await list(big.s3, { from: count - 10, to: count });
    assert.deepEqual(
      listed.map((item) => item.path),
      Array.from({ length: 10 }, (_, i) => name(count - 10 + i)),
    );
    const { gets, bytes } = big.s3.stats();
    assert.ok(gets < 40, `${gets} GETs for ${count} central directory records`);
    assert.ok(bytes < TAIL_BYTES + 2 * centralDirectoryBytes + 10 * 8192, `fetched ${bytes} bytes`);
    assert.ok(bytes < zip.length / 4, `fetched ${bytes} of the zip's ${zip.length} bytes`);
  });

  test("countZipEntries reads only the zip's tail, and refuses what is not a zip", async () => {
    const entries = Array.from({ length: 200 }, (_, i) => storedEntry(`IMG_${i}.JPG`, noiseJpeg(4096)));
    const zip = zipBytes([directoryEntry("cam/"), ...entries]);
    const big = await stored(zip);
    assert.equal(await countZipEntries(big.s3), 201);
    assert.equal(await countZipEntries(big.local), 201);
    assert.deepEqual(big.s3.stats(), { gets: 1, bytes: TAIL_BYTES });

    const notZip = await stored(Buffer.from("this is a text file that was named .zip"));
    await assert.rejects(countZipEntries(notZip.s3), (error: Error) => error instanceof ZipReadError && /not a readable zip/.test(error.message));
  });

  test("an object replaced after its ETag was taken is refused as changed, when listed and when read", async () => {
    const first = zipBytes([storedEntry("IMG_1.JPG", jpegA)]);
    const original = await stored(first);
    await aws.clients.s3.send(new PutObjectCommand({ Bucket: aws.config.BUCKET, Key: original.key, Body: zipBytes([storedEntry("IMG_1.JPG", jpegB)]) }));
    const stale = sourceAt(original.key, first.length, original.etag);
    const changed = (error: Error) => error instanceof ZipReadError && /changed after the upload was checked/.test(error.message);
    await assert.rejects(list(stale), changed);
    await assert.rejects(countZipEntries(stale), changed);

    // Listed before the change, read after it: the read is refused too, not called damage.
    const later = await stored(first);
    const items = [];
    for await (const item of readZipEntries(later.s3, resolveInputLimits())) items.push(item);
    await aws.clients.s3.send(new PutObjectCommand({ Bucket: aws.config.BUCKET, Key: later.key, Body: Buffer.from("something else") }));
    const [image] = items;
    assert.ok(image?.kind === "image");
    await assert.rejects(image.read(), (error: Error) => error instanceof ZipSourceError && error.permanent && /changed after the upload/.test(error.message));
  });

  test("a zip gone from storage is a row's reason; storage that cannot be reached is thrown as is, not called damage", async () => {
    await assert.rejects(list(sourceAt("jobs/zip-test/input/never-uploaded.zip", 1000)), (error: Error) => error instanceof ZipReadError && /not found in storage/.test(error.message));

    const unreachable = new S3Client({ endpoint: "http://127.0.0.1:9", forcePathStyle: true, region: "us-east-1", credentials: TEST_CREDENTIALS, maxAttempts: 1 });
    const source = s3ZipSource(unreachable, { bucket: "b", key: "k.zip", size: 1000, describe: "k.zip" });
    await assert.rejects(list(source), (error: Error) => error instanceof ZipSourceError && !error.permanent && /k\.zip/.test(error.message));
    unreachable.destroy();
  });
});
