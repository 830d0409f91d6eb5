import { test } from "node:test";
import assert from "node:assert/strict";
import { linkExpiresAt } from "./linkExpiry.ts";

test("reads X-Amz-Date plus X-Amz-Expires from a presigned link", () => {
  const url = "http://127.0.0.1:9000/b/k.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20250301T120000Z&X-Amz-Expires=3600&X-Amz-Signature=abc";
  assert.equal(linkExpiresAt(url)?.toISOString(), "2025-03-01T13:00:00.000Z");
});

test("prefers the API's own expiry, and gives null for links it cannot read", () => {
  assert.equal(linkExpiresAt("https://x/y", "2025-03-01T10:00:00.000Z")?.toISOString(), "2025-03-01T10:00:00.000Z");
  assert.equal(linkExpiresAt("https://x/y?X-Amz-Date=garbage&X-Amz-Expires=10"), null);
  assert.equal(linkExpiresAt("not a url"), null);
});
