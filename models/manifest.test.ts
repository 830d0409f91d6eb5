import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { MEGADETECTOR_CATEGORIES } from "../gpu-worker/pipeline/detector/constants.ts";
import { SPECIESNET_INPUT_SIZE } from "../gpu-worker/pipeline/classifier/constants.ts";
import { defaultModel, findClassifier, findModel, getManifest, knownModelIds, MANIFEST_PATH, parseManifest } from "./manifest.ts";

const raw = JSON.parse(readFileSync(MANIFEST_PATH, "utf8")) as {
  default: string;
  models: Record<string, unknown>[];
  classifiers: Record<string, unknown>[];
};

function withModels(models: Record<string, unknown>[], defaultId = raw.default): unknown {
  return { default: defaultId, models };
}

describe("the bundled manifest", () => {
  const manifest = getManifest();

  it("loads and validates", () => {
    assert.ok(manifest.models.length >= 3);
  });

  it("has unique ids and file names, and its default is listed", () => {
    const ids = manifest.models.map((entry) => entry.id.toLowerCase());
    assert.equal(new Set(ids).size, ids.length);
    const files = manifest.models.map((entry) => entry.fileName.toLowerCase());
    assert.equal(new Set(files).size, files.length);
    assert.equal(defaultModel().id, "md_v5a.0.0");
  });

  it("pins checksums as lower-case hex of the right length where present", () => {
    for (const entry of manifest.models) {
      if (entry.sha256 !== null) assert.match(entry.sha256, /^[0-9a-f]{64}$/, entry.id);
      if (entry.md5 !== null) assert.match(entry.md5, /^[0-9a-f]{32}$/, entry.id);
    }
    assert.ok(manifest.models.some((entry) => entry.sha256 !== null), "at least one model is verifiable by sha256");
  });

  it("describes MegaDetector v5a and v5b as MD does, and has a v1000 or v6 model", () => {
    for (const id of ["md_v5a.0.0", "md_v5b.0.0"]) {
      const entry = findModel(id);
      assert.ok(entry, id);
      assert.equal(entry.inputSize, 1280);
      assert.equal(entry.stride, 64);
      assert.equal(entry.outputLayout, "yolov5");
      assert.equal(entry.typicalDetectionThreshold, 0.2);
      assert.equal(entry.fileName, `${id}.onnx`, "MD tools read the version from the file name");
    }
    assert.ok(knownModelIds().some((id) => /v1000|v6/i.test(id)));
    assert.equal(findModel("md_v1000.0.0-redwood")?.typicalDetectionThreshold, 0.3);
    assert.equal(findModel("MDV6-yolov9-c")?.outputLayout, "yolov8");
  });

  it("names the classes in MegaDetector's category order", () => {
    const expected = Object.keys(MEGADETECTOR_CATEGORIES)
      .sort()
      .map((key) => MEGADETECTOR_CATEGORIES[key]);
    for (const entry of getManifest().models) assert.deepEqual(entry.classNames, expected, entry.id);
  });
});

describe("findModel", () => {
  it("finds by id, ignoring case and surrounding spaces", () => {
    assert.equal(findModel("md_v5b.0.0")?.id, "md_v5b.0.0");
    assert.equal(findModel(" MD_V5A.0.0 ")?.id, "md_v5a.0.0");
  });

  it("returns undefined for an unknown id", () => {
    assert.equal(findModel("md_v99"), undefined);
  });
});

describe("parseManifest", () => {
  const first = raw.models[0]!;

  it("accepts the bundled data", () => {
    assert.equal(parseManifest(raw).default, raw.default);
  });

  it("rejects duplicate ids", () => {
    assert.throws(() => parseManifest(withModels([first, { ...first, fileName: "copy.onnx" }])), /duplicate id/);
  });

  it("rejects a default that is not listed", () => {
    assert.throws(() => parseManifest(withModels(raw.models, "md_v4")), /default "md_v4" is not one of the models/);
  });

  it("rejects a malformed sha256, naming the field", () => {
    assert.throws(() => parseManifest(withModels([{ ...first, sha256: "ABC" }])), /sha256/);
    assert.throws(() => parseManifest(withModels([{ ...first, sha256: "A".repeat(64) }])), /sha256/);
  });

  it("rejects an unknown output layout and an input size that is not a multiple of the stride", () => {
    assert.throws(() => parseManifest(withModels([{ ...first, outputLayout: "ssd" }])), /outputLayout/);
    assert.throws(() => parseManifest(withModels([{ ...first, inputSize: 1000 }])), /multiple of stride/);
  });

  it("rejects a file name that is not a plain .onnx name", () => {
    assert.throws(() => parseManifest(withModels([{ ...first, fileName: "../escape.onnx" }])), /fileName/);
    assert.throws(() => parseManifest(withModels([{ ...first, fileName: "model.pt" }])), /fileName/);
  });
});

describe("species classifiers in the manifest", () => {
  const speciesNet = raw.classifiers[0]!;
  const withClassifier = (entry: Record<string, unknown>): unknown => ({ ...raw, classifiers: [entry] });

  it("lists SpeciesNet's crop classifier as SpeciesNet runs it: 480 px, NHWC, logits, 2,498 labels, geofence and taxonomy", () => {
    const entry = findClassifier("SpeciesNet-v4.0.0a");
    assert.ok(entry);
    assert.equal(entry.inputSize, SPECIESNET_INPUT_SIZE);
    assert.equal(entry.inputLayout, "nhwc");
    assert.equal(entry.output, "logits");
    assert.equal(entry.labels.count, 2498);
    assert.equal(entry.labels.file, "speciesnet-v4.0.0a.labels.txt");
    assert.equal(entry.geofence?.file, "speciesnet-v4.0.0a.geofence.json");
    assert.ok(entry.url !== null || entry.export, "a url or an export command");
  });

  it("a manifest without classifiers is still valid", () => {
    assert.deepEqual(parseManifest({ default: raw.default, models: raw.models }).classifiers, []);
  });

  it("rejects a classifier with neither a url nor an export, or with side files not named after the model", () => {
    const noExport = Object.fromEntries(Object.entries(speciesNet).filter(([key]) => key !== "export"));
    assert.throws(() => parseManifest(withClassifier(noExport)), /either a url to an ONNX file or the export/);
    const renamed = { ...speciesNet, labels: { ...(speciesNet.labels as object), file: "labels.labels.txt" } };
    assert.throws(() => parseManifest(withClassifier(renamed)), /named after the model file/);
    assert.throws(() => parseManifest(withClassifier({ ...speciesNet, inputLayout: "hwc" })), /inputLayout/);
  });

  it("rejects a classifier id or file that a detector already uses", () => {
    const clash = { ...speciesNet, id: raw.models[0]!.id };
    assert.throws(() => parseManifest(withClassifier(clash)), /duplicate id/);
  });
});
