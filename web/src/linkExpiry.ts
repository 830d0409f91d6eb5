// When a presigned S3 link stops working: from the API's field if given, else from the
// link's own X-Amz-Date + X-Amz-Expires (SigV4 query signing). And whether an upload link is
// still good to start a transfer with, by this browser's clock: laptops in the field run fast
// or slow, so the gap between this clock and the signer's is learnt from links as they arrive.

/** Re-sign an upload link with less than this left (half its life for short-lived ones) rather than let storage refuse it mid-file. */
export const RESIGN_MARGIN_MS = 5 * 60_000;

/** This browser's clock minus the signer's, from the newest link received. */
let clockOffsetMs = 0;

function amzDate(params: URLSearchParams): Date | null {
  const match = params.get("X-Amz-Date")?.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/);
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
  const signedAt = params ? amzDate(params) : null;
  const lifetime = Number(params?.get("X-Amz-Expires"));
  if (!signedAt || !Number.isFinite(lifetime)) return null;
  return new Date(signedAt.getTime() + lifetime * 1000);
}

/** A link just received: how far this browser's clock is from the signer's. */
export function learnClock(url: string, receivedAt = Date.now()): void {
  const params = paramsOf(url);
  const signedAt = params ? amzDate(params) : null;
  if (signedAt) clockOffsetMs = receivedAt - signedAt.getTime();
}

/** The link has more than RESIGN_MARGIN_MS left by this browser's clock (or says nothing of its expiry). */
export function linkStillGood(url: string, now = Date.now()): boolean {
  const params = paramsOf(url);
  const signedAt = params ? amzDate(params) : null;
  const expires = linkExpiresAt(url);
  if (!signedAt || !expires) return true;
  const lifetime = expires.getTime() - signedAt.getTime();
  return expires.getTime() + clockOffsetMs - now > Math.min(RESIGN_MARGIN_MS, lifetime / 2);
}
