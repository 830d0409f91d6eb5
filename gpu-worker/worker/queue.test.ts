import { test } from "node:test";
import assert from "node:assert/strict";
import { parseJobMessage } from "./queue.ts";

const ID = "AAAAAAAAAAAAAAAAAAAAAA";

test("job messages: the id (and chunk) out, anything else is not a job", () => {
  assert.deepEqual(parseJobMessage(JSON.stringify({ jobId: ID })), { jobId: ID });
  assert.deepEqual(parseJobMessage(JSON.stringify({ jobId: ID, chunk: { index: 1, count: 3 } })), { jobId: ID, chunk: { index: 1, count: 3 } });
  for (const body of ["", "hello", "null", "[]", JSON.stringify({ jobId: "../../etc" }), JSON.stringify({ jobId: ID, chunk: { index: "1" } })]) {
    assert.equal(parseJobMessage(body), undefined, body);
  }
});
