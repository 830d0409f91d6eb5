import { test } from "node:test";
import assert from "node:assert/strict";
import { comparePick } from "./repick.ts";

test("a folder picked again: only what storage lacks is sent; other sizes, extras and files not picked are told apart", () => {
  const listing = {
    planned: new Map([
      ["a.jpg", 10],
      ["b.jpg", 20],
      ["c.jpg", 30],
      ["d.jpg", 40],
      ["e.jpg", 50],
    ]),
    missing: new Set(["b.jpg", "c.jpg", "d.jpg"]),
  };
  const picked = [
    { name: "a.jpg", size: 10 }, // stored
    { name: "b.jpg", size: 20 }, // to send
    { name: "c.jpg", size: 31 }, // another size than planned
    { name: "new.jpg", size: 5 }, // not in the job
    { name: "e.jpg", size: 50 }, // stored
  ];
  assert.deepEqual(comparePick(picked, listing), {
    toSend: [1],
    stored: [0, 4],
    otherSize: [{ index: 2, planned: 30 }],
    extra: [3],
    notPicked: [{ name: "d.jpg", size: 40 }],
    // d is not picked, and c (which storage lacks) only at another size: neither can be sent.
    unsendable: ["d.jpg", "c.jpg"],
  });
});

test("the same folder picked again with nothing changed differs in nothing", () => {
  const listing = { planned: new Map([["x/1.jpg", 1], ["x/2.jpg", 2]]), missing: new Set(["x/2.jpg"]) };
  const result = comparePick([{ name: "x/1.jpg", size: 1 }, { name: "x/2.jpg", size: 2 }], listing);
  assert.deepEqual([result.toSend, result.stored, result.otherSize, result.extra, result.notPicked, result.unsendable], [[1], [0], [], [], [], []]);
});

test("a file picked at another size counts as unsendable only when storage lacks its planned copy", () => {
  const listing = { planned: new Map([["a.jpg", 10], ["b.jpg", 20]]), missing: new Set(["b.jpg"]) };
  const result = comparePick([{ name: "a.jpg", size: 11 }, { name: "b.jpg", size: 21 }], listing);
  assert.deepEqual(result.otherSize, [{ index: 0, planned: 10 }, { index: 1, planned: 20 }]);
  assert.deepEqual(result.unsendable, ["b.jpg"], "a.jpg is in storage at its planned size already");
});
