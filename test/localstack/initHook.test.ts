// The LocalStack ready hook, run without Docker: a stand-in `awslocal` records each call, so
// the test checks the script parses and makes the bucket, CORS rule, DLQ and redrive that
// devstack/provision.ts makes for the embedded emulator, with the same defaults as core/config.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../core/config.ts";
import { jobQueueAttributes } from "../../devstack/provision.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const HOOK = join(ROOT, "localstack", "ready.d", "init-trapline.sh");
const COMPOSE = join(ROOT, "localstack", "docker-compose.yml");
const CORS_FILE = join(ROOT, "devstack", "bucketCors.json");
/** The settings the hook and the compose file take from the environment, with their defaults. */
const SETTINGS = ["BUCKET", "QUEUE_NAME", "DLQ_NAME", "MAX_RECEIVES", "VISIBILITY_SECONDS"] as const;

test("the hook is valid bash", () => {
  execFileSync("bash", ["-n", HOOK]);
});

test("the hook creates the bucket with the CORS rule, the DLQ and the queue redriving to it", async () => {
  const dir = await mkdtemp(join(tmpdir(), "trapline-hook-"));
  try {
    const log = join(dir, "calls.jsonl");
    // Answers like awslocal would for the --query/--output text calls; head-bucket says "missing".
    await writeFile(
      join(dir, "awslocal"),
      `#!/usr/bin/env bash
node -e 'require("fs").appendFileSync(process.argv[1], JSON.stringify(process.argv.slice(2)) + "\\n")' "${log}" "$@"
case "$2" in
  head-bucket) exit 1 ;;
  create-queue) echo "http://localhost:4566/000000000000/$4" ;;
  get-queue-attributes) echo "arn:aws:sqs:us-east-1:000000000000:dlq-test" ;;
esac
`,
    );
    await chmod(join(dir, "awslocal"), 0o755);
    const output = execFileSync("bash", [HOOK], {
      env: { PATH: `${dir}:${process.env.PATH}`, BUCKET: "b-test", QUEUE_NAME: "q-test", DLQ_NAME: "dlq-test", MAX_RECEIVES: "4", BUCKET_CORS_FILE: CORS_FILE },
    }).toString();
    assert.match(output, /bucket b-test, queue q-test \(DLQ dlq-test after 4 receives\) ready/);

    const calls = (await readFile(log, "utf8")).trim().split("\n").map((line) => JSON.parse(line) as string[]);
    const find = (action: string) => calls.find((call) => call[1] === action);
    assert.deepEqual(find("create-bucket"), ["s3api", "create-bucket", "--bucket", "b-test"]);
    assert.equal(find("put-bucket-cors")!.at(-1), `file://${CORS_FILE}`, "the rule provision.ts and the emulator's CORS hooks read");
    const queues = calls.filter((call) => call[1] === "create-queue");
    assert.equal(queues[0]?.[3], "dlq-test");
    assert.equal(queues[1]?.[3], "q-test");
    const attributes = JSON.parse(queues[1]?.at(-1) ?? "{}") as Record<string, string>;
    const expected = jobQueueAttributes({ ...loadConfig({}), MAX_RECEIVES: 4 }, "arn:aws:sqs:us-east-1:000000000000:dlq-test");
    assert.deepEqual(Object.keys(attributes).sort(), Object.keys(expected).sort());
    assert.equal(attributes.VisibilityTimeout, expected.VisibilityTimeout);
    assert.deepEqual(JSON.parse(attributes.RedrivePolicy!), JSON.parse(expected.RedrivePolicy!));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the hook, the compose file and core/config.ts have the same defaults", async () => {
  const defaults = loadConfig({});
  const hook = await readFile(HOOK, "utf8");
  const compose = await readFile(COMPOSE, "utf8");
  for (const name of SETTINGS) {
    const value = String(defaults[name]);
    assert.ok(hook.includes(`${name}="\${${name}:-${value}}"`), `the hook's default for ${name} is not ${value}`);
    assert.ok(compose.includes(`- ${name}=\${${name}:-${value}}`), `the compose file's default for ${name} is not ${value}`);
  }
  assert.match(compose, /- \.\.\/devstack\/bucketCors\.json:\/etc\/trapline\/bucket-cors\.json:ro/, "the CORS file is mounted where the hook reads it");
  assert.match(hook, /BUCKET_CORS_FILE="\$\{BUCKET_CORS_FILE:-\/etc\/trapline\/bucket-cors\.json\}"/);
});

test("the compose file documents LocalStack's auth token and the pinned-image alternative", async () => {
  const compose = await readFile(COMPOSE, "utf8");
  assert.match(compose, /LOCALSTACK_AUTH_TOKEN=\$\{LOCALSTACK_AUTH_TOKEN:-\}/);
  assert.match(compose, /image: \$\{LOCALSTACK_IMAGE:-localstack\/localstack:latest\}/);
  assert.match(compose, /\.\/ready\.d:\/etc\/localstack\/init\/ready\.d/);
});
