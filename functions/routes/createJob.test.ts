import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { MiB, startApiHarness } from "../../test/helpers/apiHarness.ts";
import type { ApiBody, ApiHarness } from "../../test/helpers/apiHarness.ts";

const GiB = 1024 * MiB;

describe("POST /api/jobs", () => {
  let api: ApiHarness;
  before(async () => {
    api = await startApiHarness({ MAX_FILES: "5", MAX_FILE_BYTES: String(200 * GiB), MAX_TOTAL_BYTES: String(300 * GiB), RATE_LIMIT_PER_HOUR: "1000" });
  });
  after(async () => api.stop());

  const ok = { email: "ranger@example.org", files: [{ name: "a.jpg", size: 10, type: "image/jpeg" }] };

  async function expect400(body: unknown, code: string, message?: RegExp) {
    const response = await api.call("POST", "/api/jobs", body);
    assert.equal(response.status, 400, JSON.stringify(response.json));
    assert.equal(response.json.error.code, code, JSON.stringify(response.json));
    assert.equal(typeof response.json.error.message, "string");
    assert.ok(!/\bat \w+ \(|\.ts:\d+/.test(response.json.error.message), "no stack trace");
    if (message) assert.match(response.json.error.message, message);
  }

  test("a body not sent as application/json is refused with 415 (a cross-origin text/plain POST needs no preflight)", async () => {
    for (const type of ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const response = await api.call("POST", "/api/jobs", JSON.stringify(ok), { "content-type": type, origin: "https://elsewhere.example" });
      assert.equal(response.status, 415, `${type}: ${JSON.stringify(response.json)}`);
      assert.equal(response.json.error.code, "unsupported_media_type");
      assert.match(response.json.error.message, /Content-Type: application\/json/);
    }
    const bare = await fetch(`${api.url}/api/jobs`, { method: "POST", body: new Blob([JSON.stringify(ok)]) });
    assert.equal(bare.status, 415, "no content type at all");
    assert.equal((await api.call("POST", "/api/jobs", JSON.stringify(ok), { "content-type": "application/json; charset=utf-8" })).status, 201);
  });

  test("bad bodies get 400 with a code and a message naming the problem", async () => {
    await expect400("{not json", "invalid_json");
    await expect400({ ...ok, email: "not-an-email" }, "invalid_email", /email/);
    await expect400({ files: ok.files }, "invalid_email");
    await expect400({ ...ok, files: [{ name: "a.jpg", size: -1 }] }, "invalid_file");
    await expect400({ ...ok, files: [{ name: "a.jpg", size: 1.5 }] }, "invalid_file");
    await expect400({ ...ok, options: { renderThreshold: 2 } }, "invalid_options");
    await expect400({ ...ok, options: { eventGapSeconds: 0 } }, "invalid_options");
    await expect400({ ...ok, options: { sortedView: "yes" } }, "invalid_options");
    await expect400({ ...ok, files: Array.from({ length: 6 }, (_, i) => ({ name: `${i}.jpg`, size: 1 })) }, "too_many_files", /at most 5 files/);
    await expect400({ ...ok, files: [{ name: "huge.zip", size: 201 * GiB }] }, "file_too_large", /huge\.zip.*201 GiB.*200 GiB/);
    await expect400(
      { ...ok, files: [{ name: "a.zip", size: 150 * GiB }, { name: "b.zip", size: 151 * GiB }] },
      "total_too_large",
      /301 GiB.*300 GiB/,
    );
    await expect400({ ...ok, files: [{ name: "../../etc/passwd", size: 1 }] }, "unsafe_name", /"\.\.\/\.\.\/etc\/passwd".*"\.\."/);
    await expect400({ ...ok, files: [{ name: "cam\\..\\..\\x.jpg", size: 1 }] }, "unsafe_name", /goes up a folder/);
    await expect400({ ...ok, files: [{ name: "/abs/x.jpg", size: 1 }] }, "unsafe_name", /absolute/);
    await expect400({ ...ok, files: [{ name: "C:x.jpg", size: 1 }] }, "unsafe_name", /drive letter/);
    await expect400({ ...ok, files: [{ name: "bad\nname.jpg", size: 1 }] }, "unsafe_name", /"bad\\nname\.jpg".*control characters/);
    await expect400({ ...ok, files: [{ name: "a//b.jpg", size: 1 }, { name: "a/./b.jpg", size: 1 }] }, "duplicate_name", /"a\/b\.jpg"/);
    // JSON can carry half of a UTF-16 pair; an S3 key or URL cannot (it was a 500 from the SDK).
    await expect400({ ...ok, files: [{ name: "cam1/IMG\uD800.jpg", size: 1 }] }, "invalid_text", /files\.0\.name: "cam1\/IMG\\ud800\.jpg" holds a broken character/);
    await expect400({ ...ok, files: [ok.files[0], { name: "\uDC00/x.zip", size: 10 * GiB }] }, "invalid_text", /files\.1\.name/);
  });

  test("names are made safe, keys chosen by the server, and a PUT signs exactly its content-type and length", async () => {
    const response = await api.call("POST", "/api/jobs", {
      email: "ranger@example.org",
      files: [
        { name: "cam1\\sub//IMG_1.JPG", size: 10, type: "image/jpeg" },
        { name: "no-type.bin", size: 0 },
        { name: "odd-type.jpg", size: 1, type: "image/jpeg\r\nx-evil: 1" },
      ],
    });
    assert.equal(response.status, 201, JSON.stringify(response.json));
    const [first, second, third] = response.json.uploads as [ApiBody["uploads"][number], ApiBody["uploads"][number], ApiBody["uploads"][number]];
    assert.equal(first.name, "cam1/sub/IMG_1.JPG");
    const url = new URL(first.url);
    assert.equal(url.pathname, `/${api.aws.config.BUCKET}/jobs/${response.json.jobId}/input/cam1/sub/IMG_1.JPG`);
    // content-length is signed but not listed: browsers send it themselves and may not set it.
    assert.equal(url.searchParams.get("X-Amz-SignedHeaders"), "content-length;content-type;host");
    assert.deepEqual(first.headers, { "content-type": "image/jpeg" });
    assert.deepEqual(second.headers, { "content-type": "application/octet-stream" });
    assert.deepEqual(third.headers, { "content-type": "application/octet-stream" });
    const files = await api.plannedFiles(response.json.jobId);
    const prefix = `jobs/${response.json.jobId}/input/`;
    assert.deepEqual(
      files?.map((file) => [file.name, file.key, file.method]),
      [
        ["cam1/sub/IMG_1.JPG", `${prefix}cam1/sub/IMG_1.JPG`, "PUT"],
        ["no-type.bin", `${prefix}no-type.bin`, "PUT"],
        ["odd-type.jpg", `${prefix}odd-type.jpg`, "PUT"],
      ],
    );
    const job = await api.store.get(response.json.jobId);
    assert.equal(job?.status, "uploading");
    assert.equal(job?.fileCount, 3);
    assert.equal(job?.totalBytes, 11);
  });

  test("singleUpload POST: small files get presigned forms pinning key, type and exact length, which storage takes; on each route that signs", async () => {
    const response = await api.call("POST", "/api/jobs", {
      email: "ranger@example.org",
      singleUpload: "POST",
      files: [
        { name: "cam1/IMG_1.JPG", size: 5, type: "image/jpeg" },
        { name: "cards.zip", size: 20 * MiB },
      ],
    });
    assert.equal(response.status, 201, JSON.stringify(response.json));
    const jobId = response.json.jobId;
    const [form, big] = response.json.uploads as unknown as [{ method: string; url: string; fields: Record<string, string> }, { method: string }];
    assert.equal(form.method, "POST");
    assert.equal(big.method, "multipart", "a large file still goes in parts");
    assert.equal(form.url, `${new URL(form.url).origin}/${api.aws.config.BUCKET}`);
    assert.equal(form.fields["key"], `jobs/${jobId}/input/cam1/IMG_1.JPG`);
    const policy = JSON.parse(Buffer.from(form.fields["Policy"]!, "base64").toString("utf8")) as { conditions: unknown[] };
    assert.deepEqual(policy.conditions.slice(0, 4), [{ bucket: api.aws.config.BUCKET }, ["content-length-range", 5, 5], { key: form.fields["key"] }, { "Content-Type": "image/jpeg" }]);

    const body = new FormData();
    for (const [name, value] of Object.entries(form.fields)) body.append(name, value);
    body.append("file", new Blob([Buffer.from("12345")]));
    assert.equal((await fetch(form.url, { method: "POST", body })).status, 204);
    const missing = await api.call("GET", `/api/jobs/${jobId}/files?missing=1`);
    assert.deepEqual((missing.json.files as { name: string }[]).map((file) => file.name), ["cards.zip"], "the form's file is in storage");

    const added = await api.call("POST", `/api/jobs/${jobId}/files`, { files: [{ name: "cam2/IMG_2.JPG", size: 3 }], singleUpload: "POST" });
    assert.equal(added.json.uploads[0]?.method, "POST");
    const signed = await api.call("POST", `/api/jobs/${jobId}/uploads/sign`, { names: ["cam2/IMG_2.JPG"], singleUpload: "POST" });
    assert.equal(signed.json.uploads[0]?.method, "POST");
    const put = await api.call("POST", `/api/jobs/${jobId}/uploads/sign`, { names: ["cam2/IMG_2.JPG"] });
    assert.equal(put.json.uploads[0]?.method, "PUT", "PUT unless asked");
    await expect400({ ...ok, singleUpload: "GET" }, "invalid_request", /singleUpload: "PUT" \(a presigned URL\) or "POST"/);
  });

  test("a very large file gets bigger parts (at most 10,000) and its first part URLs; the rest are signed on request", async () => {
    const size = 100 * GiB;
    const response = await api.call("POST", "/api/jobs", { email: "ranger@example.org", files: [{ name: "season.zip", size }] });
    assert.equal(response.status, 201);
    const { multipart } = response.json.uploads[0]!;
    assert.ok(multipart.partSize > 5 * MiB && multipart.partSize % MiB === 0, String(multipart.partSize));
    assert.ok(multipart.partCount <= 10_000 && multipart.partCount * multipart.partSize >= size);
    assert.equal(multipart.parts.length, 100);
    const last = multipart.partCount;
    const more = await api.call("POST", `/api/jobs/${response.json.jobId}/uploads/${encodeURIComponent(multipart.uploadId)}/sign`, { partNumbers: [101, last] });
    assert.equal(more.status, 200, JSON.stringify(more.json));
    assert.deepEqual(more.json.parts.map((part) => part.partNumber), [101, last]);
    assert.match(more.json.parts[1]!.url, new RegExp(`partNumber=${last}`));
  });

  test("the response is the documented shape", async () => {
    const response = await api.call("POST", "/api/jobs", { ...ok, options: { renderThreshold: 0.4 } });
    assert.equal(response.status, 201);
    assert.deepEqual(Object.keys(response.json).sort(), ["expiresAt", "jobId", "limits", "uploads"]);
    assert.deepEqual(Object.keys(response.json.uploads[0]!).sort(), ["headers", "method", "name", "url"]);
    assert.deepEqual((await api.store.get(response.json.jobId))?.options, { renderThreshold: 0.4 });
  });

  test("options.images is one of detections, all or none, kept on the job for the worker", async () => {
    for (const images of ["detections", "all", "none"]) {
      const response = await api.call("POST", "/api/jobs", { ...ok, options: { images } });
      assert.equal(response.status, 201, JSON.stringify(response.json));
      assert.deepEqual((await api.store.get(response.json.jobId))?.options, { images });
    }
    for (const images of ["some", "ALL", true, 1, null]) {
      await expect400({ ...ok, options: { images } }, "invalid_options", /^options\.images: choose one of "detections", "all", "none"/);
    }
  });

  test("options.blurPeople and options.dropGps are true or false, kept on the job for the worker; off when absent", async () => {
    for (const options of [{ blurPeople: true, dropGps: true }, { blurPeople: true }, { dropGps: true }, { blurPeople: false, dropGps: false }]) {
      const response = await api.call("POST", "/api/jobs", { ...ok, options });
      assert.equal(response.status, 201, JSON.stringify(response.json));
      assert.deepEqual((await api.store.get(response.json.jobId))?.options, options);
    }
    const plain = await api.call("POST", "/api/jobs", ok);
    assert.deepEqual((await api.store.get(plain.json.jobId))?.options, {}, "neither unless asked");
    for (const value of ["yes", "true", 1, null, [true]]) {
      await expect400({ ...ok, options: { blurPeople: value } }, "invalid_options", /^options\.blurPeople: true or false/);
      await expect400({ ...ok, options: { dropGps: value } }, "invalid_options", /^options\.dropGps: true or false/);
    }
  });
});

describe("rate limits", () => {
  let api: ApiHarness;
  before(async () => {
    // Loopback is one address, so the test names each client in a header instead.
    api = await startApiHarness({ RATE_LIMIT_PER_HOUR: "2" }, { clientIp: (c) => c.req.header("x-test-client") });
  });
  after(async () => api.stop());

  const create = (email: string, client: string) => api.call("POST", "/api/jobs", { email, files: [{ name: "a.jpg", size: 1 }] }, { "x-test-client": client });

  test("per email, whatever the client", async () => {
    assert.equal((await create("a@example.org", "198.51.100.1")).status, 201);
    assert.equal((await create("A@example.org", "198.51.100.2")).status, 201);
    const refused = await create("a@example.org", "198.51.100.3");
    assert.equal(refused.status, 429);
    assert.equal(refused.json.error.code, "rate_limited");
    assert.match(refused.json.error.message, /at most 2/);
    const retryAfter = Number(refused.headers.get("retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 3600, String(retryAfter));
  });

  test("per client IP, whatever the email", async () => {
    assert.equal((await create("b1@example.org", "203.0.113.7")).status, 201);
    assert.equal((await create("b2@example.org", "203.0.113.7")).status, 201);
    assert.equal((await create("b3@example.org", "203.0.113.7")).status, 429);
    assert.equal((await create("b4@example.org", "203.0.113.8")).status, 201);
  });

  test("bad bodies are refused before they count", async () => {
    for (let i = 0; i < 3; i++) assert.equal((await api.call("POST", "/api/jobs", { email: "c@example.org", files: [{ name: "a.jpg", size: -1 }] }, { "x-test-client": "192.0.2.1" })).status, 400);
    assert.equal((await create("c@example.org", "192.0.2.1")).status, 201);
  });
});
