import { test } from "node:test";
import assert from "node:assert/strict";
import { routeOf } from "./jobRoute.ts";

const ID = "Qm9vLWJvb19ib29ib29ib2";

test("the upload page and a clean job link", () => {
  assert.deepEqual(routeOf(""), { view: "upload" });
  assert.deepEqual(routeOf("#/"), { view: "upload" });
  assert.deepEqual(routeOf(`#/jobs/${ID}`), { view: "job", jobId: ID });
});

test("junk pasted after a job link is dropped and the address tidied", () => {
  // The reported bugs: a trailing "." or "%20" showed the empty upload page with no word.
  for (const tail of [".", "%20", "/", ").", "%E2%80%9D", "%0A", "%20%20.", ">"]) {
    assert.deepEqual(routeOf(`#/jobs/${ID}${tail}`), { view: "job", jobId: ID, tidied: `#/jobs/${ID}` }, tail);
  }
});

test("a jobs link without a whole job id says so", () => {
  assert.deepEqual(routeOf(`#/jobs/${ID.slice(0, 15)}`), { view: "not-a-job", link: `/jobs/${ID.slice(0, 15)}` });
  assert.deepEqual(routeOf(`#/jobs/${ID}x`), { view: "not-a-job", link: `/jobs/${ID}x` });
  assert.deepEqual(routeOf("#/jobs/"), { view: "not-a-job", link: "/jobs/" });
  assert.deepEqual(routeOf("#/jobs/%E0%A4%A"), { view: "not-a-job", link: "/jobs/%E0%A4%A" });
});

test("a hash that is no route, such as the skip link's, leaves the view alone", () => {
  assert.deepEqual(routeOf("#main"), { view: "none" });
});

test("a job link with the gallery's filters keeps them", () => {
  assert.deepEqual(routeOf(`#/jobs/${ID}?category=1&sort=confidence`), { view: "job", jobId: ID, query: "category=1&sort=confidence" });
  assert.deepEqual(routeOf(`#/jobs/${ID}.?tab=blank`), { view: "job", jobId: ID, tidied: `#/jobs/${ID}?tab=blank`, query: "tab=blank" });
});
