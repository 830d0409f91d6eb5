import { test } from "node:test";
import assert from "node:assert/strict";
import { emailProblem } from "./email.ts";

test("accepts ordinary addresses, trimmed", () => {
  for (const ok of ["ranger@fieldstation.org", " a.b+trap@uni.ac.uk ", "x@xn--bcher-kva.example"]) assert.equal(emailProblem(ok), null, ok);
});

test("says what is wrong with the usual slips", () => {
  assert.match(emailProblem("")!, /Enter your email/);
  assert.match(emailProblem("ranger fieldstation.org")!, /spaces/);
  assert.match(emailProblem("ranger.fieldstation.org")!, /needs an @/);
  assert.match(emailProblem("a@b@c.org")!, /only one @/);
  assert.match(emailProblem("@fieldstation.org")!, /before the @/);
  assert.match(emailProblem("ranger@")!, /domain after the @/);
  assert.match(emailProblem("ranger@field")!, /not a complete domain/);
  assert.match(emailProblem("ranger@field.")!, /not a complete domain/);
  assert.match(emailProblem("ranger@field.o")!, /does not end like a domain/);
});
