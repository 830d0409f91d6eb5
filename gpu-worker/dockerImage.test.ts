// The GPU image cannot be built here (no Docker engine, no internet), so its recipe is checked
// against what the code needs: the CUDA major that onnxruntime-node's CUDA provider is built for,
// its install flag, the files the worker imports, and a build context without weights or packages.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { IgnoreStrategy } from "aws-cdk-lib";
import { WORKER_HEALTH_COMMAND } from "../infra/gpuWorker.ts";

const root = resolve(import.meta.dirname, "..");
const require = createRequire(import.meta.url);

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(): { keyword: string; args: string }[] {
  const text = readFileSync(join(root, "gpu-worker", "Dockerfile"), "utf8").replace(/\\\n/g, " ");
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => {
      const [keyword = "", ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(" ") };
    });
}

interface InstallMetadata {
  requirements: Record<string, string[]>;
  manifests: Record<string, unknown>;
}

describe("gpu-worker/Dockerfile", () => {
  const steps = instructions();
  const froms = steps.filter((s) => s.keyword === "FROM").map((s) => s.args);
  const runs = steps.filter((s) => s.keyword === "RUN").map((s) => s.args);
  const metadata = require("onnxruntime-node/script/install-metadata.js") as InstallMetadata;

  it("runs on a CUDA + cuDNN 9 runtime base whose CUDA major is the one onnxruntime-node's Linux CUDA provider needs", () => {
    const base = froms.at(-1) ?? "";
    const match = /^nvidia\/cuda:(\d+)\.\d+\.\d+-cudnn-runtime-ubuntu24\.04$/.exec(base);
    assert.ok(match, `final stage should be an nvidia/cuda cudnn runtime image, got "${base}"`);
    assert.deepEqual(metadata.requirements["linux/x64"], [`cuda${match[1]}`]);
  });

  it("installs onnxruntime-node's CUDA provider with its own flag, overriding the repository's .npmrc skip", () => {
    const install = runs.find((r) => /\bnpm ci\b/.test(r));
    assert.ok(install, "npm ci runs in the image");
    const flag = /ONNXRUNTIME_NODE_INSTALL=(\S+)/.exec(install)?.[1];
    assert.ok(flag, "ONNXRUNTIME_NODE_INSTALL is set for npm ci");
    assert.ok(metadata.manifests[`linux/x64:${flag}`], `"${flag}" names onnxruntime-node's linux/x64 CUDA manifest`);
    // The install script reads the environment variable before npm's config (.npmrc says skip).
    const utils = readFileSync(require.resolve("onnxruntime-node/script/install-utils.js"), "utf8");
    assert.match(utils, /process\.env\.ONNXRUNTIME_NODE_INSTALL \|\| process\.env\.npm_config_onnxruntime_node_install/);
    assert.match(readFileSync(join(root, ".npmrc"), "utf8"), /onnxruntime-node-install=skip/);
  });

  it("brings Node.js 24, the fonts for box labels, and the default model checked at build time", () => {
    assert.ok(froms.some((f) => /^node:24\b/.test(f)), "a node:24 stage");
    assert.ok(steps.some((s) => s.keyword === "COPY" && s.args.includes("--from=node") && s.args.includes("/usr/local/bin/node")));
    assert.ok(runs.some((r) => /apt-get install .*fonts-dejavu-core/.test(r)));
    assert.ok(runs.some((r) => /npm run models:fetch -- "?\$\{?MODEL\}?"?/.test(r)));
    const manifest = JSON.parse(readFileSync(join(root, "models", "manifest.json"), "utf8")) as { default: string; models: { id: string; sha256: string | null }[] };
    const modelArg = steps.find((s) => s.keyword === "ARG" && s.args.startsWith("MODEL="))?.args.slice("MODEL=".length);
    assert.equal(modelArg, manifest.default);
    assert.match(manifest.models.find((m) => m.id === modelArg)?.sha256 ?? "", /^[0-9a-f]{64}$/, "the baked-in model has a pinned sha256");
  });

  it("runs as a non-root user, with a health check, starting the queue worker", () => {
    const users = steps.filter((s) => s.keyword === "USER").map((s) => s.args);
    assert.ok(users.length > 0);
    assert.ok(!["root", "0"].includes(users.at(-1)!.split(":")[0]!));
    const health = steps.find((s) => s.keyword === "HEALTHCHECK");
    assert.ok(health && /\bCMD\b/.test(health.args));
    // The same check as the ECS task's, and the worker's heartbeat script is in the image.
    assert.equal(health.args.split(/\bCMD\s+/)[1], WORKER_HEALTH_COMMAND);
    const script = /node \/app\/(\S+)/.exec(WORKER_HEALTH_COMMAND)?.[1];
    assert.ok(script && existsSync(join(root, script)), `${script} exists`);
    assert.ok(steps.some((s) => s.keyword === "COPY" && script.startsWith(s.args.split(/\s+/)[0]!)), `${script} is copied into the image`);
    const cmd = steps.filter((s) => s.keyword === "CMD").at(-1);
    assert.deepEqual(JSON.parse(cmd?.args ?? "null"), ["node", "gpu-worker/worker/main.ts"]);
    assert.ok(existsSync(join(root, "gpu-worker", "worker", "main.ts")));
  });
});

describe(".dockerignore", () => {
  const patterns = readFileSync(join(root, ".dockerignore"), "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
  const ignore = IgnoreStrategy.docker(root, patterns);
  const ignored = (path: string) => ignore.ignores(join(root, path));

  it("leaves out installed packages, downloaded weights, test output and tests", () => {
    for (const path of ["node_modules/sharp/package.json", "models/weights/md_v5a.0.0.onnx", "test-artifacts/run/log.txt", "gpu-worker/worker/worker.test.ts", "web/index.html", "infra/app.ts", ".git/HEAD"]) {
      assert.ok(ignored(path), `${path} stays out of the image`);
    }
  });

  it("keeps everything the worker, its health check and the model fetch import", () => {
    const seen = new Set<string>();
    const pending = ["gpu-worker/worker/main.ts", "gpu-worker/worker/healthCheck.ts", "models/fetchCli.ts"];
    while (pending.length > 0) {
      const file = pending.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      const source = readFileSync(join(root, file), "utf8");
      // Static and dynamic imports, and worker-thread URLs: any quoted relative .ts/.json path.
      for (const [, spec] of source.matchAll(/["'](\.{1,2}\/[^"'\s]+\.(?:ts|json))["']/g)) {
        const target = relative(root, resolve(root, dirname(file), spec!));
        if (existsSync(join(root, target))) pending.push(target);
      }
    }
    assert.ok(seen.size > 20, `followed the imports (${seen.size} files)`);
    assert.deepEqual([...seen].filter(ignored), [], "files the worker needs are in the build context");
    for (const path of ["package.json", "package-lock.json", ".npmrc", "models/manifest.json"]) assert.ok(!ignored(path), `${path} is in the build context`);
  });
});
