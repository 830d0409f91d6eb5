import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startApiHarness } from "../test/helpers/apiHarness.ts";
import type { ApiHarness } from "../test/helpers/apiHarness.ts";
import { PortInUseError, startApiServer } from "./node.ts";

describe("the app around the routes", () => {
  let api: ApiHarness;
  let web: string;
  before(async () => {
    web = await mkdtemp(join(tmpdir(), "trapline-web-"));
    await mkdir(join(web, "assets"));
    await writeFile(join(web, "index.html"), "<!doctype html><title>Trapline</title>");
    await writeFile(join(web, "assets", "app.js"), "console.log('hi')");
    api = await startApiHarness({ CORS_ORIGIN: "https://trapline.example.org" }, { staticDir: web });
  });
  after(async () => {
    await api.stop();
    await rm(web, { recursive: true, force: true });
  });

  test("serves the web page and its assets from staticDir", async () => {
    const page = await fetch(`${api.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await page.text(), /<title>Trapline<\/title>/);
    const script = await fetch(`${api.url}/assets/app.js`);
    assert.equal(script.status, 200);
    assert.match(script.headers.get("content-type") ?? "", /javascript/);
    assert.equal((await fetch(`${api.url}/assets/../../etc/passwd`)).status, 404);
  });

  test("unknown routes are JSON 404s with the error shape", async () => {
    const response = await api.call("GET", "/api/nothing-here");
    assert.equal(response.status, 404);
    assert.equal(response.json.error.code, "not_found");
  });

  test("CORS allows the configured origin, preflight included", async () => {
    const preflight = await fetch(`${api.url}/api/jobs`, {
      method: "OPTIONS",
      headers: { origin: "https://trapline.example.org", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "https://trapline.example.org");
    assert.match(preflight.headers.get("access-control-allow-methods") ?? "", /POST/);
    const foreign = await fetch(`${api.url}/api/jobs/AAAAAAAAAAAAAAAAAAAAAA`, { headers: { origin: "https://evil.example" } });
    assert.equal(foreign.headers.get("access-control-allow-origin"), null);
  });

  test("an oversized body is a 413 with the error shape", async () => {
    const response = await api.call("POST", "/api/jobs", JSON.stringify({ email: "a@b.org", pad: "x".repeat(9 * 1024 * 1024) }));
    assert.equal(response.status, 413);
    assert.equal(response.json.error.code, "body_too_large");
  });

  test("a taken port is reported with what to do", async () => {
    await assert.rejects(startApiServer(api.deps, api.server.port), (error: Error) => {
      assert.ok(error instanceof PortInUseError);
      assert.match(error.message, new RegExp(`Port ${api.server.port} is already in use.*PORT=`));
      return true;
    });
  });
});
