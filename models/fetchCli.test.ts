// Runs the real CLI in a child process, as `npm run models:fetch` does.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { getManifest } from "./manifest.ts";

const ROOT = join(import.meta.dirname, "..");
const NODE = join(ROOT, "node_modules/.bin/node");

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Async on purpose: a server in this process must keep answering while the CLI runs. */
function runCli(args: string[]): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(NODE, ["models/fetchCli.ts", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

describe("models:fetch CLI", () => {
  it("prints help and exits 0", async () => {
    const { code, stdout } = await runCli(["--help"]);
    assert.equal(code, 0);
    assert.match(stdout, /npm run models:fetch -- \[options\] \[id\]/);
    assert.match(stdout, /--dir <folder>/);
    assert.match(stdout, /md_v5a\.0\.0/);
  });

  it("lists every manifest model with its URL", async () => {
    const { code, stdout } = await runCli(["--list"]);
    assert.equal(code, 0);
    for (const entry of getManifest().models) {
      assert.ok(stdout.includes(entry.id), entry.id);
      assert.ok(stdout.includes(entry.url), entry.url);
    }
  });

  it("refuses an unknown id, listing the known ones", async () => {
    const { code, stderr } = await runCli(["md_v42"]);
    assert.equal(code, 1);
    assert.match(stderr, /Unknown model "md_v42"\. Known models: md_v5a\.0\.0/);
  });

  it("rejects bytes that do not match the pinned sha256 and leaves nothing in the folder", async () => {
    const pinned = getManifest().models.find((entry) => entry.sha256 !== null);
    assert.ok(pinned, "the manifest pins at least one sha256");
    const body = randomBytes(256 * 1024);
    const server = createServer((_request, response) => {
      response.writeHead(200, { "content-length": body.length });
      response.end(body);
    });
    await new Promise<void>((ready) => server.listen(0, "127.0.0.1", ready));
    const dir = await mkdtemp(join(tmpdir(), "trapline-cli-"));
    try {
      const mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.onnx`;
      const { code, stdout, stderr } = await runCli([pinned.id, "--dir", dir, "--url", mirror]);
      assert.equal(code, 1);
      assert.match(stderr, /is not the published one \(sha256 [0-9a-f]{64}, expected/);
      assert.match(stdout, /100% \| 0\.3 MB of 0\.3 MB/, "plain progress lines when stdout is not a terminal");
      assert.doesNotMatch(stdout, /\u001b\[/, "no terminal control codes in a log");
      assert.deepEqual(await readdir(dir), []);
    } finally {
      server.close();
      await rm(dir, { recursive: true });
    }
  });
});
