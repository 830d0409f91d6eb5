import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MAX_SAFE_PATH_BYTES, safeRelativePath, toSafeRelativePath } from "./safePath.ts";

describe("toSafeRelativePath", () => {
  test("keeps ordinary relative paths and tidies separators", () => {
    const cases: Array<[string, string]> = [
      ["cam1/IMG_0001.JPG", "cam1/IMG_0001.JPG"],
      ["IMG_0001.JPG", "IMG_0001.JPG"],
      ["cam1\\day 2\\IMG_0001.JPG", "cam1/day 2/IMG_0001.JPG"],
      ["cam1//./IMG_0001.JPG", "cam1/IMG_0001.JPG"],
      ["./cam1/", "cam1"],
      ["site:north/IMG.JPG", "site:north/IMG.JPG"],
      ["...jpg", "...jpg"],
      ["Ngorongoro/Gazelle\u0301.jpg", "Ngorongoro/Gazell\u00e9.jpg"],
    ];
    for (const [raw, expected] of cases) assert.deepEqual(toSafeRelativePath(raw), { ok: true, path: expected }, raw);
  });

  test("refuses paths that escape, are absolute or carry control characters, saying why", () => {
    const cases: Array<[string, RegExp]> = [
      ["../IMG.JPG", /"\.\."/],
      ["cam1/../../IMG.JPG", /"\.\."/],
      ["cam1\\..\\..\\IMG.JPG", /"\.\."/],
      ["..", /"\.\."/],
      ["/etc/passwd", /absolute/],
      ["\\\\server\\share\\IMG.JPG", /absolute/],
      ["C:\\Users\\IMG.JPG", /drive letter \("C:"\)/],
      ["c:IMG.JPG", /drive letter/],
      ["cam1/IMG\u0000.JPG", /control characters/],
      ["cam1/IMG\n.JPG", /control characters/],
      ["cam1/IMG\u0085.JPG", /control characters/],
      ["", /empty/],
      ["./", /empty/],
      ["//", /absolute/],
      [`${"a".repeat(256)}.jpg`, /longer than 255 bytes/],
      [`${"folder/".repeat(200)}IMG.JPG`, new RegExp(`longer than ${MAX_SAFE_PATH_BYTES} bytes`)],
    ];
    for (const [raw, problem] of cases) {
      const result = toSafeRelativePath(raw);
      assert.equal(result.ok, false, JSON.stringify(raw));
      assert.match(result.ok ? "" : result.problem, problem, JSON.stringify(raw));
    }
  });

  test("safeRelativePath returns the key or null", () => {
    assert.equal(safeRelativePath("a\\b.jpg"), "a/b.jpg");
    assert.equal(safeRelativePath("../b.jpg"), null);
  });
});
