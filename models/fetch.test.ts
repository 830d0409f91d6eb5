import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { fetchModel, ModelFetchError, modelPath } from "./fetch.ts";
import type { FetchProgress } from "./fetch.ts";
import type { ManifestEntry } from "./manifest.ts";

// 3 MB served in 64 KiB writes, so the download arrives in many chunks.
const PAYLOAD = randomBytes(3 * 1024 * 1024);
const PAYLOAD_SHA256 = createHash("sha256").update(PAYLOAD).digest("hex");
const PAYLOAD_MD5 = createHash("md5").update(PAYLOAD).digest("hex");
const WRITE_SIZE = 64 * 1024;

let server: Server;
let baseUrl: string;
let requests: string[] = [];
let dir: string;

before(async () => {
  server = createServer((request, response) => {
    requests.push(request.url ?? "");
    if (request.url === "/model.onnx") {
      response.writeHead(200, { "content-type": "application/octet-stream", "content-length": PAYLOAD.length });
      for (let offset = 0; offset < PAYLOAD.length; offset += WRITE_SIZE) {
        response.write(PAYLOAD.subarray(offset, offset + WRITE_SIZE));
      }
      response.end();
    } else if (request.url === "/drops-midway.onnx") {
      // Promise the whole file, send a third of it, then hang up.
      response.writeHead(200, { "content-length": PAYLOAD.length });
      response.write(PAYLOAD.subarray(0, PAYLOAD.length / 3), () => response.socket?.destroy());
    } else {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("not here");
    }
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

beforeEach(async () => {
  requests = [];
  dir = await mkdtemp(join(tmpdir(), "trapline-fetch-"));
});

function entry(overrides: Partial<ManifestEntry> = {}): ManifestEntry {
  return {
    id: "test-model",
    name: "Test model",
    description: "bytes served by the test",
    url: `${baseUrl}/model.onnx`,
    fileName: "test-model.onnx",
    sha256: PAYLOAD_SHA256,
    md5: null,
    sizeBytes: PAYLOAD.length,
    inputSize: 640,
    stride: 32,
    dynamicInput: true,
    outputLayout: "yolov8",
    classNames: ["animal", "person", "vehicle"],
    typicalDetectionThreshold: 0.2,
    licence: "test",
    source: "test",
    ...overrides,
  };
}

async function filesIn(folder: string): Promise<string[]> {
  return (await readdir(folder)).sort();
}

describe("fetchModel", () => {
  it("downloads, verifies and places the file, reporting monotonic progress up to the total", async () => {
    const progress: FetchProgress[] = [];
    const path = await fetchModel(entry(), { dir, onProgress: (update) => progress.push(update) });

    assert.equal(path, join(dir, "test-model.onnx"));
    assert.equal(path, modelPath(entry(), dir));
    assert.ok((await readFile(path)).equals(PAYLOAD));
    assert.deepEqual(await filesIn(dir), ["test-model.onnx"], "no temporary file is left behind");

    assert.ok(progress.length > 1, "progress is reported as chunks arrive");
    for (let i = 1; i < progress.length; i++) {
      assert.ok(progress[i]!.receivedBytes > progress[i - 1]!.receivedBytes, "progress only goes up");
    }
    assert.deepEqual(progress.at(-1), { receivedBytes: PAYLOAD.length, totalBytes: PAYLOAD.length });
    await rm(dir, { recursive: true });
  });

  it("verifies an md5 when that is all the host publishes", async () => {
    const path = await fetchModel(entry({ sha256: null, md5: PAYLOAD_MD5, sizeBytes: null }), { dir });
    assert.ok((await readFile(path)).equals(PAYLOAD));
    await assert.rejects(
      fetchModel(entry({ sha256: null, md5: "0".repeat(32), sizeBytes: null, fileName: "other.onnx" }), { dir }),
      /md5/,
    );
    await rm(dir, { recursive: true });
  });

  it("deletes the download and explains when the sha256 does not match", async () => {
    const wrong = entry({ sha256: "ab".repeat(32) });
    await assert.rejects(fetchModel(wrong, { dir }), (error: Error) => {
      assert.ok(error instanceof ModelFetchError);
      assert.match(error.message, /is not the published one/);
      assert.match(error.message, new RegExp(`sha256 ${PAYLOAD_SHA256}, expected ${"ab".repeat(32)}`));
      assert.match(error.message, /nothing was saved/);
      return true;
    });
    assert.deepEqual(await filesIn(dir), []);
    await rm(dir, { recursive: true });
  });

  it("explains an HTTP error and says how to place the file by hand", async () => {
    const missing = entry({ url: `${baseUrl}/gone.onnx` });
    await assert.rejects(fetchModel(missing, { dir }), (error: Error) => {
      assert.ok(error instanceof ModelFetchError);
      assert.match(error.message, /HTTP 404 Not Found/);
      assert.match(error.message, /gone\.onnx/);
      assert.ok(error.message.includes(`copy it to ${join(dir, "test-model.onnx")}`));
      return true;
    });
    assert.deepEqual(await filesIn(dir), []);
    await rm(dir, { recursive: true });
  });

  it("leaves no partial file when the connection drops mid-body", async () => {
    const progress: FetchProgress[] = [];
    const dropping = entry({ url: `${baseUrl}/drops-midway.onnx` });
    await assert.rejects(fetchModel(dropping, { dir, onProgress: (update) => progress.push(update) }), (error: Error) => {
      assert.ok(error instanceof ModelFetchError);
      assert.match(error.message, /broke off after/);
      assert.match(error.message, /Nothing was saved/);
      return true;
    });
    assert.ok(progress.length > 0 && progress.at(-1)!.receivedBytes < PAYLOAD.length, "part of the body did arrive");
    assert.deepEqual(await filesIn(dir), []);
    await rm(dir, { recursive: true });
  });

  it("says the machine may be offline when nothing answers", async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, "127.0.0.1", done));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((done) => closed.close(done));

    await assert.rejects(fetchModel(entry({ url: `http://127.0.0.1:${port}/model.onnx` }), { dir }), (error: Error) => {
      assert.ok(error instanceof ModelFetchError);
      assert.match(error.message, /ECONNREFUSED/);
      assert.match(error.message, /may have no internet access/);
      return true;
    });
    assert.deepEqual(await filesIn(dir), []);
    await rm(dir, { recursive: true });
  });

  it("skips the download when a verified file is already there", async () => {
    await writeFile(join(dir, "test-model.onnx"), PAYLOAD);
    const messages: string[] = [];
    const path = await fetchModel(entry(), { dir, onMessage: (message) => messages.push(message) });
    assert.equal(path, join(dir, "test-model.onnx"));
    assert.deepEqual(requests, [], "the server was not asked");
    assert.match(messages.join("\n"), /already in place and verified/);
    await rm(dir, { recursive: true });
  });

  it("replaces a file that is there but damaged, and re-downloads with force", async () => {
    await writeFile(join(dir, "test-model.onnx"), PAYLOAD.subarray(0, 1000));
    const path = await fetchModel(entry(), { dir });
    assert.ok((await readFile(path)).equals(PAYLOAD));
    assert.equal(requests.length, 1);

    await fetchModel(entry(), { dir, force: true });
    assert.equal(requests.length, 2);
    await rm(dir, { recursive: true });
  });

  it("downloads from a mirror URL when given one, still enforcing the checksum", async () => {
    const elsewhere = entry({ url: "http://127.0.0.1:9/unreachable.onnx" });
    const path = await fetchModel(elsewhere, { dir, url: `${baseUrl}/model.onnx` });
    assert.ok((await readFile(path)).equals(PAYLOAD));
    assert.deepEqual(requests, ["/model.onnx"]);
    await rm(dir, { recursive: true });
  });

  it("keeps an unpinned download and prints its sha256 so it can be pinned", async () => {
    const messages: string[] = [];
    const unpinned = entry({ sha256: null, md5: null, sizeBytes: null });
    const path = await fetchModel(unpinned, { dir, onMessage: (message) => messages.push(message) });
    assert.ok((await readFile(path)).equals(PAYLOAD));
    assert.match(messages.join("\n"), new RegExp(`could not be verified.*${PAYLOAD_SHA256}`, "s"));
    await rm(dir, { recursive: true });
  });

  it("uses TRAPLINE_MODELS_DIR when no folder is given", async () => {
    const saved = process.env.TRAPLINE_MODELS_DIR;
    process.env.TRAPLINE_MODELS_DIR = dir;
    try {
      assert.equal(modelPath(entry()), join(dir, "test-model.onnx"));
      assert.equal(await fetchModel(entry()), join(dir, "test-model.onnx"));
    } finally {
      if (saved === undefined) delete process.env.TRAPLINE_MODELS_DIR;
      else process.env.TRAPLINE_MODELS_DIR = saved;
    }
    await rm(dir, { recursive: true });
  });
});
