// When a presigned S3 link stops working: from the API's field if given, else from the
// link's own X-Amz-Date + X-Amz-Expires (SigV4 query signing), or for a form upload from its
// X-Amz-Date field and its policy's expiration. And whether an upload link is
// still good to start a transfer with, by this browser's clock: laptops in the field run fast
// or slow, so the gap between this clock and the signer's is learnt from links as they arrive.

/** Re-sign an upload link with less than this left (half its life for short-lived ones) rather than let storage refuse it mid-file. */
export const RESIGN_MARGIN_MS = 5 * 60_000;

/** This browser's clock minus the signer's, from the newest link received. */
let clockOffsetMs = 0;

/** When a link was signed and when it stops working, by the signer's clock. */
export interface LinkTimes {
  signedAt: Date;
  expiresAt: Date;
}

function amzDate(value: string | null | undefined): Date | null {
  const match = value?.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/);
  if (!match) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

function paramsOf(url: string): URLSearchParams | null {
  try {
    return new URL(url).searchParams;
  } catch {
    return null;
  }
}

export function linkExpiresAt(url: string, apiExpiresAt?: string): Date | null {
  if (apiExpiresAt) {
    const given = new Date(apiExpiresAt);
    if (!Number.isNaN(given.getTime())) return given;
  }
  const params = paramsOf(url);
  const signedAt = params ? amzDate(params.get("X-Amz-Date")) : null;
  const lifetime = Number(params?.get("X-Amz-Expires"));
  if (!signedAt || !Number.isFinite(lifetime)) return null;
  return new Date(signedAt.getTime() + lifetime * 1000);
}

/** A form upload's times: its X-Amz-Date field and its (base64 JSON) policy's expiration. */
export function formTimes(fields: Record<string, string>): LinkTimes | null {
  const signedAt = amzDate(fields["X-Amz-Date"]);
  let expiresAt: Date | null = null;
  try {
    const policy = JSON.parse(atob(fields["Policy"] ?? "")) as { expiration?: unknown };
    if (typeof policy.expiration === "string") expiresAt = new Date(policy.expiration);
  } catch {
    // Not a policy this page can read: treated as saying nothing of its expiry.
  }
  return signedAt && expiresAt && !Number.isNaN(expiresAt.getTime()) ? { signedAt, expiresAt } : null;
}

function timesOf(link: string | LinkTimes | null): LinkTimes | null {
  if (link === null || typeof link !== "string") return link;
  const params = paramsOf(link);
  const signedAt = params ? amzDate(params.get("X-Amz-Date")) : null;
  const expiresAt = linkExpiresAt(link);
  return signedAt && expiresAt ? { signedAt, expiresAt } : null;
}

/** A link (a URL, or a form's times) just received: how far this browser's clock is from the signer's. */
export function learnClock(link: string | LinkTimes | null, receivedAt = Date.now()): void {
  const times = timesOf(link);
  if (times) clockOffsetMs = receivedAt - times.signedAt.getTime();
}

/** The link has more than RESIGN_MARGIN_MS left by this browser's clock (or says nothing of its expiry). */
export function linkStillGood(link: string | LinkTimes | null, now = Date.now()): boolean {
  const times = timesOf(link);
  if (!times) return true;
  const lifetime = times.expiresAt.getTime() - times.signedAt.getTime();
  return times.expiresAt.getTime() + clockOffsetMs - now > Math.min(RESIGN_MARGIN_MS, lifetime / 2);
}
