// Reconyx HyperFire 2 maker note (HF2 PRO, HF2X...): starts "RECONYXH2\0", then fields at fixed
// little-endian byte offsets. Layout from ExifTool's documentation of "Reconyx Type3 Tags"
// (Image::ExifTool::TagNames, byte indexes):
//   0x34 TriggerMode, 2 chars             0x36 Sequence: index, count (16-bit each)
//   0x3a EventNumber, two 16-bit words, high first
//   0x3e DateTimeOriginal, six 16-bit words: second, minute, hour, day, month, year
//   0x4c MoonPhase (16-bit)   0x4e temperature °F   0x50 temperature °C (signed 16-bit)
//   0x62 BatteryVoltage (16-bit, mV)   0x68 UserLabel, ASCII (22 bytes)
//   0x7e SerialNumber, UCS-2 (15 characters)

import type { CameraTrapInfo } from "../../types.ts";
import { cameraDateTime, FixedLayout, plausibleCelsius, sequenceOf, volts } from "./fixedLayout.ts";
import { assign } from "./reconyxHyperFire.ts";
import { moonPhaseName, triggerModeName } from "./reconyxCodes.ts";

export const HYPERFIRE2_FORMAT = "Reconyx HyperFire 2";
export const HYPERFIRE2_SIGNATURE = "RECONYXH2\0";

const AT = {
  triggerMode: 0x34,
  sequence: 0x36,
  eventNumber: 0x3a,
  dateTime: 0x3e,
  moonPhase: 0x4c,
  temperatureC: 0x50,
  batteryMillivolts: 0x62,
  userLabel: 0x68,
  serialNumber: 0x7e,
} as const;

export function isReconyxHyperFire2(bytes: Uint8Array): boolean {
  return new FixedLayout(bytes).startsWith(HYPERFIRE2_SIGNATURE);
}

export function readReconyxHyperFire2(bytes: Uint8Array): CameraTrapInfo {
  const layout = new FixedLayout(bytes);
  const info: CameraTrapInfo = { format: HYPERFIRE2_FORMAT };
  const words = layout.uint16s(AT.dateTime, 6);
  if (words) {
    const [second, minute, hour, day, month, year] = words as [number, number, number, number, number, number];
    const captureTime = cameraDateTime(year, month, day, hour, minute, second);
    if (captureTime) info.captureTime = captureTime;
  }
  const high = layout.uint16(AT.eventNumber);
  const low = layout.uint16(AT.eventNumber + 2);
  assign(info, {
    triggerMode: triggerModeName(layout.latin1(AT.triggerMode, 2)),
    sequence: sequenceOf(layout.uint16(AT.sequence), layout.uint16(AT.sequence + 2)),
    eventNumber: high === undefined || low === undefined ? undefined : high * 0x10000 + low,
    moonPhase: moonPhaseName(layout.uint16(AT.moonPhase)),
    temperatureC: plausibleCelsius(layout.int16(AT.temperatureC)),
    batteryVolts: volts(layout.uint16(AT.batteryMillivolts)),
    userLabel: layout.latin1(AT.userLabel, 22),
    serialNumber: layout.ucs2(AT.serialNumber, 30),
  });
  return info;
}
