// Reconyx UltraFire maker note: starts "RECONYXUF\0", then fields at fixed little-endian byte
// offsets. Layout from ExifTool's documentation of "Reconyx Type2 Tags"
// (Image::ExifTool::TagNames, byte indexes, after Reconyx's ultrafire_makernote.pdf):
//   0x34 TriggerMode, 1 char              0x35 Sequence: index, count (one byte each)
//   0x37 EventNumber (32-bit)
//   0x3b DateTimeOriginal, 7 bytes: second, minute, hour, day, month, year (16-bit, low byte first)
//   0x43 MoonPhase (byte)   0x44 temperature °F   0x46 temperature °C (signed 16-bit)
//   0x49 BatteryVoltage (16-bit, mV)   0x4b SerialNumber, ASCII (15 bytes)
//   0x5a UserLabel, ASCII (21 bytes)

import type { CameraTrapInfo } from "../../types.ts";
import { cameraDateTime, FixedLayout, plausibleCelsius, sequenceOf, volts } from "./fixedLayout.ts";
import { assign } from "./reconyxHyperFire.ts";
import { moonPhaseName, triggerModeName } from "./reconyxCodes.ts";

export const ULTRAFIRE_FORMAT = "Reconyx UltraFire";
export const ULTRAFIRE_SIGNATURE = "RECONYXUF\0";

const AT = {
  triggerMode: 0x34,
  sequence: 0x35,
  eventNumber: 0x37,
  dateTime: 0x3b,
  moonPhase: 0x43,
  temperatureC: 0x46,
  batteryMillivolts: 0x49,
  serialNumber: 0x4b,
  userLabel: 0x5a,
} as const;

export function isReconyxUltraFire(bytes: Uint8Array): boolean {
  return new FixedLayout(bytes).startsWith(ULTRAFIRE_SIGNATURE);
}

export function readReconyxUltraFire(bytes: Uint8Array): CameraTrapInfo {
  const layout = new FixedLayout(bytes);
  const info: CameraTrapInfo = { format: ULTRAFIRE_FORMAT };
  const fields = layout.uint8s(AT.dateTime, 7);
  if (fields) {
    const [second, minute, hour, day, month, yearLow, yearHigh] = fields as [number, number, number, number, number, number, number];
    const captureTime = cameraDateTime(yearHigh * 256 + yearLow, month, day, hour, minute, second);
    if (captureTime) info.captureTime = captureTime;
  }
  assign(info, {
    triggerMode: triggerModeName(layout.latin1(AT.triggerMode, 1)),
    sequence: sequenceOf(layout.uint8(AT.sequence), layout.uint8(AT.sequence + 1)),
    eventNumber: layout.uint32(AT.eventNumber),
    moonPhase: moonPhaseName(layout.uint8(AT.moonPhase)),
    temperatureC: plausibleCelsius(layout.int16(AT.temperatureC)),
    batteryVolts: volts(layout.uint16(AT.batteryMillivolts)),
    serialNumber: layout.latin1(AT.serialNumber, 15),
    userLabel: layout.latin1(AT.userLabel, 21),
  });
  return info;
}
