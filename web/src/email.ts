// Email checks while typing: catch the slips people make (spaces, missing @ or domain) and
// leave the last word to the API, which validates again.

/** Returns what is wrong with the address in plain words, or null when it looks right. */
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
  if (!domain.includes(".") || domain.startsWith(".") || domain.endsWith(".") || domain.includes(".."))
    return `“${domain}” is not a complete domain; it looks like example.org.`;
  const topLevel = domain.slice(domain.lastIndexOf(".") + 1);
  if (!/^[a-z]{2,}$/i.test(topLevel) && !/^xn--[a-z0-9-]+$/i.test(topLevel))
    return `“${domain}” does not end like a domain (.org, .com, .ac.uk…).`;
  if (value.length > 254) return "That email address is too long.";
  return null;
}
