// When a presigned S3 link stops working: from the API's field if given, else from the
// link's own X-Amz-Date + X-Amz-Expires (SigV4 query signing).

export function linkExpiresAt(url: string, apiExpiresAt?: string): Date | null {
  if (apiExpiresAt) {
    const given = new Date(apiExpiresAt);
    if (!Number.isNaN(given.getTime())) return given;
  }
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    return null;
  }
  const signedAt = params.get("X-Amz-Date");
  const lifetime = Number(params.get("X-Amz-Expires"));
  const match = signedAt?.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/);
  if (!match || !Number.isFinite(lifetime)) return null;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s) + lifetime * 1000);
}
