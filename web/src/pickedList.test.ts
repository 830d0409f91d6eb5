import { test } from "node:test";
import assert from "node:assert/strict";
import { PickedList } from "./pickedList.ts";

const picked = (path: string, size: number, lastModified = 1) => ({ file: new File([new Uint8Array(size)], path.split("/").pop()!, { lastModified }), relativePath: path });

test("a folder picked twice is listed once; a second card of the same name gets its own", () => {
  const list = new PickedList();
  const card = [picked("SD/notes.txt", 2), picked("SD/DCIM/101/IMG_2.JPG", 5), picked("SD/DCIM/100/IMG_1.JPG", 3)];
  assert.deepEqual(list.add(card), { added: 3, alreadyListed: 0, renamed: [], notPhotos: ["SD/notes.txt"] });
  assert.equal(list.add(card).alreadyListed, 3);
  assert.deepEqual([list.path(0), list.path(1), list.path(2)], ["SD/DCIM/100/IMG_1.JPG", "SD/DCIM/101/IMG_2.JPG", "SD/notes.txt"], "listed in path order");
  assert.equal(list.size, 3);
  assert.equal(list.folder(), "SD");
  assert.equal(list.shownName(0), "DCIM/100/IMG_1.JPG");
  assert.equal(list.uploadName(0), "SD/DCIM/100/IMG_1.JPG", "uploaded as picked: the worker applies the one-folder rule");
  assert.deepEqual(list.notPhotos(), [2]);

  const other = list.add([picked("SD/DCIM/100/IMG_1.JPG", 4, 2)]);
  assert.deepEqual(other.renamed, [{ from: "SD", to: "SD (2)" }]);
  // Two folders now: names keep their folder's name first.
  assert.equal(list.folder(), null);
  assert.equal(list.shownName(3), "SD (2)/DCIM/100/IMG_1.JPG");
  assert.deepEqual(
    list.folders().map(({ folder, files, bytes }) => [folder, files, bytes]),
    [
      ["SD/DCIM/100", 1, 3],
      ["SD/DCIM/101", 1, 5],
      ["SD", 1, 2],
      ["SD (2)/DCIM/100", 1, 4],
    ],
  );
});

test("counters follow each file's state; bytes in flight count until the file is done or back", () => {
  const list = new PickedList();
  list.add([picked("a.jpg", 10), picked("b.jpg", 20), picked("c.jpg", 30)]);
  assert.equal(list.bytes, 60);
  list.setState(0, "sending");
  list.setSent(0, 4);
  list.setState(1, "sending");
  list.setSent(1, 50); // more than the file: clamped
  assert.equal(list.sentBytes, 24);
  list.setState(0, "done");
  list.setState(1, "ready"); // a cut connection: it goes again from nothing
  assert.equal(list.sentBytes, 10);
  assert.equal(list.count("done"), 1);
  assert.equal(list.count("ready"), 2);
  list.setState(2, "failed", "Storage refused this file.");
  assert.equal(list.reason(2), "Storage refused this file.");
  assert.deepEqual(list.folders(), [{ folder: "", files: 3, bytes: 60, done: 1, failed: 1 }]);
  list.setState(2, "sending");
  assert.equal(list.reason(2), undefined);

  list.resetStates();
  assert.deepEqual([list.count("ready"), list.sentBytes, list.bytesIn("done"), list.bytesIn("ready")], [3, 0, 0, 60]);
});

test("removing files moves the rest up with their states and reasons", () => {
  const list = new PickedList();
  list.add([picked("a.jpg", 1), picked("b.pdf", 2), picked("c.jpg", 3)]);
  list.setState(2, "failed", "why");
  list.remove(list.notPhotos());
  assert.deepEqual([list.size, list.bytes, list.path(1), list.state(1), list.reason(1)], [2, 4, "c.jpg", "failed", "why"]);
  list.clear();
  assert.deepEqual([list.size, list.bytes, list.count("failed")], [0, 0, 0]);
});

test("100,000 files: per-folder counts follow each file as it is done", () => {
  const list = new PickedList();
  const files = Array.from({ length: 100_000 }, (_, index) => picked(`SD/DCIM/${100 + Math.floor(index / 1000)}RECNX/IMG_${index}.JPG`, 1));
  list.add(files);
  assert.equal(list.folders().length, 100);
  assert.equal(list.shownName(99_999), "DCIM/199RECNX/IMG_99999.JPG");
  for (let index = 0; index < 100_000; index += 1) list.setState(index, "done");
  assert.equal(list.folders()[99]!.done, 1000);
  assert.equal(list.sentBytes, 100_000);
});
