// The configuration's checks on the settings only `npm start` reads: what a mistyped value says.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "./config.ts";

test("WORKERS defaults to one, and a count outside 1..8 names the variable", () => {
  assert.equal(loadConfig({}).WORKERS, 1);
  assert.equal(loadConfig({ WORKERS: "3" }).WORKERS, 3);
  for (const bad of ["0", "9", "two", "1.5"]) {
    assert.throws(() => loadConfig({ WORKERS: bad }), (error: unknown) => error instanceof ConfigError && error.message.includes(`WORKERS`) && error.message.includes(JSON.stringify(bad)));
  }
});

test("TRAPLINE_DATA_DIR defaults to .trapline-data; a blank value means the default", () => {
  assert.equal(loadConfig({}).TRAPLINE_DATA_DIR, ".trapline-data");
  assert.equal(loadConfig({ TRAPLINE_DATA_DIR: "" }).TRAPLINE_DATA_DIR, ".trapline-data");
  assert.equal(loadConfig({ TRAPLINE_DATA_DIR: "/srv/trapline" }).TRAPLINE_DATA_DIR, "/srv/trapline");
});
