// Caps that keep one upload from exhausting memory or disk: zip bombs, huge files, huge zips.
// Overridable per call (tests use small ones); the defaults are generous for camera-trap photos.

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface InputLimits {
  /** Largest single image, on disk or unpacked from a zip (a camera-trap JPEG is 1–20 MiB). */
  maxImageBytes: number;
  /** Highest unpacked:packed ratio for a zip entry larger than ratioCheckAboveBytes (photos barely compress). */
  maxCompressionRatio: number;
  /** Entries below this size skip the ratio check: tiny files can compress very well and harm nothing. */
  ratioCheckAboveBytes: number;
  /**
   * Most bytes one zip may unpack to: the declared sizes, in archive order, of the entries whose
   * central directory record lets them through, whatever their content (zipEntries.ts says why).
   */
  maxZipUnpackedBytes: number;
  /**
   * Most bytes all the zips of one job (one collectInputs call) may unpack to together: many
   * zips each under maxZipUnpackedBytes must not add up to a bomb. The worker sets it to what
   * one job may upload (MAX_TOTAL_BYTES).
   */
  maxJobUnpackedBytes: number;
  /** Most entries one zip may hold (a full 512 GB SD card of photos is well under this). */
  maxZipEntries: number;
}

export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = {
  maxImageBytes: 200 * MiB,
  maxCompressionRatio: 200,
  ratioCheckAboveBytes: 1 * MiB,
  maxZipUnpackedBytes: 20 * GiB,
  maxJobUnpackedBytes: 100 * GiB,
  maxZipEntries: 200_000,
};

export function resolveInputLimits(overrides: Partial<InputLimits> = {}): InputLimits {
  return { ...DEFAULT_INPUT_LIMITS, ...overrides };
}

/** "1.5 GiB", "200 MiB", "12 KiB", "87 bytes": sizes as a person reads them. */
export function formatBytes(bytes: number): string {
  const units = [
    ["GiB", GiB],
    ["MiB", MiB],
    ["KiB", 1024],
  ] as const;
  for (const [unit, size] of units) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  }
  return bytes === 1 ? "1 byte" : `${bytes} bytes`;
}

/** What the zips of one job have unpacked so far, against maxJobUnpackedBytes. */
export class UnpackBudget {
  #used = 0;
  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Takes `bytes` from the budget; false (and nothing taken) when they do not fit. */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }
}
