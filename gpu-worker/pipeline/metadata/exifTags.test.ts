import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { ascii, jpegWithExif } from "../../../test/helpers/exifImages.ts";
import { exifrInput } from "./exifTags.ts";

test("only a JPEG's header segments go to the metadata thread, up to its start of scan", async () => {
  const jpeg = await jpegWithExif({ ifd0: { 0x010f: ascii("RECONYX") } }, 640, 480);
  const head = exifrInput(jpeg);
  assert.ok(head.length < jpeg.length);
  assert.deepEqual([head.at(-4), head.at(-3)], [0xff, 0xda], "ends just past the SOS marker and its length");
  assert.equal(Buffer.from(head).indexOf("RECONYX"), jpeg.indexOf("RECONYX"), "the EXIF segment is inside");
});

test("a JPEG whose segments do not chain, and every other format, go whole", async () => {
  const jpeg = await jpegWithExif({}, 64, 48);
  const broken = Buffer.from(jpeg);
  broken[2 + 2 + broken.readUInt16BE(4)] = 0x00; // the byte after the first segment is no marker
  assert.equal(exifrInput(broken), broken);
  assert.equal(exifrInput(jpeg.subarray(0, 20)).length, 20);
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#000" } }).png().toBuffer();
  assert.equal(exifrInput(png), png);
});
