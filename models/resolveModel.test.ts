import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { findModel } from "./manifest.ts";
import { ModelResolutionError, resolveModelArgument } from "./resolveModel.ts";

let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-resolve-"));
  await writeFile(join(dir, "md_v5a.0.0.onnx"), "weights");
  await writeFile(join(dir, "my-own-detector.onnx"), "weights");
  await writeFile(join(dir, "notes.txt"), "not a model");
  await mkdir(join(dir, "folder.onnx"));
});

after(async () => {
  await rm(dir, { recursive: true });
});

describe("resolveModelArgument", () => {
  it("uses the manifest's default model when no argument is given", () => {
    const resolved = resolveModelArgument(undefined, dir);
    assert.equal(resolved.path, join(dir, "md_v5a.0.0.onnx"));
    assert.equal(resolved.entry?.id, "md_v5a.0.0");
    assert.equal(resolveModelArgument("  ", dir).entry?.id, "md_v5a.0.0");
  });

  it("resolves a manifest id to its file in the weights folder", () => {
    const resolved = resolveModelArgument("MD_V5A.0.0", dir);
    assert.equal(resolved.path, join(dir, "md_v5a.0.0.onnx"));
    assert.deepEqual(resolved.entry, findModel("md_v5a.0.0"));
  });

  it("tells the exact fetch command when a known model's weights are missing", () => {
    assert.throws(
      () => resolveModelArgument("md_v5b.0.0", dir),
      (error: Error) => {
        assert.ok(error instanceof ModelResolutionError);
        assert.ok(error.message.includes(join(dir, "md_v5b.0.0.onnx")), "says where it looked");
        assert.ok(error.message.includes(`npm run models:fetch -- md_v5b.0.0 --dir ${dir}`));
        assert.match(error.message, /pass the path to an \.onnx file/);
        return true;
      },
    );
  });

  it("lists the known ids when the id is unknown", () => {
    assert.throws(
      () => resolveModelArgument("megadetector-v9", dir),
      (error: Error) => {
        assert.ok(error instanceof ModelResolutionError);
        assert.match(error.message, /Unknown model "megadetector-v9"/);
        assert.match(error.message, /md_v5a\.0\.0, md_v5b\.0\.0/);
        return true;
      },
    );
  });

  it("accepts a path to any .onnx file, without a manifest entry", () => {
    const path = join(dir, "my-own-detector.onnx");
    assert.deepEqual(resolveModelArgument(path), { path });
  });

  it("recognises a manifest model placed by hand from its file name", () => {
    const resolved = resolveModelArgument(join(dir, "md_v5a.0.0.onnx"));
    assert.equal(resolved.entry?.id, "md_v5a.0.0");
  });

  it("explains a path that is missing, a folder, or not an .onnx file", () => {
    assert.throws(() => resolveModelArgument(join(dir, "absent.onnx")), /Model file not found: .*absent\.onnx/);
    assert.throws(() => resolveModelArgument(join(dir, "folder.onnx")), /is a folder/);
    assert.throws(() => resolveModelArgument(join(dir, "notes.txt")), /is not an \.onnx file/);
  });
});
