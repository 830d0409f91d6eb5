import { test } from "node:test";
import assert from "node:assert/strict";
import sharp from "sharp";
import { ascii } from "../../../test/helpers/exifImages.ts";
import { damagedIsoMediaFiles, heifWithExif } from "../../../test/helpers/isoMedia.ts";
import { isoBoxProblem } from "./isoBoxes.ts";

test("box chains exifr would loop on or read past are refused, each with where it breaks", () => {
  const problems = Object.fromEntries(Object.entries(damagedIsoMediaFiles()).map(([name, bytes]) => [name, isoBoxProblem(bytes)]));
  assert.match(problems["zero-length-box.heic"] ?? "", /box .* at byte 24 claims size 0/);
  assert.match(problems["zero-length-ftyp.heic"] ?? "", /first box claims 0 bytes/);
  assert.match(problems["zero-64-bit-size.heic"] ?? "", /box "free" at byte 24 claims size 0/);
  assert.match(problems["box-smaller-than-header.heic"] ?? "", /claims 3 bytes, less than its own header/);
  assert.match(problems["box-past-the-end.heic"] ?? "", /before any metadata box/);
  // Cut inside meta: exifr's walk inside meta stops at the end of the file by itself.
  assert.equal(problems["cut-in-meta.heic"], undefined);
});

test("well-formed HEIF and AVIF pass, and so does every file that does not start like ISO media", async () => {
  assert.equal(isoBoxProblem(heifWithExif({ ifd0: { 0x010f: ascii("RECONYX") } })), undefined);
  const avif = await sharp({ create: { width: 16, height: 16, channels: 3, background: "#336699" } }).avif().toBuffer();
  assert.equal(isoBoxProblem(avif), undefined);
  const jpeg = await sharp({ create: { width: 16, height: 16, channels: 3, background: "#336699" } }).jpeg().toBuffer();
  assert.equal(isoBoxProblem(jpeg), undefined);
  assert.equal(isoBoxProblem(Buffer.from("II*\0\0\0\0\0", "latin1")), undefined);
});
