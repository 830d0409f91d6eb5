// Reconyx HyperFire maker note (HC500, HC600, PC800, PC900...): one fixed block of
// little-endian 16-bit words. Layout from ExifTool's documentation of "Reconyx Tags"
// (Image::ExifTool::TagNames; word indexes, after Reconyx's RCNX_MN10.pdf):
//   word 0  MakerNoteVersion 0xF101        word 1-3  firmware version (major first)
//   word 6  TriggerMode, 2 chars           word 7-8  Sequence: index, count
//   word 9-10  EventNumber, high word first
//   word 11-16 DateTimeOriginal: second, minute, hour, month, day, year
//   word 18 MoonPhase   word 19 temperature °F (signed)   word 20 temperature °C (signed)
//   word 21-35 SerialNumber, UCS-2 (30 bytes)   word 42 BatteryVoltage in mV
//   word 43-53 UserLabel, ASCII (22 bytes)

import type { CameraTrapInfo } from "../../types.ts";
import { cameraDateTime, FixedLayout, plausibleCelsius, sequenceOf, volts } from "./fixedLayout.ts";
import { moonPhaseName, triggerModeName } from "./reconyxCodes.ts";

export const HYPERFIRE_FORMAT = "Reconyx HyperFire";

/** MakerNoteVersion 0xF101, as its two little-endian bytes. */
const VERSION_BYTES = [0x01, 0xf1];

/** Byte offsets (word index × 2). */
const AT = {
  firmwareMajor: 2,
  triggerMode: 12,
  sequence: 14,
  eventNumber: 18,
  dateTime: 22,
  moonPhase: 36,
  temperatureC: 40,
  serialNumber: 42,
  batteryMillivolts: 84,
  userLabel: 86,
} as const;

/**
 * The version word alone is two bytes that other data can start with, so it counts only with
 * a HyperFire firmware major version (2 or 3) after it, or when the camera's Make says RECONYX.
 */
export function isReconyxHyperFire(bytes: Uint8Array, make: string | undefined): boolean {
  const layout = new FixedLayout(bytes);
  if (layout.uint8(0) !== VERSION_BYTES[0] || layout.uint8(1) !== VERSION_BYTES[1]) return false;
  const major = layout.uint16(AT.firmwareMajor);
  return major === 2 || major === 3 || make?.toUpperCase() === "RECONYX";
}

export function readReconyxHyperFire(bytes: Uint8Array): CameraTrapInfo {
  const layout = new FixedLayout(bytes);
  const info: CameraTrapInfo = { format: HYPERFIRE_FORMAT };
  const words = layout.uint16s(AT.dateTime, 6);
  if (words) {
    const [second, minute, hour, month, day, year] = wordsInOrder(words);
    const captureTime = cameraDateTime(year, month, day, hour, minute, second);
    if (captureTime) info.captureTime = captureTime;
  }
  assign(info, {
    triggerMode: triggerModeName(layout.latin1(AT.triggerMode, 2)),
    sequence: sequenceOf(layout.uint16(AT.sequence), layout.uint16(AT.sequence + 2)),
    eventNumber: eventNumber(layout.uint16(AT.eventNumber), layout.uint16(AT.eventNumber + 2)),
    moonPhase: moonPhaseName(layout.uint16(AT.moonPhase)),
    temperatureC: plausibleCelsius(layout.int16(AT.temperatureC)),
    serialNumber: layout.ucs2(AT.serialNumber, 30),
    batteryVolts: volts(layout.uint16(AT.batteryMillivolts)),
    userLabel: layout.latin1(AT.userLabel, 22),
  });
  return info;
}

/**
 * ExifTool's notes record HyperFire files whose date words are big-endian while the rest is
 * little-endian; a year that only makes sense byte-swapped is read swapped.
 */
function wordsInOrder(words: number[]): [number, number, number, number, number, number] {
  const swap = (word: number) => ((word & 0xff) << 8) | (word >> 8);
  const year = words[5]!;
  const swapped = !(year >= 1000 && year <= 9999) && swap(year) >= 1000 && swap(year) <= 9999;
  const ordered = swapped ? words.map(swap) : words;
  return ordered as [number, number, number, number, number, number];
}

function eventNumber(high: number | undefined, low: number | undefined): number | undefined {
  return high === undefined || low === undefined ? undefined : high * 0x10000 + low;
}

/** Copies the fields that were read; absent ones stay absent rather than undefined-valued. */
export function assign(info: CameraTrapInfo, fields: Omit<Partial<CameraTrapInfo>, "format">): void {
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) (info as unknown as Record<string, unknown>)[key] = value;
  }
}
