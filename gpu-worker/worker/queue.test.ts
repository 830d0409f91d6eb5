import { test } from "node:test";
import assert from "node:assert/strict";
import { jobMessageBody, type JobMessage } from "../../core/jobs.ts";
import { parseJobMessage } from "./queue.ts";

const ID = "AAAAAAAAAAAAAAAAAAAAAA";

test("job messages as DESIGN.md writes them: plan (what submit sends), shard and merge; anything else is not a job", () => {
  assert.deepEqual(parseJobMessage(JSON.stringify({ jobId: ID })), { jobId: ID, step: "plan" });
  assert.deepEqual(parseJobMessage(JSON.stringify({ jobId: ID, shard: { index: 1, count: 3 } })), { jobId: ID, step: "shard", shard: { index: 1, count: 3 } });
  assert.deepEqual(parseJobMessage(JSON.stringify({ jobId: ID, merge: true })), { jobId: ID, step: "merge" });
  const garbled = [
    "",
    "hello",
    "null",
    "[]",
    JSON.stringify({ jobId: "../../etc" }),
    JSON.stringify({ jobId: ID, shard: { index: "1", count: 3 } }),
    JSON.stringify({ jobId: ID, shard: { index: 3, count: 3 } }),
    JSON.stringify({ jobId: ID, shard: { index: 0, count: 1_000_000 } }),
    JSON.stringify({ jobId: ID, shard: null }),
    JSON.stringify({ jobId: ID, merge: "yes" }),
    JSON.stringify({ jobId: ID, merge: true, shard: { index: 0, count: 1 } }),
  ];
  for (const body of garbled) assert.equal(parseJobMessage(body), undefined, body);
});

test("every message survives the wire", () => {
  const messages: JobMessage[] = [
    { jobId: ID, step: "plan" },
    { jobId: ID, step: "shard", shard: { index: 4, count: 5 } },
    { jobId: ID, step: "merge" },
  ];
  for (const message of messages) assert.deepEqual(parseJobMessage(jobMessageBody(message)), message);
  assert.equal(jobMessageBody({ jobId: ID, step: "merge" }), `{"jobId":"${ID}","merge":true}`);
});
