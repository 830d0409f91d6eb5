import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { LABELS as L, labelsFile } from "../../../test/helpers/speciesLabels.ts";
import { labelsPathBeside, loadLabels, parseLabels } from "./labels.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "trapline-labels-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("one label per line; a final newline, CRLF and a BOM are fine", () => {
  assert.deepEqual(parseLabels(`\uFEFF${L.leopard}\r\n${L.lion}\r\n`, "x"), [L.leopard, L.lion]);
});

test("a blank line inside or a label that is not seven parts is refused, naming where", () => {
  assert.throws(() => parseLabels(`${L.leopard}\n\n${L.lion}\n`, "the labels file a.txt"), /the labels file a\.txt, line 2: blank line/);
  assert.throws(() => parseLabels(`${L.leopard}\nlion\n`, "the labels file a.txt"), /the labels file a\.txt, line 2: "lion" has 1 ';'-separated parts/);
  assert.throws(() => parseLabels("\n", "the labels file a.txt"), /holds no labels/);
});

test("labels come from <model>.labels.txt beside the model first, then from the ONNX metadata", async () => {
  const model = join(dir, "beside.onnx");
  assert.equal(labelsPathBeside(model), join(dir, "beside.labels.txt"));
  await writeFile(labelsPathBeside(model), labelsFile([L.leopard, L.lion]));
  assert.deepEqual(await loadLabels(model, { labels: L.zebra }), { labels: [L.leopard, L.lion], source: join(dir, "beside.labels.txt") });
  const bare = join(dir, "bare.onnx");
  assert.deepEqual(await loadLabels(bare, { labels: `${L.zebra}\n${L.blank}` }), { labels: [L.zebra, L.blank], source: "ONNX metadata" });
});

test("a labels file given but unreadable, or no labels anywhere, is an error that says what to do", async () => {
  const missing = join(dir, "nowhere.labels.txt");
  await assert.rejects(loadLabels(join(dir, "m.onnx"), { labels: L.zebra }, missing), /cannot read the labels file .*nowhere\.labels\.txt/);
  await assert.rejects(loadLabels(join(dir, "m.onnx"), {}), /has no labels: put .*m\.labels\.txt beside it/);
  await assert.rejects(loadLabels(join(dir, "m.onnx"), { labels: "not a label" }), /the "labels" metadata of .*m\.onnx, line 1/);
});
