// Request validation through a real Hono app: the email rule is core/email.ts's, the same one
// the page applies while typing, and its message reaches the client as written.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Hono } from "hono";
import { emailProblem } from "../core/email.ts";
import { handleError } from "./errors.ts";
import { CreateJobBody, parseBody } from "./validation.ts";

const app = new Hono()
  .post("/", async (c) => c.json(await parseBody(c, CreateJobBody)))
  .onError((error, c) => handleError(error, c, () => {}));

async function post(body: unknown): Promise<{ status: number; json: { email?: string; error?: { code: string; message: string } } }> {
  const response = await app.request("/", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as never };
}

const files = [{ name: "a.jpg", size: 10 }];

test("an address the page refuses is refused with the page's own words, no field prefix", async () => {
  for (const email of ["ranger.@example.org", "ran..ger@example.org", "ranger@field", "ranger@", "a b@example.org", ""]) {
    const { status, json } = await post({ email, files });
    assert.equal(status, 400, email);
    assert.equal(json.error?.code, "invalid_email");
    assert.equal(json.error?.message, emailProblem(email), email);
  }
});

test("a missing email says what to do", async () => {
  const { json } = await post({ files });
  assert.deepEqual(json.error, { code: "invalid_email", message: "Enter your email address." });
});

test("an address the page accepts is accepted, trimmed", async () => {
  for (const email of ["ranger@fieldstation.org", "o'neil+trap@uni.ac.uk", "jörg@bücher.de"]) {
    const { status, json } = await post({ email: ` ${email} `, files });
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.email, email);
  }
});

test("zod's own messages still name their field", async () => {
  const { json } = await post({ email: "ranger@example.org", files: [{ name: "a.jpg", size: -1 }] });
  assert.equal(json.error?.code, "invalid_file");
  assert.match(json.error?.message ?? "", /^files\.0\.size: /);
});

test("options.country is an ISO 3166-1 alpha-3 code (any case, kept upper-case); classificationThreshold a probability", async () => {
  const ok = await post({ email: "ranger@example.org", files, options: { country: " ken ", classificationThreshold: 0.2 } });
  assert.equal(ok.status, 200);
  assert.deepEqual((ok.json as { options?: unknown }).options, { country: "KEN", classificationThreshold: 0.2 });
  const unknown = await post({ email: "ranger@example.org", files, options: { country: "XYZ" } });
  assert.equal(unknown.status, 400);
  assert.match(unknown.json.error?.message ?? "", /options\.country: give an ISO 3166-1 alpha-3 country code/);
  const tooHigh = await post({ email: "ranger@example.org", files, options: { classificationThreshold: 2 } });
  assert.equal(tooHigh.status, 400);
});
