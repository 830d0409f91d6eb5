import { test } from "node:test";
import assert from "node:assert/strict";
import { emailProblem } from "./email.ts";

test("accepts ordinary addresses, trimmed", () => {
  for (const ok of [
    "ranger@fieldstation.org",
    " a.b+trap@uni.ac.uk ",
    "x@xn--bcher-kva.example",
    "o'neil_ranger-2@field-station.co.za",
    "jörg@bücher.de",
  ]) {
    assert.equal(emailProblem(ok), null, ok);
  }
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

test("the dots and characters mail servers refuse before the @", () => {
  assert.equal(emailProblem("ranger.@example.org"), "The part before the @ cannot start or end with a dot (“ranger.”).");
  assert.match(emailProblem(".ranger@example.org")!, /cannot start or end with a dot/);
  assert.match(emailProblem("ran..ger@example.org")!, /two dots in a row/);
  assert.equal(emailProblem("ran(ger)@example.org"), "“(” cannot be used before the @.");
  assert.equal(emailProblem("ranger@exa_mple.org"), "“_” cannot be used in the domain after the @.");
  assert.match(emailProblem("ranger@-example.org")!, /hyphen/);
  assert.match(emailProblem(`${"r".repeat(65)}@example.org`)!, /before the @ is too long/);
  assert.match(emailProblem(`r@${"a".repeat(64)}.org`)!, /at most 63 characters/);
  assert.match(emailProblem(`r@${"a.".repeat(130)}org`)!, /too long \(at most 254/);
});

test("every problem is a sentence a person can act on", () => {
  for (const bad of ["", "a b@c.org", "abc", "a@b@c.org", "@c.org", "a@", "a@b", "a.@b.org", "a@b_c.org", "a@b.c"]) {
    const problem = emailProblem(bad)!;
    assert.match(problem, /^[“A-Z].*\.$/, `${bad}: ${problem}`);
  }
});
