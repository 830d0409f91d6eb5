// JobFiles' own rules, with the API played in memory (the browser tests run it against the real
// one): pages of at most 1,000, plans held for the next files only, signed in batches when the
// queue needs them and again once they near their end, a page whose answer was lost.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { AddFilesRequest, CreateJobRequest, SignUploadsRequest, UploadPlans } from "../../functions/wire.ts";
import { ApiError, type Api } from "./api.ts";
import { Connection } from "./connection.ts";
import { JobFiles } from "./jobFiles.ts";
import { PickedList } from "./pickedList.ts";

const HOUR = 3600;

/** An API that plans every file as a PUT with a SigV4-style link signed "now" for `lifetime` seconds. */
class MemoryApi {
  calls: string[] = [];
  signed: number[] = [];
  planned = new Set<string>();
  lifetime = HOUR;
  loseNextAnswer = false;

  #plans(names: string[]): UploadPlans {
    const now = new Date();
    const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
    return {
      uploads: names.map((name) => ({ name, method: "PUT" as const, url: `http://s3/b/${name}?X-Amz-Date=${stamp}&X-Amz-Expires=${this.lifetime}`, headers: {} })),
      expiresAt: new Date(now.getTime() + this.lifetime * 1000).toISOString(),
    };
  }
  #add(files: { name: string }[]): void {
    const taken = files.filter((file) => this.planned.has(file.name));
    if (taken.length > 0) throw new ApiError("duplicate_name", "The job has these files already.", 400, { names: taken.map((file) => file.name) });
    for (const file of files) this.planned.add(file.name);
  }
  createJob(request: CreateJobRequest) {
    return Promise.resolve().then(() => this.#create(request));
  }
  #create(request: CreateJobRequest) {
    this.calls.push(`create ${request.files?.length ?? 0}`);
    this.#add(request.files ?? []);
    return { jobId: "J", limits: {} as never, ...this.#plans((request.files ?? []).map((file) => file.name)) };
  }
  addFiles(jobId: string, request: AddFilesRequest) {
    return Promise.resolve().then(() => this.#addFiles(jobId, request));
  }
  #addFiles(_jobId: string, request: AddFilesRequest) {
    this.calls.push(`add ${request.files.length}`);
    this.#add(request.files);
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      throw new ApiError("unreachable", "Cannot reach the Trapline server.", 0);
    }
    return this.#plans(request.files.map((file) => file.name));
  }
  signUploads(jobId: string, request: SignUploadsRequest) {
    return Promise.resolve().then(() => this.#signUploads(jobId, request));
  }
  #signUploads(_jobId: string, request: SignUploadsRequest) {
    this.calls.push(`sign ${request.names.length}`);
    this.signed.push(...request.names.map((name) => Number(/(\d+)\.jpg$/.exec(name)![1])));
    return this.#plans(request.names);
  }
}

function listOf(count: number): PickedList {
  const list = new PickedList();
  list.add(Array.from({ length: count }, (_, index) => ({ file: new File(["x"], `${String(index).padStart(5, "0")}.jpg`), relativePath: `card/${String(index).padStart(5, "0")}.jpg` })));
  return list;
}

const always = { isOnline: () => true, onOnline: () => {} };

async function created(api: MemoryApi, list: PickedList) {
  const indices = Array.from({ length: list.size }, (_, index) => index);
  const { job, rest } = await JobFiles.create(api as unknown as Api, list, new Connection(always), { email: "a@example.org", indices });
  await job.addRest(rest);
  return job;
}

test("the job is created with its first 1,000 files and the rest added a page at a time; plans are held for the first 2,000 only", async () => {
  const api = new MemoryApi();
  const list = listOf(2_500);
  const job = await created(api, list);
  assert.deepEqual(api.calls, ["create 1000", "add 1000", "add 500"]);
  await job.planFor(0);
  await job.planFor(1_999);
  assert.deepEqual(api.signed, [], "held plans need no request");
  list.setState(2_100, "sending");
  const plan = await job.planFor(2_100);
  assert.equal(plan.name, "card/02100.jpg");
  // One request signs this file and the ready ones after it (at most 500).
  assert.deepEqual(api.calls.slice(3), ["sign 400"]);
  assert.equal(api.signed.at(-1), 2_499);
  await job.planFor(2_450);
  assert.equal(api.calls.length, 4, "signed in that batch already");
});

test("a plan near its end is signed again before use, with the ready files after it; a short-lived one is used as signed", async (t) => {
  t.mock.timers.enable({ apis: ["Date"], now: Date.UTC(2026, 0, 1, 12) });
  const api = new MemoryApi();
  const list = listOf(30);
  const job = await created(api, list);
  t.mock.timers.tick(54 * 60_000);
  await job.planFor(5);
  assert.deepEqual(api.calls, ["create 30"], "6 minutes left: good");
  t.mock.timers.tick(2 * 60_000);
  await job.planFor(5);
  assert.deepEqual(api.calls, ["create 30", "sign 25"], "4 minutes left: signed again, from this file on");

  api.lifetime = 60;
  job.forget(6);
  await job.planFor(6);
  await job.planFor(6);
  assert.deepEqual(api.calls.slice(2), ["sign 1"], "a 60-second link just signed is used, not signed again in a loop");
  t.mock.timers.tick(31_000);
  await job.planFor(6);
  assert.deepEqual(api.calls.slice(2), ["sign 1", "sign 1"], "…until half its life is gone");
});

test("a page whose answer was lost is in the job all the same: its files are signed when needed", async () => {
  const api = new MemoryApi();
  const list = listOf(1_500);
  const { job, rest } = await JobFiles.create(api as unknown as Api, list, new Connection(always), { email: "a@example.org", indices: Array.from({ length: 1_500 }, (_, index) => index) });
  api.loseNextAnswer = true;
  await job.addRest(rest);
  // Sent, answer lost (connection), sent again: the server says it has those names already.
  assert.deepEqual(api.calls, ["create 1000", "add 500", "add 500"]);
  list.setState(1_200, "sending");
  assert.equal((await job.planFor(1_200)).name, "card/01200.jpg");
  assert.deepEqual(api.calls.at(-1), "sign 300");
});
