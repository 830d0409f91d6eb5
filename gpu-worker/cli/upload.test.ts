// `trapline upload` in this process against the API over real HTTP (fauxqs, Redis), its links
// through a gate that refuses expired ones and counts what reaches storage: the names it uploads
// under, a stop half way and a resume that sends only what storage lacks (a multipart upload's
// recorded parts included), files that differ from the job's, and clear errors.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MiB, startApiHarness } from "../../test/helpers/apiHarness.ts";
import type { ApiHarness } from "../../test/helpers/apiHarness.ts";
import { buildProgram } from "./main.ts";
import { uploadCommand } from "./upload.ts";
import type { UploadOptions } from "./upload.ts";

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function bytes(size: number, seed: number): Buffer {
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 7 + seed) & 0xff;
  return data;
}

describe("trapline upload", () => {
  let api: ApiHarness;
  let dir: string;
  const lines: string[] = [];
  const say = (line: string) => lines.push(line);
  let options: UploadOptions;

  before(async () => {
    api = await startApiHarness({ RATE_LIMIT_PER_HOUR: "1000" }, {}, { gate: true });
    dir = await mkdtemp(join(tmpdir(), "trapline-upload-"));
    options = { api: api.url, email: "ranger@example.org", wait: false, parallel: 4, progress: false };
    await mkdir(join(dir, "season", "cam1"), { recursive: true });
    await mkdir(join(dir, "season", "cam2"), { recursive: true });
    await mkdir(join(dir, "other", "season"), { recursive: true });
    await writeFile(join(dir, "season", "cam1", "IMG_0001.JPG"), bytes(1000, 1));
    await writeFile(join(dir, "season", "cam2", "IMG_0001.JPG"), bytes(2000, 2));
    await writeFile(join(dir, "season", ".DS_Store"), "junk");
    await writeFile(join(dir, "season", "big.jpg"), bytes(7 * MiB, 3));
    await writeFile(join(dir, "other", "season", "x.jpg"), bytes(10, 4));
    await writeFile(join(dir, "card.zip"), bytes(300, 5));
  });
  after(async () => {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function stored(jobId: string, name: string): Promise<Buffer> {
    const object = await api.aws.clients.s3.send(new GetObjectCommand({ Bucket: api.aws.config.BUCKET, Key: `jobs/${jobId}/input/${name}` }));
    return Buffer.from(await object.Body!.transformToByteArray());
  }

  test("one folder goes up under its own name first, as the page sends it (junk left out, a large file in parts), and is submitted", async () => {
    const result = await uploadCommand([join(dir, "season")], options, say);
    assert.equal(result.view.status, "queued");
    const names = (await api.plannedFiles(result.jobId)).map((file) => file.name);
    assert.deepEqual(names, ["season/big.jpg", "season/cam1/IMG_0001.JPG", "season/cam2/IMG_0001.JPG"]);
    assert.deepEqual(await stored(result.jobId, "season/big.jpg"), bytes(7 * MiB, 3));
    assert.deepEqual(await stored(result.jobId, "season/cam2/IMG_0001.JPG"), bytes(2000, 2));
    assert.deepEqual(result.stats.partsSent.get("season/big.jpg")?.sort(), [1, 2]);
    assert.ok(lines.some((line) => /Uploaded 3 file\(s\).*MB\/s/.test(line)), lines.join("\n"));
  });

  test("several paths each keep their own name, a second of the same name gets (2); a zip goes up as it is", async () => {
    const result = await uploadCommand([join(dir, "season"), join(dir, "card.zip"), join(dir, "other", "season")], options, say);
    const names = (await api.plannedFiles(result.jobId)).map((file) => file.name);
    assert.deepEqual(names, ["card.zip", "season (2)/x.jpg", "season/big.jpg", "season/cam1/IMG_0001.JPG", "season/cam2/IMG_0001.JPG"]);
    assert.deepEqual(await stored(result.jobId, "card.zip"), bytes(300, 5));
  });

  test("stopped half way and resumed with --job: only what storage lacks goes up, a multipart upload's recorded parts are not sent again", async () => {
    const folder = join(dir, "card");
    await mkdir(folder);
    // The large file first (name order): its four parts go up one at a time, then the photos.
    await writeFile(join(folder, "a-card.bin"), bytes(16 * MiB + 5, 6));
    for (let i = 0; i < 20; i++) await writeFile(join(folder, `IMG_${String(i).padStart(4, "0")}.JPG`), bytes(500 + i, i));
    const gate = api.gate!;
    const before = gate.uploads.length;
    const stop = new AbortController();
    const watch = setInterval(() => {
      if (gate.uploads.slice(before).filter((upload) => upload.partNumber !== undefined).length >= 2) stop.abort();
    }, 5);
    let jobId = "";
    await assert.rejects(
      uploadCommand([folder], { ...options, parallel: 1 }, (line) => {
        jobId ||= /^Job (\S+):/.exec(line)?.[1] ?? "";
        say(line);
      }, stop.signal),
      /stopped\. Continue with:\n.*--job/,
    );
    clearInterval(watch);
    const first = gate.uploads.slice(before);
    assert.ok(first.length >= 2 && first.length < 24, `stopped half way (${first.length} uploads)`);

    const resumedFrom = gate.uploads.length;
    const result = await uploadCommand([folder], { ...options, email: undefined, job: jobId }, say);
    assert.equal(result.view.status, "queued");
    const second = gate.uploads.slice(resumedFrom);
    const key = (upload: { key: string; partNumber?: number }) => `${upload.key}#${upload.partNumber ?? ""}`;
    const again = second.filter((upload) => first.some((earlier) => key(earlier) === key(upload)));
    assert.deepEqual(again, [], "nothing went up twice");
    assert.equal(new Set([...first, ...second].map(key)).size, 24, "every part and photo went up once");
    assert.ok(lines.some((line) => new RegExp(`Job ${jobId}: \\d+ of 21 files are in storage already; sending \\d+`).test(line)));
    assert.deepEqual(await stored(jobId, "card/a-card.bin"), bytes(16 * MiB + 5, 6));
  });

  test("with --job, files that differ from the job's are named and nothing is sent", async () => {
    const folder = join(dir, "changed");
    await mkdir(folder);
    await writeFile(join(folder, "a.jpg"), bytes(10, 1));
    await writeFile(join(folder, "b.jpg"), bytes(10, 2));
    const stop = new AbortController();
    stop.abort();
    let jobId = "";
    await assert.rejects(uploadCommand([folder], options, (line) => (jobId ||= /^Job (\S+):/.exec(line)?.[1] ?? ""), stop.signal));
    await writeFile(join(folder, "a.jpg"), bytes(11, 1));
    const sent = api.gate!.uploads.length;
    await assert.rejects(uploadCommand([folder], { ...options, job: jobId }, say), /does not match these files\.\n1 file\(s\) differ in size from the job's:\n  changed\/a\.jpg \(11 bytes here, 10 in the job\)/);
    assert.equal(api.gate!.uploads.length, sent);
  });

  test("clear errors: a bad email, an API that is not there, a job that is no longer uploading", async () => {
    await assert.rejects(uploadCommand([join(dir, "season")], { ...options, email: "ranger@" }, say), /--email "ranger@": Add the domain/);
    await assert.rejects(uploadCommand([join(dir, "season")], { ...options, email: undefined }, say), /--email is required/);
    await assert.rejects(uploadCommand([join(dir, "nowhere")], options, say), /not found: .*nowhere/);
    const closed = await closedPort();
    await assert.rejects(uploadCommand([join(dir, "season")], { ...options, api: `http://127.0.0.1:${closed}` }, say), new RegExp(`Cannot reach the Trapline API at http://127\\.0\\.0\\.1:${closed} .*ECONNREFUSED.*npm start`));
    const done = await uploadCommand([join(dir, "card.zip")], options, say);
    const again = await uploadCommand([join(dir, "card.zip")], { ...options, job: done.jobId }, say);
    assert.equal(again.view.status, "queued");
    assert.ok(lines.includes(`Job ${done.jobId} is queued: nothing to upload.`));
  });

  test("--blur-people and --drop-gps, parsed as the command line gives them, are the job's options; without them neither", async () => {
    const parsed = async (...flags: string[]): Promise<UploadOptions> => {
      let options: UploadOptions | undefined;
      const program = buildProgram();
      program.commands.find((command) => command.name() === "upload")!.action((_paths: string[], given: UploadOptions) => void (options = given));
      await program.parseAsync(["upload", join(dir, "card.zip"), "--api", api.url, "--email", "ranger@example.org", "--no-progress", ...flags], { from: "user" });
      return options!;
    };
    const both = await uploadCommand([join(dir, "card.zip")], await parsed("--blur-people", "--drop-gps"), say);
    assert.deepEqual((await api.store.get(both.jobId))?.options, { blurPeople: true, dropGps: true });
    const one = await uploadCommand([join(dir, "card.zip")], await parsed("--drop-gps"), say);
    assert.deepEqual((await api.store.get(one.jobId))?.options, { dropGps: true });
    const neither = await uploadCommand([join(dir, "card.zip")], await parsed(), say);
    assert.deepEqual((await api.store.get(neither.jobId))?.options, {});
  });
});

// 3 s links: short enough that the CLI must sign again mid-upload, long enough for a loaded CI
// machine (X-Amz-Date is whole seconds, so a link may have up to a second less than that).
describe("trapline upload with links valid for 3 s", () => {
  let api: ApiHarness;
  let dir: string;
  before(async () => {
    api = await startApiHarness({ PRESIGN_SECONDS: "3", RATE_LIMIT_PER_HOUR: "1000" }, {}, { gate: true });
    dir = await mkdtemp(join(tmpdir(), "trapline-upload-expiry-"));
    for (let i = 0; i < 30; i++) await writeFile(join(dir, `IMG_${i}.JPG`), bytes(1000, i));
    await writeFile(join(dir, "big.jpg"), bytes(11 * MiB, 9));
  });
  after(async () => {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("signs links again before they expire, and after storage refuses one, so every file arrives", async () => {
    api.gate!.refuseNext(3);
    const result = await uploadCommand([dir], { api: api.url, email: "ranger@example.org", wait: false, parallel: 2, progress: false }, () => {});
    assert.equal(result.view.status, "queued");
    assert.ok(api.gate!.expired >= 3, `storage refused ${api.gate!.expired} links (three on purpose, any more had run out)`);
    assert.equal((await api.plannedFiles(result.jobId)).filter((file) => file.etag).length, 31);
  });
});

describe("trapline upload over the creation limit", () => {
  let api: ApiHarness;
  let dir: string;
  before(async () => {
    api = await startApiHarness({ RATE_LIMIT_PER_HOUR: "1" });
    dir = await mkdtemp(join(tmpdir(), "trapline-upload-limit-"));
    await writeFile(join(dir, "a.jpg"), bytes(10, 1));
  });
  after(async () => {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test("says so at once with the server's words, instead of waiting out the hour", async () => {
    const options: UploadOptions = { api: api.url, email: "ranger@example.org", wait: false, parallel: 2, progress: false };
    assert.equal((await uploadCommand([dir], options, () => {})).view.status, "queued");
    await assert.rejects(uploadCommand([dir], options, () => {}), /Too many new jobs in the last hour \(at most 1\)\. Try again in \d+ minutes?\./);
  });
});
