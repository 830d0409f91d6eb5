// The LocalStack ready hook, run without Docker: a stand-in `awslocal` records each call, so
// the test checks the script parses and makes the bucket, CORS rule, DLQ and redrive that
// functions/local.ts makes for the embedded emulator.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUCKET_CORS_RULE } from "../../functions/local.ts";

const ROOT = join(import.meta.dirname, "..", "..");
const HOOK = join(ROOT, "localstack", "ready.d", "init-trapline.sh");

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
      env: { PATH: `${dir}:${process.env.PATH}`, BUCKET: "b-test", QUEUE_NAME: "q-test", DLQ_NAME: "dlq-test", MAX_RECEIVES: "4" },
    }).toString();
    assert.match(output, /bucket b-test, queue q-test \(DLQ dlq-test after 4 receives\) ready/);

    const calls = (await readFile(log, "utf8")).trim().split("\n").map((line) => JSON.parse(line) as string[]);
    const find = (action: string) => calls.find((call) => call[1] === action);
    assert.deepEqual(find("create-bucket"), ["s3api", "create-bucket", "--bucket", "b-test"]);
    const cors = JSON.parse(find("put-bucket-cors")!.at(-1)!) as { CORSRules: unknown[] };
    assert.deepEqual(cors.CORSRules, [BUCKET_CORS_RULE], "the same rule as the embedded emulator's proxy");
    const queues = calls.filter((call) => call[1] === "create-queue");
    assert.equal(queues[0]?.[3], "dlq-test");
    assert.equal(queues[1]?.[3], "q-test");
    const attributes = JSON.parse(queues[1]?.at(-1) ?? "{}") as { VisibilityTimeout: string; RedrivePolicy: string };
    assert.equal(attributes.VisibilityTimeout, "300");
    assert.deepEqual(JSON.parse(attributes.RedrivePolicy), { deadLetterTargetArn: "arn:aws:sqs:us-east-1:000000000000:dlq-test", maxReceiveCount: "4" });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("the compose file documents LocalStack's auth token and the pinned-image alternative", async () => {
  const compose = await readFile(join(ROOT, "localstack", "docker-compose.yml"), "utf8");
  assert.match(compose, /LOCALSTACK_AUTH_TOKEN=\$\{LOCALSTACK_AUTH_TOKEN:-\}/);
  assert.match(compose, /image: \$\{LOCALSTACK_IMAGE:-localstack\/localstack:latest\}/);
  assert.match(compose, /\.\/ready\.d:\/etc\/localstack\/init\/ready\.d/);
});
