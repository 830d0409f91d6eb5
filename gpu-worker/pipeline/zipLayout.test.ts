import { test } from "node:test";
import assert from "node:assert/strict";
import { withCopyNumber, ZIP_OWN_NAMES, ZipPaths } from "./zipLayout.ts";

function claimAll(paths: string[]): string[] {
  const names = new ZipPaths();
  return paths.map((path) => names.claim(path));
}

function assertUniqueIgnoringCase(paths: string[]): void {
  assert.equal(new Set(paths.map((path) => path.toLowerCase())).size, paths.length, paths.join(", "));
}

test("copy numbers go before a file's extension and after a folder's name", () => {
  assert.equal(withCopyNumber("IMG_0001.JPG", 2), "IMG_0001 (2).JPG");
  assert.equal(withCopyNumber("notes", 3), "notes (3)");
  assert.equal(withCopyNumber(".hidden", 2), ".hidden (2)");
  assert.equal(withCopyNumber("DCIM.v2", 2, false), "DCIM.v2 (2)");
});

test("a photo's path is handed out once, ignoring case", () => {
  assert.deepEqual(claimAll(["cam/IMG.JPG", "cam/img.jpg", "CAM/Img.Jpg", "cam/IMG (2).JPG"]), ["cam/IMG.JPG", "cam/img (2).jpg", "CAM/Img (3).Jpg", "cam/IMG (2) (2).JPG"]);
});

test("photos named like the zip's own files move aside, whatever else is there, in either order", () => {
  const readmeFirst = claimAll(["README.txt", "README (2).txt", "readme (3).TXT"]);
  const readmeLast = claimAll(["README (2).txt", "README.txt"]);
  const sortedFirst = claimAll(["sorted/x.jpg", "sorted (2)/x.jpg"]);
  const sortedLast = claimAll(["sorted (2)/x.jpg", "sorted/x.jpg"]);
  assert.deepEqual(readmeFirst, ["README (2).txt", "README (2) (2).txt", "readme (3).TXT"]);
  assert.deepEqual(readmeLast, ["README (2).txt", "README (3).txt"]);
  assert.deepEqual(sortedFirst, ["sorted (2)/x.jpg", "sorted (2)/x (2).jpg"]);
  assert.deepEqual(sortedLast, ["sorted (2)/x.jpg", "sorted (2)/x (2).jpg"]);
  for (const paths of [readmeFirst, readmeLast, sortedFirst, sortedLast]) {
    assertUniqueIgnoringCase(paths);
    for (const path of paths) assert.ok(!ZIP_OWN_NAMES.some((own) => path.split("/")[0]!.toLowerCase() === own.toLowerCase()), path);
  }
  assert.deepEqual(claimAll(["Camtrap-DP/media.csv", "results.XLSX", "cam1/README.txt", "sorted.jpg"]), ["Camtrap-DP (2)/media.csv", "results (2).XLSX", "cam1/README.txt", "sorted.jpg"]);
});

test("every one of the zip's own names is kept free, as a file and as a folder", () => {
  for (const own of ZIP_OWN_NAMES) {
    const [asFile, asFolder] = claimAll([own.toUpperCase(), `${own}/IMG.JPG`]);
    assert.notEqual(asFile!.toLowerCase(), own.toLowerCase());
    assert.ok(!asFolder!.toLowerCase().startsWith(`${own.toLowerCase()}/`), asFolder);
  }
});

test("a file and a folder never share a path", () => {
  assert.deepEqual(claimAll(["a", "a/b.jpg", "A/c.jpg"]), ["a", "a (2)/b.jpg", "A (2)/c.jpg"]);
  assert.deepEqual(claimAll(["x/y.jpg", "X"]), ["x/y.jpg", "X (2)"]);
});

test("claiming paths that are already unique changes nothing, so inputs and the pipeline can both claim", () => {
  const once = claimAll(["README.txt", "README (2).txt", "sorted/x.jpg", "sorted (2)/x.jpg", "a/IMG.JPG", "a/img.jpg", "a", "DCIM/100RECNX/IMG_0001.JPG"]);
  assert.deepEqual(claimAll(once), once);
});

test("several inputs keep their own names, a second of the same name (or one of the zip's) getting (2)", () => {
  const names = new ZipPaths();
  assert.equal(names.claimInputName("SDcard01", false), "SDcard01");
  assert.equal(names.claimInputName("sdcard01", false), "sdcard01 (2)");
  assert.equal(names.claimInputName("sorted", false), "sorted (2)");
  assert.equal(names.claimInputName("IMG_0001.JPG", true), "IMG_0001.JPG");
  assert.equal(names.claimInputName("img_0001.jpg", true), "img_0001 (2).jpg");
  assert.equal(names.claimInputName("README.txt", true), "README (2).txt");
  // The photos inside keep those names: claiming them again moves nothing.
  assert.equal(names.claim("sdcard01 (2)/DCIM/IMG_0001.JPG"), "sdcard01 (2)/DCIM/IMG_0001.JPG");
  assert.equal(names.claim("img_0001 (2).jpg"), "img_0001 (2).jpg");
});
