// The one rule for email addresses. The page checks it while typing (web/src/uploadPage.ts, the
// page bundles this file) and the API checks it again (functions/validation.ts), so an address
// the page accepts is never refused by the server, and both say what is wrong the same way.
// Pure code with no Node or DOM APIs: it runs in both places.
//
// The rule is RFC 5321/5322's dot-atom form, the one mail providers hand out, with Unicode
// letters allowed (RFC 6531/6532); quoted local parts ("john doe"@…) and IP-literal domains are
// refused, because nobody types those into a web form.

/** RFC 5321 4.5.3.1.3: a path is at most 256 octets, two of them the angle brackets. */
export const MAX_EMAIL_LENGTH = 254;
/** RFC 5321 4.5.3.1.1. */
const MAX_LOCAL_LENGTH = 64;
/** RFC 1035 2.3.4. */
const MAX_LABEL_LENGTH = 63;

/** A character that may not appear before the @ (RFC 5322 atext plus the dot, and letters of any script). */
const NOT_LOCAL_CHARACTER = /[^\p{L}\p{M}\p{N}!#$%&'*+\-/=?^_`{|}~.]/u;
/** A character that may not appear in a domain: letters and digits of any script, hyphens, dots. */
const NOT_DOMAIN_CHARACTER = /[^\p{L}\p{M}\p{N}.-]/u;

/** What is wrong with the address in plain words (a sentence), or null when it is fine. Surrounding spaces are ignored. */
export function emailProblem(raw: string): string | null {
  const value = raw.trim();
  if (value === "") return "Enter your email address.";
  if (/\s/.test(value)) return "An email address cannot contain spaces.";
  const at = value.lastIndexOf("@");
  if (at === -1) return "An email address needs an @, as in name@example.org.";
  if (value.indexOf("@") !== at) return "An email address has only one @.";
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local === "") return "Add the part before the @.";
  if (domain === "") return "Add the domain after the @, as in name@example.org.";
  if (value.length > MAX_EMAIL_LENGTH) return `That email address is too long (at most ${MAX_EMAIL_LENGTH} characters).`;
  if (local.length > MAX_LOCAL_LENGTH) return `The part before the @ is too long (at most ${MAX_LOCAL_LENGTH} characters).`;
  if (local.startsWith(".") || local.endsWith(".")) return `The part before the @ cannot start or end with a dot (“${local}”).`;
  if (local.includes("..")) return `The part before the @ cannot have two dots in a row (“${local}”).`;
  const badLocal = NOT_LOCAL_CHARACTER.exec(local)?.[0];
  if (badLocal) return `“${badLocal}” cannot be used before the @.`;
  const badDomain = NOT_DOMAIN_CHARACTER.exec(domain)?.[0];
  if (badDomain) return `“${badDomain}” cannot be used in the domain after the @.`;
  if (!domain.includes(".") || domain.startsWith(".") || domain.endsWith(".") || domain.includes(".."))
    return `“${domain}” is not a complete domain; it looks like example.org.`;
  const labels = domain.split(".");
  if (labels.some((label) => label.startsWith("-") || label.endsWith("-"))) return `“${domain}” is not a domain: no part of it starts or ends with a hyphen.`;
  if (labels.some((label) => label.length > MAX_LABEL_LENGTH)) return `“${domain}” is not a domain: each part between dots is at most ${MAX_LABEL_LENGTH} characters.`;
  const topLevel = labels[labels.length - 1]!;
  if (!/^\p{L}{2,}$/u.test(topLevel) && !/^xn--[a-z0-9-]+$/i.test(topLevel)) return `“${domain}” does not end like a domain (.org, .com, .ac.uk…).`;
  return null;
}
