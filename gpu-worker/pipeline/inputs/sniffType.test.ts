import { describe, test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { describeNonImage, SNIFF_BYTES, sniffType } from "./sniffType.ts";

const latin1 = (text: string) => Buffer.from(text, "latin1");

describe("sniffType", () => {
  test("recognises the images sharp writes, by content alone", async () => {
    const pixels = sharp({ create: { width: 4, height: 4, channels: 3, background: "#3a5f2b" } });
    for (const format of ["jpeg", "png", "tiff", "webp", "gif", "avif"] as const) {
      const bytes = await pixels.clone().toFormat(format).toBuffer();
      assert.deepEqual(sniffType(bytes.subarray(0, SNIFF_BYTES)), { kind: "image", format }, format);
    }
  });

  test("recognises other signatures", () => {
    const cases: Array<[Buffer, ReturnType<typeof sniffType>]> = [
      [latin1("MM\x00*\x00\x00\x00\x08"), { kind: "image", format: "tiff" }],
      [latin1("II+\x00\x08\x00\x00\x00"), { kind: "image", format: "tiff" }],
      [latin1("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00"), { kind: "image", format: "heif" }],
      [latin1("PK\x03\x04\x14\x00\x00\x00"), { kind: "zip" }],
      [latin1("PK\x05\x06\x00\x00\x00\x00"), { kind: "zip" }],
      [latin1("\x00\x00\x00\x20ftypisom\x00\x00\x02\x00"), { kind: "other", description: "MP4 video" }],
      [latin1("\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00"), { kind: "other", description: "QuickTime video" }],
      [latin1("RIFF\x00\x10\x00\x00AVI LIST"), { kind: "other", description: "AVI video" }],
      [latin1("%PDF-1.7\n%\xe2\xe3\xcf\xd3"), { kind: "other", description: "PDF document" }],
      [latin1("date,site,species\n"), { kind: "other", description: "text file" }],
      [Buffer.from("Tsavo – émeu\n"), { kind: "other", description: "text file" }],
      // A head can end in the middle of a UTF-8 character.
      [Buffer.from("Lake Manyara é").subarray(0, 14), { kind: "other", description: "text file" }],
      [latin1("BM\x36\x00\x0c\x00\x00\x00\x00\x00"), { kind: "other", description: "BMP image, which is not supported: convert it to JPEG" }],
      [Buffer.from([0x00, 0x01, 0x02, 0x03, 0x04]), { kind: "other", description: "unrecognised file type" }],
      [Buffer.from([0xff, 0xd8]), { kind: "other", description: "unrecognised file type" }],
      [Buffer.alloc(0), { kind: "empty" }],
    ];
    for (const [head, expected] of cases) assert.deepEqual(sniffType(head), expected, head.toString("latin1"));
  });

  test("describes what is not an image in words", () => {
    assert.equal(describeNonImage({ kind: "empty" }), "empty file (0 bytes)");
    assert.equal(describeNonImage({ kind: "other", description: "text file" }), "not an image (text file)");
  });
});
