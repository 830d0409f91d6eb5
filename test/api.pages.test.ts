// Jobs of any size over real HTTP (fauxqs, Redis): file lists in pages, every request and answer
// under 1 MB, the limits counted across pages, fresh links by name, the listing of what storage
// lacks, expired links signed again, and a multipart upload resumed with only its missing parts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { setTimeout as sleep } from "node:timers/promises";
import { MAX_BODY_BYTES, MAX_PAGE_FILES } from "../functions/wire.ts";
import { MiB, startApiHarness } from "./helpers/apiHarness.ts";
import type { ApiBody, ApiHarness } from "./helpers/apiHarness.ts";

type Plan = ApiBody["uploads"][number];
const EMAIL = "ranger@example.org";

function bytes(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 13 + seed) & 0xff;
  return data;
}

async function put(plan: Plan, body: Uint8Array<ArrayBuffer>): Promise<Response> {
  return fetch(plan.url, { method: "PUT", headers: plan.headers, body });
}

/** Every page of a listing; asserts each answer's size on the way. */
async function listAll(api: ApiHarness, jobId: string, query = ""): Promise<{ files: { name: string; size: number }[]; pages: number }> {
  const files: { name: string; size: number }[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const response = await api.call("GET", `/api/jobs/${jobId}/files?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    assert.equal(response.status, 200, JSON.stringify(response.json));
    assert.ok(response.bytes < MAX_BODY_BYTES, `a listing page of ${response.bytes} bytes`);
    assert.ok(response.json.files.length <= MAX_PAGE_FILES);
    files.push(...response.json.files);
    cursor = response.json.cursor;
    pages++;
  } while (cursor);
  return { files, pages };
}

describe("a 100,000-file job", () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness();
  });
  after(async () => api.stop());

  test("is created in pages of 1,000 with every request and answer under 1 MB, and listed back whole", async () => {
    const total = 100_000;
    const name = (i: number) => `SDcard01/DCIM/${100 + Math.floor(i / 9999)}RECNX/IMG_${String(i).padStart(6, "0")}.JPG`;
    const page = (from: number) => Array.from({ length: MAX_PAGE_FILES }, (_, k) => ({ name: name(from + k), size: 3_500_000 + from + k, type: "image/jpeg" }));
    let largestRequest = 0;
    let largestAnswer = 0;
    let jobId = "";
    for (let from = 0; from < total; from += MAX_PAGE_FILES) {
      const body = from === 0 ? { email: EMAIL, files: page(0), totals: { files: total, bytes: total * 4_000_000 } } : { files: page(from) };
      largestRequest = Math.max(largestRequest, Buffer.byteLength(JSON.stringify(body)));
      const response = await api.call("POST", from === 0 ? "/api/jobs" : `/api/jobs/${jobId}/files`, body);
      assert.equal(response.status, from === 0 ? 201 : 200, JSON.stringify(response.json).slice(0, 500));
      if (from === 0) jobId = response.json.jobId;
      largestAnswer = Math.max(largestAnswer, response.bytes);
      assert.equal(response.json.uploads.length + (response.json.unsigned ?? 0), MAX_PAGE_FILES);
      assert.equal(response.json.uploads[0]?.name, name(from), "plans in the order asked");
    }
    assert.ok(largestRequest < MAX_BODY_BYTES && largestAnswer < MAX_BODY_BYTES, `largest request ${largestRequest}, answer ${largestAnswer}`);
    const job = await api.store.get(jobId);
    assert.equal(job?.fileCount, total);
    assert.equal(job?.totalBytes, Array.from({ length: total }, (_, i) => 3_500_000 + i).reduce((a, b) => a + b, 0));

    const listed = await listAll(api, jobId);
    assert.equal(listed.files.length, total);
    assert.equal(new Set(listed.files.map((file) => file.name)).size, total, "each file once");
    assert.ok(listed.pages >= total / MAX_PAGE_FILES);
  });
});

describe("pages: limits, duplicates, states and names", () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness({ MAX_FILES: "5", MAX_TOTAL_BYTES: "1000", RATE_LIMIT_PER_HOUR: "1000" });
  });
  after(async () => api.stop());

  async function createJob(files: { name: string; size: number }[] = []): Promise<string> {
    const created = await api.call("POST", "/api/jobs", { email: EMAIL, files });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    return created.json.jobId;
  }

  test("a job can start empty; the limits count every page, and a page that crosses one is refused whole, naming the limit and the count", async () => {
    const jobId = await createJob();
    const created = await api.call("GET", `/api/jobs/${jobId}`);
    assert.equal(created.json.fileCount, 0);
    assert.equal((await api.call("POST", `/api/jobs/${jobId}/files`, { files: [{ name: "a.jpg", size: 100 }, { name: "b.jpg", size: 100 }] })).status, 200);
    assert.equal((await api.call("POST", `/api/jobs/${jobId}/files`, { files: [{ name: "c.jpg", size: 100 }, { name: "d.jpg", size: 100 }] })).status, 200);

    const tooMany = await api.call("POST", `/api/jobs/${jobId}/files`, { files: [{ name: "e.jpg", size: 1 }, { name: "f.jpg", size: 1 }] });
    assert.equal(tooMany.status, 400);
    assert.equal(tooMany.json.error.code, "too_many_files");
    assert.match(tooMany.json.error.message, /at most 5 files \(MAX_FILES\); this one would hold 6/);

    const tooLarge = await api.call("POST", `/api/jobs/${jobId}/files`, { files: [{ name: "e.jpg", size: 601 }] });
    assert.equal(tooLarge.status, 400);
    assert.equal(tooLarge.json.error.code, "total_too_large");
    assert.match(tooLarge.json.error.message, /1001 bytes.*1000 bytes \(MAX_TOTAL_BYTES\)/);

    const job = await api.store.get(jobId);
    assert.deepEqual([job?.fileCount, job?.totalBytes], [4, 400], "nothing of a refused page was kept");
    assert.equal((await api.call("POST", `/api/jobs/${jobId}/files`, { files: [{ name: "e.jpg", size: 600 }] })).status, 200, "up to the limit exactly");
  });

  test("a job announced past the limits is refused before it is created", async () => {
    const refused = await api.call("POST", "/api/jobs", { email: EMAIL, totals: { files: 6, bytes: 10 } });
    assert.equal(refused.status, 400);
    assert.equal(refused.json.error.code, "too_many_files");
    assert.match(refused.json.error.message, /would hold 6/);
  });

  test("a name sent in two pages is a 400 listing the names; within one page too", async () => {
    const jobId = await createJob([{ name: "cam1/a.jpg", size: 1 }]);
    const again = await api.call("POST", `/api/jobs/${jobId}/files`, { files: [{ name: "cam1//a.jpg", size: 1 }, { name: "cam1/b.jpg", size: 1 }] });
    assert.equal(again.status, 400);
    assert.equal(again.json.error.code, "duplicate_name");
    assert.deepEqual(again.json.error.names, ["cam1/a.jpg"]);
    assert.match(again.json.error.message, /"cam1\/a\.jpg"/);
    assert.equal((await api.store.get(jobId))?.fileCount, 1, "the page was refused whole");
    const inPage = await api.call("POST", `/api/jobs/${jobId}/files`, { files: [{ name: "x.jpg", size: 1 }, { name: "./x.jpg", size: 1 }] });
    assert.equal(inPage.status, 400);
    assert.deepEqual(inPage.json.error.names, ["x.jpg"]);
  });

  test("pages over 1,000 files are refused with a message saying how to send them", async () => {
    const jobId = await createJob();
    const big = await api.call("POST", `/api/jobs/${jobId}/files`, { files: Array.from({ length: 1001 }, (_, i) => ({ name: `${i}.jpg`, size: 0 })) });
    assert.equal(big.status, 400);
    assert.match(big.json.error.message, /at most 1000 files per request/);
    const names = await api.call("POST", `/api/jobs/${jobId}/uploads/sign`, { names: Array.from({ length: 1001 }, (_, i) => `${i}.jpg`) });
    assert.equal(names.status, 400);
  });

  test("adding files or signing links of a job no longer uploading is a 409; unknown names a 404 naming them", async () => {
    const jobId = await createJob([{ name: "a.jpg", size: 3 }]);
    const unknown = await api.call("POST", `/api/jobs/${jobId}/uploads/sign`, { names: ["a.jpg", "nope/b.jpg"] });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.error.code, "unknown_name");
    assert.deepEqual(unknown.json.error.names, ["nope/b.jpg"]);
    assert.match(unknown.json.error.message, /"nope\/b\.jpg"/);

    const [plan] = (await api.call("POST", `/api/jobs/${jobId}/uploads/sign`, { names: ["a.jpg"] })).json.uploads;
    assert.equal((await put(plan!, bytes(3, 1))).status, 200);
    assert.equal((await api.call("POST", `/api/jobs/${jobId}/submit`)).status, 200);

    for (const [path, body] of [
      [`/api/jobs/${jobId}/files`, { files: [{ name: "late.jpg", size: 1 }] }],
      [`/api/jobs/${jobId}/uploads/sign`, { names: ["a.jpg"] }],
    ] as const) {
      const late = await api.call("POST", path, body);
      assert.equal(late.status, 409, path);
      assert.equal(late.json.error.code, "not_uploading");
      assert.match(late.json.error.message, /queued/);
    }
    assert.equal((await api.call("POST", "/api/jobs/AAAAAAAAAAAAAAAAAAAAAA/files", { files: [{ name: "a.jpg", size: 1 }] })).status, 404);
  });

  test("a cursor of another job, of another listing, or garbled is a 400", async () => {
    const first = await createJob([{ name: "a.jpg", size: 1 }, { name: "b.jpg", size: 1 }]);
    const second = await createJob([{ name: "c.jpg", size: 1 }]);
    const foreign = Buffer.from(JSON.stringify({ job: first, missing: false, phase: "scan", scan: "0", skip: 1 })).toString("base64url");
    // A cursor that works for its own job...
    const own = await api.call("GET", `/api/jobs/${first}/files?cursor=${foreign}`);
    assert.equal(own.status, 200);
    assert.equal(own.json.files.length, 1);
    for (const [jobId, query, message] of [
      [second, `cursor=${foreign}`, /another job/],
      [first, `missing=1&cursor=${foreign}`, /without missing=1/],
      [first, "cursor=not-a-cursor", /cannot be read/],
      [first, `cursor=${Buffer.from(JSON.stringify({ job: first, missing: false, phase: "scan", scan: "x", skip: -1 })).toString("base64url")}`, /cannot be read/],
    ] as const) {
      const refused = await api.call("GET", `/api/jobs/${jobId}/files?${query}`);
      assert.equal(refused.status, 400, query);
      assert.equal(refused.json.error.code, "invalid_cursor");
      assert.match(refused.json.error.message, message);
    }
  });
});

describe("what storage lacks", () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness({ RATE_LIMIT_PER_HOUR: "1000" });
  });
  after(async () => api.stop());

  test("missing=1 lists the planned files storage does not hold at their size, in pages, until none is left", async () => {
    const files = Array.from({ length: 2_500 }, (_, i) => ({ name: `cam${i % 3}/IMG_${String(i).padStart(5, "0")}.JPG`, size: 10 + (i % 7), type: "image/jpeg" }));
    const created = await api.call("POST", "/api/jobs", { email: EMAIL, files: files.slice(0, 1000) });
    const jobId = created.json.jobId;
    for (const from of [1000, 2000]) assert.equal((await api.call("POST", `/api/jobs/${jobId}/files`, { files: files.slice(from, from + 1000) })).status, 200);

    // Upload every file but each 10th; one of those it sends at a wrong size (a link signed for its size refuses that, so the test writes it directly).
    const sent = files.filter((_, i) => i % 10 !== 0);
    for (let from = 0; from < sent.length; from += 1000) {
      const signed = await api.call("POST", `/api/jobs/${jobId}/uploads/sign`, { names: sent.slice(from, from + 1000).map((file) => file.name) });
      assert.equal(signed.status, 200);
      const bySize = new Map(sent.map((file) => [file.name, file.size]));
      for (let i = 0; i < signed.json.uploads.length; i += 50) {
        await Promise.all(signed.json.uploads.slice(i, i + 50).map(async (plan) => assert.equal((await put(plan, bytes(bySize.get(plan.name)!, 1))).status, 200)));
      }
    }
    const missing = await listAll(api, jobId, "missing=1");
    const expected = files.filter((_, i) => i % 10 === 0);
    assert.deepEqual(missing.files.map((file) => file.name).sort(), expected.map((file) => file.name).sort());
    assert.deepEqual(missing.files.find((file) => file.name === expected[0]!.name), { name: expected[0]!.name, size: expected[0]!.size });

    const submit = await api.call("POST", `/api/jobs/${jobId}/submit`);
    assert.equal(submit.status, 409);
    assert.equal(submit.json.error.missingCount, expected.length);
    assert.ok(submit.json.error.missing.length <= 20 && submit.json.error.missing.length > 0);
    assert.ok(submit.bytes < 10_000, `a small answer (${submit.bytes} bytes)`);

    const signed = await api.call("POST", `/api/jobs/${jobId}/uploads/sign`, { names: missing.files.map((file) => file.name) });
    await Promise.all(signed.json.uploads.map(async (plan) => assert.equal((await put(plan, bytes(missing.files.find((file) => file.name === plan.name)!.size, 2))).status, 200)));
    assert.deepEqual((await listAll(api, jobId, "missing=1")).files, []);
    assert.equal((await api.call("POST", `/api/jobs/${jobId}/submit`)).status, 200);
    const planned = await api.plannedFiles(jobId);
    assert.ok(planned.every((file) => file.etag), "submit recorded every object's ETag in the plan");
  });

});

describe("after submit", () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness({ RATE_LIMIT_PER_HOUR: "1000" });
  });
  after(async () => api.stop());

  test("a listing of what is missing leaves the ETags submit recorded alone, even when an object was replaced since", async () => {
    const created = await api.call("POST", "/api/jobs", { email: EMAIL, files: [{ name: "a.jpg", size: 4, type: "image/jpeg" }] });
    const [plan] = created.json.uploads;
    assert.equal((await put(plan!, bytes(4, 1))).status, 200);
    assert.equal((await api.call("POST", `/api/jobs/${created.json.jobId}/submit`)).status, 200);
    const [checked] = await api.plannedFiles(created.json.jobId);
    // The link is still valid while the job waits: the object is replaced with other bytes of the same size.
    assert.equal((await put(plan!, bytes(4, 2))).status, 200);
    const listed = await listAll(api, created.json.jobId, "missing=1");
    assert.deepEqual(listed.files, []);
    const [after] = await api.plannedFiles(created.json.jobId);
    assert.equal(after?.etag, checked?.etag, "the worker still reads exactly what submit checked");
  });
});

// Links live 3 s: X-Amz-Date is whole seconds, so a link signed late in a second has up to a
// second less; 1 s links left a loaded CI machine no time to send two 5 MiB parts.
describe("fresh links and resumed uploads (links valid for 3 s, through a gate that refuses expired ones)", () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness({ PRESIGN_SECONDS: "3", RATE_LIMIT_PER_HOUR: "1000" }, {}, { gate: true });
  });
  after(async () => api.stop());

  test("a PUT link that expired is refused by storage; signed again by name, the upload finishes", async () => {
    const created = await api.call("POST", "/api/jobs", { email: EMAIL, files: [{ name: "late.jpg", size: 100, type: "image/jpeg" }] });
    const [plan] = created.json.uploads;
    await sleep(4_100);
    const refused = await put(plan!, bytes(100, 3));
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /Request has expired/);
    assert.equal(api.gate!.expired, 1);

    const fresh = await api.call("POST", `/api/jobs/${created.json.jobId}/uploads/sign`, { names: ["late.jpg"] });
    assert.equal(fresh.status, 200);
    assert.notEqual(fresh.json.uploads[0]!.url, plan!.url);
    assert.equal((await put(fresh.json.uploads[0]!, bytes(100, 3))).status, 200);
    assert.equal((await api.call("POST", `/api/jobs/${created.json.jobId}/submit`)).status, 200);
  });

  test("a multipart upload resumed: fresh part links for the same upload, only the parts not recorded are sent; aborted, it starts anew", async () => {
    const size = 16 * MiB + 5; // 4 parts of 5 MiB, the last short
    const card = bytes(size, 4);
    const created = await api.call("POST", "/api/jobs", { email: EMAIL, files: [{ name: "card.zip", size, type: "application/zip" }] });
    const jobId = created.json.jobId;
    const { multipart } = created.json.uploads[0]!;
    assert.equal(multipart.partCount, 4);
    const sendPart = async (url: string, partNumber: number) => {
      const response = await fetch(url, { method: "PUT", body: card.subarray((partNumber - 1) * multipart.partSize, partNumber * multipart.partSize) });
      assert.equal(response.status, 200);
      return { partNumber, etag: response.headers.get("etag")! };
    };
    // The first run sends parts 1 and 2, records them, and stops.
    const done = [await sendPart(multipart.parts[0]!.url, 1), await sendPart(multipart.parts[1]!.url, 2)];
    const base = `/api/jobs/${jobId}/uploads/${encodeURIComponent(multipart.uploadId)}`;
    assert.equal((await api.call("POST", `${base}/parts`, { parts: done })).status, 204);
    await sleep(3_100); // its links expire meanwhile

    // The resumed run: the same upload, the parts it has, fresh links for the rest.
    const again = await api.call("POST", `/api/jobs/${jobId}/uploads/sign`, { names: ["card.zip"] });
    assert.equal(again.json.uploads[0]!.multipart.uploadId, multipart.uploadId);
    const listed = await api.call("GET", `${base}/parts`);
    assert.equal(listed.json.partsKnown, true);
    assert.deepEqual(listed.json.parts.map((part) => part.PartNumber), [1, 2]);
    const sentBefore = api.gate!.uploads.length;
    const links = await api.call("POST", `${base}/sign`, { partNumbers: [3, 4] });
    const rest = await Promise.all(links.json.parts.map((part) => sendPart(part.url, part.partNumber)));
    assert.deepEqual(api.gate!.uploads.slice(sentBefore).map((upload) => upload.partNumber).sort(), [3, 4], "only the missing parts went up");
    const parts = [...listed.json.parts.map((part) => ({ PartNumber: part.PartNumber, ETag: part.ETag })), ...rest.map((part) => ({ PartNumber: part.partNumber, ETag: part.etag }))];
    const completed = await api.call("POST", `${base}/complete`, { parts });
    assert.equal(completed.status, 200, JSON.stringify(completed.json));
    const stored = await api.aws.clients.s3.send(new GetObjectCommand({ Bucket: api.aws.config.BUCKET, Key: `jobs/${jobId}/input/card.zip` }));
    assert.deepEqual(new Uint8Array(await stored.Body!.transformToByteArray()), card);

    // Aborted (or ended by S3), a file gets a new upload when it is signed again.
    const second = await api.call("POST", `/api/jobs/${jobId}/files`, { files: [{ name: "b.zip", size: 7 * MiB }] });
    const first = second.json.uploads[0]!.multipart.uploadId;
    assert.equal((await api.call("DELETE", `/api/jobs/${jobId}/uploads/${encodeURIComponent(first)}`)).status, 204);
    const renewed = await api.call("POST", `/api/jobs/${jobId}/uploads/sign`, { names: ["b.zip"] });
    assert.notEqual(renewed.json.uploads[0]!.multipart.uploadId, first);
    assert.equal(renewed.json.uploads[0]!.multipart.parts.length, 2);
    assert.equal((await api.call("POST", `/api/jobs/${jobId}/uploads/${encodeURIComponent(first)}/sign`, { partNumbers: [1] })).status, 404, "the old upload is gone");
  });
});

describe("leaving files out of a job (a card re-picked without them)", () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness({ RATE_LIMIT_PER_HOUR: "1000" });
  });
  after(async () => api.stop());

  test("dropped files are uncounted, gone from storage (an open multipart upload aborted), and submit goes on with the rest; names not in the job are listed", async () => {
    const created = await api.call("POST", "/api/jobs", {
      email: EMAIL,
      files: [
        { name: "keep.jpg", size: 4 },
        { name: "gone.jpg", size: 5 },
        { name: "gone big.jpg", size: 7 * MiB },
      ],
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const jobId = created.json.jobId;
    const [keep, gone, big] = created.json.uploads as [Plan, Plan, ApiBody["uploads"][number] & { multipart: { uploadId: string } }];
    assert.equal((await put(keep, bytes(4, 1))).status, 200);
    // gone.jpg reached storage at another size (the card's copy changed); it will be left out.
    assert.equal((await fetch(gone.url.replace(/X-Amz-SignedHeaders=[^&]*/, "X-Amz-SignedHeaders=host"), { method: "PUT", body: bytes(6, 2) })).status, 200);
    const refused = await api.call("POST", `/api/jobs/${jobId}/submit`);
    assert.equal(refused.status, 409, "not submitted while two files are missing");

    const dropped = await api.call("POST", `/api/jobs/${jobId}/files/drop`, { names: ["gone.jpg", "gone big.jpg", "never.jpg"] });
    assert.equal(dropped.status, 200, JSON.stringify(dropped.json));
    assert.deepEqual(dropped.json, { dropped: 2, fileCount: 1, totalBytes: 4, notInJob: ["never.jpg"] });
    assert.deepEqual((await listAll(api, jobId)).files, [{ name: "keep.jpg", size: 4 }]);
    await assert.rejects(api.aws.clients.s3.send(new GetObjectCommand({ Bucket: api.aws.config.BUCKET, Key: `jobs/${jobId}/input/gone.jpg` })), /NoSuchKey|not exist/i);
    assert.equal((await api.call("GET", `/api/jobs/${jobId}/uploads/${encodeURIComponent(big.multipart.uploadId)}/parts`)).status, 404, "the multipart upload is no longer the job's");
    // Asked again (an answer lost on the way): nothing more happens.
    assert.deepEqual((await api.call("POST", `/api/jobs/${jobId}/files/drop`, { names: ["gone.jpg"] })).json, { dropped: 0, fileCount: 1, totalBytes: 4, notInJob: ["gone.jpg"] });

    const submitted = await api.call("POST", `/api/jobs/${jobId}/submit`);
    assert.equal(submitted.status, 200, JSON.stringify(submitted.json));
    assert.equal(submitted.json.fileCount, 1);
    const late = await api.call("POST", `/api/jobs/${jobId}/files/drop`, { names: ["keep.jpg"] });
    assert.equal(late.status, 409);
    assert.equal(late.json.error.code, "not_uploading");
    assert.equal((await api.call("POST", `/api/jobs/${jobId}/files/drop`, { names: [] })).status, 400);
  });
});
