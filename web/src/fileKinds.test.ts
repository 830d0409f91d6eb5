import { test } from "node:test";
import assert from "node:assert/strict";
import { notPhotoReason } from "./fileKinds.ts";

test("photos and zips pass, whatever the case of their extension", () => {
  for (const [name, type] of [
    ["DCIM/100RECNX/IMG_0001.JPG", "image/jpeg"],
    ["a.jpeg", ""],
    ["scan.PNG", "image/png"],
    ["frame.tif", "image/tiff"],
    ["phone.HEIC", ""],
    ["card.zip", "application/zip"],
    ["card.ZIP", "application/x-zip-compressed"],
    ["no-extension", "image/jpeg"],
  ] as const) {
    assert.equal(notPhotoReason(name, type, 1000), null, name);
  }
});

test("the files testers found in their folders are flagged, each with what it is", () => {
  assert.equal(notPhotoReason("report.pdf", "application/pdf", 5000), "a PDF document");
  assert.equal(notPhotoReason("notes.txt", "text/plain", 12), "a text file");
  assert.equal(notPhotoReason("empty.jpg", "image/jpeg", 0), "an empty file (0 bytes)");
  assert.equal(notPhotoReason("clip.MP4", "video/mp4", 9_000_000), "a video");
  assert.equal(notPhotoReason("old.bmp", "image/bmp", 100), "a BMP image, which is not supported (convert it to JPEG)");
  assert.equal(notPhotoReason("settings.xml", "text/xml", 100), "not a photo or zip (.xml)");
  assert.equal(notPhotoReason("README", "", 100), "not a photo or zip (no file type)");
  assert.equal(notPhotoReason(".hidden", "", 100), "not a photo or zip (no file type)");
});
