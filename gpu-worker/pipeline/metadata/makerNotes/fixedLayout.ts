// Reading a fixed-layout maker note: every field sits at a known byte offset, so a reader only
// needs bounds-checked little-endian numbers and strings. A field that falls past the end of
// a short (truncated) maker note reads as undefined instead of throwing.

import type { CameraDateTime } from "../../types.ts";
import { wallClockDate } from "../wallClock.ts";

export class FixedLayout {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length;
  }

  private fits(offset: number, size: number): boolean {
    return offset >= 0 && offset + size <= this.bytes.length;
  }

  uint8(offset: number): number | undefined {
    return this.fits(offset, 1) ? this.view.getUint8(offset) : undefined;
  }

  uint16(offset: number): number | undefined {
    return this.fits(offset, 2) ? this.view.getUint16(offset, true) : undefined;
  }

  int16(offset: number): number | undefined {
    return this.fits(offset, 2) ? this.view.getInt16(offset, true) : undefined;
  }

  uint32(offset: number): number | undefined {
    return this.fits(offset, 4) ? this.view.getUint32(offset, true) : undefined;
  }

  /** `count` consecutive 16-bit words, or undefined when they do not all fit. */
  uint16s(offset: number, count: number): number[] | undefined {
    if (!this.fits(offset, count * 2)) return undefined;
    return Array.from({ length: count }, (_, i) => this.view.getUint16(offset + i * 2, true));
  }

  uint8s(offset: number, count: number): number[] | undefined {
    if (!this.fits(offset, count)) return undefined;
    return [...this.bytes.subarray(offset, offset + count)];
  }

  /** One-byte characters up to the first NUL, trimmed; empty means absent. */
  latin1(offset: number, size: number): string | undefined {
    if (!this.fits(offset, 1)) return undefined;
    const raw = this.bytes.subarray(offset, Math.min(offset + size, this.bytes.length));
    return cleaned(Buffer.from(raw).toString("latin1"));
  }

  /** UCS-2 little-endian characters up to the first NUL, trimmed; empty means absent. */
  ucs2(offset: number, size: number): string | undefined {
    if (!this.fits(offset, 2)) return undefined;
    const end = Math.min(offset + size, this.bytes.length);
    const raw = this.bytes.subarray(offset, end - ((end - offset) % 2));
    return cleaned(Buffer.from(raw).toString("utf16le"));
  }

  startsWith(signature: string): boolean {
    return this.latin1Exact(0, signature.length) === signature;
  }

  private latin1Exact(offset: number, size: number): string | undefined {
    return this.fits(offset, size) ? Buffer.from(this.bytes.subarray(offset, offset + size)).toString("latin1") : undefined;
  }
}

function cleaned(text: string): string | undefined {
  const value = text.split("\0", 1)[0]!.trim();
  return value === "" ? undefined : value;
}

/**
 * A wall-clock time from separate fields, as CameraDateTime (text in EXIF's
 * "YYYY:MM:DD HH:MM:SS" form). Undefined for an impossible date or a clock never set (all zero).
 */
export function cameraDateTime(year: number, month: number, day: number, hour: number, minute: number, second: number): CameraDateTime | undefined {
  const wallClock = wallClockDate(year, month, day, hour, minute, second);
  if (!wallClock) return undefined;
  const two = (n: number) => String(n).padStart(2, "0");
  return { text: `${year}:${two(month)}:${two(day)} ${two(hour)}:${two(minute)}:${two(second)}`, wallClock };
}

/** Temperatures outside what any camera survives are a misread, not weather. */
export function plausibleCelsius(value: number | undefined): number | undefined {
  return value !== undefined && value >= -60 && value <= 80 ? value : undefined;
}

/** Millivolts to volts; 0 means the camera did not measure. */
export function volts(millivolts: number | undefined): number | undefined {
  return millivolts === undefined || millivolts === 0 ? undefined : millivolts / 1000;
}

/** A burst position, when the camera wrote one that makes sense (index never past count). */
export function sequenceOf(index: number | undefined, count: number | undefined): { index: number; count: number } | undefined {
  if (index === undefined || count === undefined || index > count) return undefined;
  return { index, count };
}
