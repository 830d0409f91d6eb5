import { test } from "node:test";
import assert from "node:assert/strict";
import { placePick, shownPath, singleFolder, type NamedFile } from "./pickedNames.ts";

const card = (root: string, stamp: number): NamedFile[] => [
  { path: `${root}/DCIM/100RECNX/IMG_0001.JPG`, size: 1000 + stamp, lastModified: stamp },
  { path: `${root}/DCIM/100RECNX/IMG_0002.JPG`, size: 2000 + stamp, lastModified: stamp },
];

test("a second folder of the same name gets a name of its own", () => {
  const first = card("SDcard", 1);
  const placed = placePick(first, card("SDcard", 2));
  assert.deepEqual(placed.paths, ["SDcard (2)/DCIM/100RECNX/IMG_0001.JPG", "SDcard (2)/DCIM/100RECNX/IMG_0002.JPG"]);
  assert.deepEqual(placed.renamed, [{ from: "SDcard", to: "SDcard (2)" }]);

  // A third card goes on counting; the case of the name does not matter (Windows, macOS).
  const listed = [...first, ...card("SDcard (2)", 2)];
  assert.deepEqual(placePick(listed, card("sdcard", 3)).renamed, [{ from: "sdcard", to: "sdcard (3)" }]);
});

test("picking the same folder again is not a second card: same name, nothing doubled", () => {
  const first = card("SDcard", 1);
  assert.deepEqual(placePick(first, first), { paths: first.map((file) => file.path), renamed: [] });
  // ...also the second card, picked again under its original name.
  const listed = [...first, ...card("SDcard (2)", 2)];
  assert.deepEqual(placePick(listed, card("SDcard", 2)).paths, card("SDcard (2)", 2).map((file) => file.path));
  // ...and with a photo taken since: it joins the same folder.
  const later = [...first, { path: "SDcard/DCIM/100RECNX/IMG_0003.JPG", size: 5, lastModified: 9 }];
  assert.deepEqual(placePick(first, later).renamed, []);
});

test("loose files of the same name are numbered before the extension; a file never merges with a folder", () => {
  const listed: NamedFile[] = [{ path: "IMG_0001.JPG", size: 10, lastModified: 1 }];
  assert.deepEqual(placePick(listed, [{ path: "IMG_0001.JPG", size: 11, lastModified: 2 }]).paths, ["IMG_0001 (2).JPG"]);
  assert.deepEqual(placePick(listed, [{ path: "IMG_0001.JPG", size: 10, lastModified: 1 }]).paths, ["IMG_0001.JPG"]);
  assert.deepEqual(placePick([{ path: "DCIM", size: 1, lastModified: 1 }], card("DCIM", 1)).renamed, [{ from: "DCIM", to: "DCIM (2)" }]);
});

test("one pick with clashing roots of its own is placed root by root", () => {
  const placed = placePick([], [
    { path: "a.jpg", size: 1, lastModified: 1 },
    { path: "A.JPG", size: 2, lastModified: 2 },
  ]);
  assert.deepEqual(placed.paths, ["a.jpg", "A (2).JPG"]);
});

test("exactly one folder: names are shown relative to it; anything more keeps each first component", () => {
  const one = card("SDcard01", 1).map((file) => file.path);
  assert.equal(singleFolder(one), "SDcard01");
  assert.deepEqual(one.map((path) => shownPath(path, singleFolder(one))), ["DCIM/100RECNX/IMG_0001.JPG", "DCIM/100RECNX/IMG_0002.JPG"]);

  const two = [...one, ...card("SDcard01 (2)", 2).map((file) => file.path)];
  assert.equal(singleFolder(two), null);
  assert.equal(singleFolder([...one, "card.zip"]), null);
  assert.equal(singleFolder(["card.zip"]), null, "a lone zip is unpacked by the worker, not renamed here");
  assert.equal(singleFolder([]), null);
  assert.equal(shownPath("SDcard01/DCIM/x.jpg", null), "SDcard01/DCIM/x.jpg");
});
