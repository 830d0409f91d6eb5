import { test } from "node:test";
import assert from "node:assert/strict";
import { parseJobMessage } from "./queue.ts";

const ID = "AAAAAAAAAAAAAAAAAAAAAA";

test("job messages: plan (what submit sends), shard and merge out; anything else is not a job", () => {
  assert.deepEqual(parseJobMessage(JSON.stringify({ jobId: ID })), { jobId: ID, step: "plan" });
  assert.deepEqual(parseJobMessage(JSON.stringify({ jobId: ID, step: "plan" })), { jobId: ID, step: "plan" });
  assert.deepEqual(parseJobMessage(JSON.stringify({ jobId: ID, step: "shard", shard: { index: 1, count: 3 } })), { jobId: ID, step: "shard", shard: { index: 1, count: 3 } });
  assert.deepEqual(parseJobMessage(JSON.stringify({ jobId: ID, step: "merge", shards: 3 })), { jobId: ID, step: "merge", shards: 3 });
  const garbled = [
    "",
    "hello",
    "null",
    "[]",
    JSON.stringify({ jobId: "../../etc" }),
    JSON.stringify({ jobId: ID, step: "shard", shard: { index: "1", count: 3 } }),
    JSON.stringify({ jobId: ID, step: "shard", shard: { index: 3, count: 3 } }),
    JSON.stringify({ jobId: ID, step: "shard" }),
    JSON.stringify({ jobId: ID, step: "merge", shards: 0 }),
    JSON.stringify({ jobId: ID, step: "merge", shards: 1_000_000 }),
    JSON.stringify({ jobId: ID, step: "explode" }),
  ];
  for (const body of garbled) assert.equal(parseJobMessage(body), undefined, body);
});
