import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { buffer } from "node:stream/consumers";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import yazl from "yazl";
import { storedEntry, zipBytes } from "../../../test/helpers/zipBytes.ts";
import type { InputItem } from "../types.ts";
import { collectInputs, planInputs } from "./collectInputs.ts";

let root: string;
const bytes = new Map<string, Buffer>();

async function photo(colour: string, format: "jpeg" | "png" = "jpeg"): Promise<Buffer> {
  return sharp({ create: { width: 8, height: 6, channels: 3, background: colour } }).toFormat(format).toBuffer();
}

/** An ordinary zip, as yazl (and so most tools) writes it. */
async function yazlZip(files: Record<string, Buffer>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(content, name);
  zip.end();
  return buffer(zip.outputStream);
}

async function put(relativePath: string, content: Buffer): Promise<string> {
  const path = join(root, relativePath);
  await mkdir(join(path, ".."), { recursive: true });
  await writeFile(path, content);
  return path;
}

function shape(items: InputItem[]) {
  return items.map((item) => (item.kind === "image" ? ["image", item.source.path] : ["rejected", item.path]));
}

function reasonAt(items: InputItem[], path: string): string {
  const item = items.find((candidate) => candidate.kind === "rejected" && candidate.path === path);
  assert.ok(item?.kind === "rejected", `no rejected item at ${path}`);
  return item.reason;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), "trapline-inputs-"));
  bytes.set("jpegA", await photo("#224411"));
  bytes.set("jpegB", await photo("#884422"));
  bytes.set("jpegC", await photo("#112288"));
  bytes.set("png", await photo("#777777", "png"));

  await put("cam1/IMG_0001.JPG", bytes.get("jpegA")!);
  await put("cam1/IMG_0002.jpg", bytes.get("png")!); // a PNG with a .jpg name
  await put("cam1/notes.jpg", Buffer.from("Site 4, camera facing the waterhole.\n"));
  await put("cam1/empty.JPG", Buffer.alloc(0));
  await put("cam1/.DS_Store", Buffer.from([0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31]));
  await put("cam1/Thumbs.db", Buffer.from([0xd0, 0xcf, 0x11, 0xe0]));
  await put("cam1/sub/IMG_0003.JPG", bytes.get("jpegB")!);
  await put("cam1/card.zip", await yazlZip({ "IMG_0004.JPG": bytes.get("jpegC")! }));
  await put("cam1/results.xlsx", await yazlZip({ "[Content_Types].xml": Buffer.from("<Types/>") }));
  await symlink(join(root, "other"), join(root, "cam1", "link-to-other"));

  // A zip named like the folder argument: its entries go under "cam1 (2)/", not into "cam1/".
  await put(
    "other/cam1.zip",
    await yazlZip({
      "IMG_0001.JPG": bytes.get("jpegB")!,
      "__MACOSX/._IMG_0001.JPG": Buffer.from("apple double"),
      "night/IMG_0005.JPG": bytes.get("jpegC")!,
    }),
  );
  await put("single/IMG_0001.JPG", bytes.get("jpegC")!);
  await put("single2/img_0001.jpg", bytes.get("jpegA")!);
  // A zip by content, whatever its name says, holding one unsafe entry.
  await put("backup.dat", zipBytes([storedEntry("../escape.jpg", bytes.get("jpegA")!), storedEntry("y.jpg", bytes.get("jpegB")!)]));
  const whole = await yazlZip({ "a.jpg": bytes.get("jpegA")! });
  await put("truncated.zip", whole.subarray(0, whole.length - 30));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

function allArguments(): string[] {
  return [
    join(root, "cam1"),
    join(root, "other/cam1.zip"),
    join(root, "single/IMG_0001.JPG"),
    join(root, "single2/img_0001.jpg"),
    join(root, "backup.dat"),
    join(root, "truncated.zip"),
    join(root, "no-such-folder"),
  ];
}

describe("collectInputs", () => {
  test("several folders, zips and single files each keep their own name first, made unique", async () => {
    const items: InputItem[] = [];
    for await (const item of collectInputs(allArguments())) items.push(item);

    assert.deepEqual(shape(items), [
      ["image", "cam1/IMG_0001.JPG"],
      ["image", "cam1/IMG_0002.jpg"],
      ["image", "cam1/card/IMG_0004.JPG"],
      ["rejected", "cam1/empty.JPG"],
      ["rejected", "cam1/link-to-other"],
      ["rejected", "cam1/notes.jpg"],
      ["rejected", "cam1/results.xlsx"],
      ["image", "cam1/sub/IMG_0003.JPG"],
      ["image", "cam1 (2)/IMG_0001.JPG"],
      ["image", "cam1 (2)/night/IMG_0005.JPG"],
      ["image", "IMG_0001.JPG"],
      ["image", "img_0001 (2).jpg"],
      ["rejected", "backup.dat"],
      ["image", "backup.dat/y.jpg"],
      ["rejected", "truncated.zip"],
      ["rejected", "no-such-folder"],
    ]);

    assert.equal(reasonAt(items, "cam1/empty.JPG"), "empty file (0 bytes)");
    assert.equal(reasonAt(items, "cam1/notes.jpg"), "not an image (text file)");
    assert.equal(reasonAt(items, "cam1/results.xlsx"), "not an image (XLSX document)");
    assert.match(reasonAt(items, "cam1/link-to-other"), /link to a folder/);
    assert.match(reasonAt(items, "backup.dat"), /zip entry "\.\.\/escape\.jpg" was not unpacked: its path goes up a folder/);
    assert.match(reasonAt(items, "truncated.zip"), /^is not a readable zip: it may be damaged or truncated \(/);
    assert.match(reasonAt(items, "no-such-folder"), /^could not be opened: ".*no-such-folder" \(not found\)$/);
  });

  test("reads each image's bytes back exactly, with the size it announced", async () => {
    const { items } = await planInputs(allArguments());
    const expected: Record<string, Buffer> = {
      "cam1/IMG_0001.JPG": bytes.get("jpegA")!,
      "cam1/IMG_0002.jpg": bytes.get("png")!,
      "cam1/card/IMG_0004.JPG": bytes.get("jpegC")!,
      "cam1/sub/IMG_0003.JPG": bytes.get("jpegB")!,
      "cam1 (2)/IMG_0001.JPG": bytes.get("jpegB")!,
      "cam1 (2)/night/IMG_0005.JPG": bytes.get("jpegC")!,
      "IMG_0001.JPG": bytes.get("jpegC")!,
      "img_0001 (2).jpg": bytes.get("jpegA")!,
      "backup.dat/y.jpg": bytes.get("jpegB")!,
    };
    const images = items.flatMap((item) => (item.kind === "image" ? [item.source] : []));
    assert.deepEqual(images.map((source) => source.path).sort(), Object.keys(expected).sort());
    for (const source of images) {
      const read = await source.read();
      assert.deepEqual(read, expected[source.path], source.path);
      assert.equal(source.size, read.length, source.path);
    }
    // The PNG named .jpg really is a PNG: routing went by content, and sharp agrees.
    const png = images.find((source) => source.path === "cam1/IMG_0002.jpg")!;
    assert.equal((await sharp(await png.read()).metadata()).format, "png");
  });

  test("plans the same items in the same order every time, with counts", async () => {
    const first = await planInputs(allArguments());
    const second = await planInputs(allArguments());
    assert.deepEqual(shape(second.items), shape(first.items));
    assert.equal(first.imageCount, 9);
    assert.equal(first.rejectedCount, 7);
    assert.deepEqual(first.root, { kind: "several", count: 7 });
  });

  test("reads bytes only when asked, so what is read is the file as it is then", async () => {
    const path = await put("lazy/IMG_0009.JPG", bytes.get("jpegA")!);
    const { items } = await planInputs([path]);
    await writeFile(path, bytes.get("jpegB")!);
    const [item] = items;
    assert.ok(item?.kind === "image");
    assert.deepEqual(await item.source.read(), bytes.get("jpegB"));
  });

  test("applies the image size cap to plain files too", async () => {
    const path = await put("big/IMG_0010.JPG", Buffer.concat([bytes.get("jpegA")!, Buffer.alloc(4096)]));
    const { items } = await planInputs([path], { maxImageBytes: 4096 });
    assert.deepEqual(shape(items), [["rejected", "IMG_0010.JPG"]]);
    assert.match(reasonAt(items, "IMG_0010.JPG"), /^is \d+(\.\d)? KiB, more than the 4 KiB allowed for one image$/);
  });

  test("the zips of one call share one unpacking budget: each under its own cap, together over the job's", async () => {
    const image = await photo("#123456");
    const four = zipBytes(["a", "b", "c", "d"].map((name) => storedEntry(`${name}.jpg`, image)));
    const first = await put("budget/one.zip", four);
    const second = await put("budget/two.zip", four);
    const limits = { maxZipUnpackedBytes: image.length * 4, maxJobUnpackedBytes: image.length * 6 };
    const { items } = await planInputs([first, second], limits);
    assert.deepEqual(
      shape(items),
      [
        ...["a", "b", "c", "d"].map((name) => ["image", `one/${name}.jpg`]),
        ["image", "two/a.jpg"],
        ["image", "two/b.jpg"],
        ["rejected", "two/c.jpg"],
        ["rejected", "two/d.jpg"],
      ],
    );
    assert.match(reasonAt(items, "two/c.jpg"), /zips of this job already unpack to .* one job may hold/);
  });

  test("every file is accounted for: a photo in a dot-folder is processed, an empty zip is a row; only OS junk goes unlisted", async () => {
    const image = await photo("#336699");
    await put("uploads/cam/.also_hidden.jpg", image);
    await put("uploads/cam/.DS_Store", Buffer.from([0, 0, 0, 1, 0x42, 0x75, 0x64, 0x31]));
    await put("uploads/cam/._IMG_0001.JPG", Buffer.from([0, 5, 0x16, 7, 0, 2, 0, 0]));
    await put("uploads/.hidden-folder/IMG_0002.JPG", image);
    await put("uploads/empty.zip", zipBytes([]));
    await put("uploads/.also_hidden.jpg", image);
    const { items } = await planInputs(["cam", ".hidden-folder", "empty.zip", ".also_hidden.jpg"].map((name) => join(root, "uploads", name)));
    assert.deepEqual(shape(items), [
      ["image", "cam/.also_hidden.jpg"],
      ["image", ".hidden-folder/IMG_0002.JPG"],
      ["rejected", "empty.zip"],
      ["image", ".also_hidden.jpg"],
    ]);
    assert.match(reasonAt(items, "empty.zip"), /empty zip/);
  });
});

describe("paths start from what the user chose", () => {
  test("one folder: paths are relative to it, its zips' entries included", async () => {
    const plan = await planInputs([join(root, "cam1")]);
    assert.deepEqual(plan.root, { kind: "folder", name: "cam1" });
    assert.deepEqual(shape(plan.items), [
      ["image", "IMG_0001.JPG"],
      ["image", "IMG_0002.jpg"],
      ["image", "card/IMG_0004.JPG"],
      ["rejected", "empty.JPG"],
      ["rejected", "link-to-other"],
      ["rejected", "notes.jpg"],
      ["rejected", "results.xlsx"],
      ["image", "sub/IMG_0003.JPG"],
    ]);
  });

  test("one folder: a file skipped at its top is a row under the folder's name", async () => {
    await put("odd/IMG_0001.JPG", bytes.get("jpegA")!);
    await put("odd/bad\u0001name.jpg", bytes.get("jpegB")!);
    const { items } = await planInputs([join(root, "odd")]);
    assert.deepEqual(shape(items), [["image", "IMG_0001.JPG"], ["rejected", "odd"]]);
    assert.match(reasonAt(items, "odd"), /was skipped: its path contains control characters/);
  });

  test("one zip: the paths inside it; one that cannot be read is a row under its own name", async () => {
    const plan = await planInputs([join(root, "other/cam1.zip")]);
    assert.deepEqual(plan.root, { kind: "zip", name: "cam1.zip" });
    assert.deepEqual(shape(plan.items), [["image", "IMG_0001.JPG"], ["image", "night/IMG_0005.JPG"]]);
    assert.deepEqual(shape((await planInputs([join(root, "truncated.zip")])).items), [["rejected", "truncated.zip"]]);
  });

  test("one photo: its own name", async () => {
    const plan = await planInputs([join(root, "single/IMG_0001.JPG")]);
    assert.deepEqual(plan.root, { kind: "file", name: "IMG_0001.JPG" });
    assert.deepEqual(shape(plan.items), [["image", "IMG_0001.JPG"]]);
  });

  test("two folders with the same name and layout: each keeps its name first, the second with (2)", async () => {
    await put("a/SDcard01/DCIM/100RECNX/IMG_0001.JPG", bytes.get("jpegA")!);
    await put("b/SDcard01/DCIM/100RECNX/IMG_0001.JPG", bytes.get("jpegB")!);
    const plan = await planInputs([join(root, "a/SDcard01"), join(root, "b/SDcard01")]);
    assert.deepEqual(plan.root, { kind: "several", count: 2 });
    assert.deepEqual(shape(plan.items), [
      ["image", "SDcard01/DCIM/100RECNX/IMG_0001.JPG"],
      ["image", "SDcard01 (2)/DCIM/100RECNX/IMG_0001.JPG"],
    ]);
    const second = plan.items[1];
    assert.deepEqual(second?.kind === "image" ? await second.source.read() : undefined, bytes.get("jpegB"));
  });

  test("photos named like the zip's own files move aside, clear of photos already named so", async () => {
    for (const path of ["README.txt", "README (2).txt", "sorted/x.jpg", "sorted (2)/x.jpg", "Camtrap-DP/y.jpg"]) {
      await put(`own/${path}`, bytes.get("jpegA")!);
    }
    const { items } = await planInputs([join(root, "own")]);
    assert.deepEqual(shape(items), [
      ["image", "Camtrap-DP (2)/y.jpg"],
      ["image", "README (2).txt"],
      ["image", "README (3).txt"],
      ["image", "sorted (2)/x.jpg"],
      ["image", "sorted (2)/x (2).jpg"],
    ]);
  });
});
