import { test } from "node:test";
import assert from "node:assert/strict";
import { inertCsvText, startsLikeFormula } from "./formulaInjection.ts";

test("text a spreadsheet would run gets an apostrophe in CSV; other text is untouched", () => {
  for (const text of ["=1+1", "+cmd.jpg", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]) {
    assert.equal(startsLikeFormula(text), true, JSON.stringify(text));
    assert.equal(inertCsvText(text), `'${text}`);
  }
  for (const text of ["IMG_0001.JPG", "cam 1", "'quoted", " =1", "", "2020-03-16T10:00:00+03:00"]) {
    assert.equal(inertCsvText(text), text, JSON.stringify(text));
  }
});
