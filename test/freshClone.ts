// `npm run test:fresh-clone`: the README's set-up on a clean clone, as a newcomer's machine would
// run it. The committed HEAD is cloned into a temporary folder, `npm ci` runs there with an
// empty HOME (no user config, no unpacked browser), then the browser tests run against the
// Chromium that `npm ci` brought (TRAPLINE_CHROMIUM=bundled: as if there were no /usr/bin/chromium),
// and the README's `npm run bench -- <folder>` on two small photos (nothing made by an earlier run).
//
// Not a *.test.ts file, so `npm test` leaves it out: it installs a second node_modules (about
// 1.2 GB, under two minutes on two cores) and sees only what is committed. `.ci/run` runs it after `npm test`.
// npm's cache is the caller's, so nothing is downloaded twice (`--prefer-offline`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { photo } from "./e2e/photos.ts";

const HERE = import.meta.dirname;
/** Output kept from each command, for the failure message (npm ci's log can be long). */
const OUTPUT_LIMIT = 16 * 1024 * 1024;
const TAIL = 4000;

function run(what: string, command: string, args: string[], options: SpawnSyncOptions): string {
  const started = Date.now();
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: OUTPUT_LIMIT, ...options });
  const output = `${String(result.stdout)}${String(result.stderr)}`;
  console.log(`${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(result.status, 0, `${what} failed (${result.error?.message ?? `exit ${result.status}`}):\n${output.slice(-TAIL)}`);
  return output;
}

/**
 * The caller's environment without what `npm run` and `node --test` add (npm_* settings, this
 * checkout's node_modules/.bin on PATH, the test runner's marker that would make the clone's
 * `node --test` skip its files), so the clone sees only what a newcomer's shell has.
 */
function newcomerEnv(root: string, home: string, npmCache: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key) && key !== "NODE_TEST_CONTEXT") env[key] = value;
  env.PATH = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((dir) => !dir.startsWith(join(root, "node_modules")))
    .join(delimiter);
  return { ...env, HOME: home, npm_config_cache: npmCache };
}

const BUNDLED_RUNS = process.platform === "linux" && process.arch === "x64";

test("a clean clone: npm ci brings everything the browser tests and the bench need", { timeout: 10 * 60_000, skip: BUNDLED_RUNS ? false : "the bundled Chromium is Linux x64 only" }, async () => {
  const root = run("git rev-parse", "git", ["rev-parse", "--show-toplevel"], { cwd: HERE }).trim();
  const uncommitted = run("git status", "git", ["status", "--porcelain"], { cwd: root }).trim();
  if (uncommitted) console.log("note: only committed work is cloned; uncommitted changes are not part of this run");
  const npmCache = run("npm config get cache", "npm", ["config", "get", "cache"], { cwd: root }).trim().split("\n").pop()!;

  const work = await mkdtemp(join(tmpdir(), "trapline-fresh-clone-"));
  try {
    const home = join(work, "home");
    const clone = join(work, "trapline");
    await mkdir(home);
    const env = newcomerEnv(root, home, npmCache);
    run("git clone", "git", ["clone", "--quiet", root, clone], { env });
    run("npm ci", "npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: clone, env });
    const output = run("browser tests on the bundled Chromium", join(clone, "node_modules", ".bin", "node"), ["--test", "test/helpers/chromium.test.ts", "test/browser/uploadPage.test.ts"], {
      cwd: clone,
      env: { ...env, TRAPLINE_CHROMIUM: "bundled" },
    });
    assert.match(output, /Chromium \S+ \(.*node_modules\/\.cache\/trapline-chromium\/.*\)/, `the tests did not run on the bundled build:\n${output.slice(-TAIL)}`);
    assert.match(output, /(ℹ|#) skipped 0\b/, `a browser test was skipped:\n${output.slice(-TAIL)}`);

    const photos = join(work, "photos");
    await mkdir(photos);
    await writeFile(join(photos, "animal.jpg"), await photo({ left: 100, top: 100, width: 160, height: 120 }));
    await writeFile(join(photos, "empty.jpg"), await photo());
    const bench = run("npm run bench on a folder", "npm", ["run", "bench", "--", photos, "--images", "2"], { cwd: clone, env });
    assert.match(bench, /Trapline pipeline benchmark: folder /);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
