// Maker notes built byte by byte from the published layouts (ExifTool's "Reconyx Tags",
// "Reconyx Type2 Tags" and "Reconyx Type3 Tags" tables), so the readers are checked against
// the specification rather than against themselves.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ascii, jpegWithExif, undefinedBytes } from "../../../../test/helpers/exifImages.ts";
import { readImageMetadata } from "../exif.ts";
import { readCameraTrapMakerNote } from "./index.ts";

/** A little-endian byte block written field by field at the documented offsets. */
class NoteBuilder {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(offset: number, ...values: number[]): this {
    values.forEach((v, i) => this.view.setUint8(offset + i, v));
    return this;
  }
  u16(offset: number, ...values: number[]): this {
    values.forEach((v, i) => this.view.setUint16(offset + 2 * i, v, true));
    return this;
  }
  i16(offset: number, value: number): this {
    this.view.setInt16(offset, value, true);
    return this;
  }
  u32(offset: number, value: number): this {
    this.view.setUint32(offset, value, true);
    return this;
  }
  text(offset: number, value: string): this {
    this.bytes.set(Buffer.from(value, "latin1"), offset);
    return this;
  }
  ucs2(offset: number, value: string): this {
    this.bytes.set(Buffer.from(value, "utf16le"), offset);
    return this;
  }
}

/** HyperFire: word indexes from the table, so byte offset = 2 × index. */
function hyperFireNote(): Uint8Array {
  const w = (index: number) => index * 2;
  return new NoteBuilder(0x80)
    .u16(w(0), 0xf101) // MakerNoteVersion
    .u16(w(1), 3, 1, 0) // FirmwareVersion 3.1.0
    .text(w(6), "M") // TriggerMode
    .u16(w(7), 2, 3) // Sequence 2 of 3
    .u16(w(9), 1, 2) // EventNumber: high word 1, low word 2
    .u16(w(11), 58, 59, 23, 11, 5, 2021) // second, minute, hour, month, day, year
    .u16(w(18), 4) // MoonPhase: Full
    .i16(w(19), 14) // °F
    .i16(w(20), -10) // °C, below zero
    .ucs2(w(21), "H600XY01234567") // SerialNumber, UCS-2
    .u16(w(42), 6123) // BatteryVoltage, mV
    .text(w(43), "NORTH RIDGE").bytes; // UserLabel
}

test("Reconyx HyperFire: every camera-trap field at its documented word", () => {
  const info = readCameraTrapMakerNote(hyperFireNote());
  assert.deepEqual(info, {
    format: "Reconyx HyperFire",
    captureTime: { text: "2021:11:05 23:59:58", wallClock: new Date(Date.UTC(2021, 10, 5, 23, 59, 58)) },
    triggerMode: "Motion Detection",
    sequence: { index: 2, count: 3 },
    eventNumber: 65538,
    moonPhase: "Full",
    temperatureC: -10,
    serialNumber: "H600XY01234567",
    batteryVolts: 6.123,
    userLabel: "NORTH RIDGE",
  });
});

test("Reconyx HyperFire: the version word alone needs the camera's Make to count", () => {
  const note = hyperFireNote();
  new DataView(note.buffer).setUint16(2, 7, true); // firmware major 7: not a HyperFire signature
  assert.equal(readCameraTrapMakerNote(note), undefined);
  assert.equal(readCameraTrapMakerNote(note, "RECONYX")?.format, "Reconyx HyperFire");
  assert.equal(readCameraTrapMakerNote(new Uint8Array([0x4e, 0x69, 0x6b, 0x6f, 0x6e, 0])), undefined, "a Nikon note is not ours");
});

test("Reconyx HyperFire: date words written big-endian are still read", () => {
  const note = hyperFireNote();
  const view = new DataView(note.buffer);
  [58, 59, 23, 11, 5, 2021].forEach((v, i) => view.setUint16(22 + 2 * i, v, false));
  assert.equal(readCameraTrapMakerNote(note)?.captureTime?.text, "2021:11:05 23:59:58");
});

test("a truncated maker note gives the fields that fit and never throws", () => {
  const info = readCameraTrapMakerNote(hyperFireNote().subarray(0, 30));
  assert.equal(info?.triggerMode, "Motion Detection");
  assert.deepEqual(info?.sequence, { index: 2, count: 3 });
  assert.equal(info?.captureTime, undefined, "the date (bytes 22-33) runs past the end");
  assert.equal(info?.serialNumber, undefined);
});

test("Reconyx UltraFire: byte offsets from the Type2 table", () => {
  const note = new NoteBuilder(0x70)
    .text(0, "RECONYXUF\0")
    .text(0x34, "T") // TriggerMode
    .u8(0x35, 0, 0) // Sequence 0 of 0 (time lapse)
    .u32(0x37, 123456) // EventNumber
    .u8(0x3b, 5, 4, 3, 28, 2, 2024 & 0xff, 2024 >> 8) // second, minute, hour, day, month, year low, year high
    .u8(0x43, 2) // MoonPhase: First Quarter
    .i16(0x44, 77)
    .i16(0x46, 25)
    .u16(0x49, 12050) // mV
    .text(0x4b, "UF12345678901") // SerialNumber, ASCII
    .text(0x5a, "WATERHOLE 3").bytes; // UserLabel
  assert.deepEqual(readCameraTrapMakerNote(note), {
    format: "Reconyx UltraFire",
    captureTime: { text: "2024:02:28 03:04:05", wallClock: new Date(Date.UTC(2024, 1, 28, 3, 4, 5)) },
    triggerMode: "Time Lapse",
    sequence: { index: 0, count: 0 },
    eventNumber: 123456,
    moonPhase: "First Quarter",
    temperatureC: 25,
    batteryVolts: 12.05,
    serialNumber: "UF12345678901",
    userLabel: "WATERHOLE 3",
  });
});

test("Reconyx HyperFire 2: byte offsets from the Type3 table", () => {
  const note = new NoteBuilder(0x9e)
    .text(0, "RECONYXH2\0")
    .text(0x34, "M")
    .u16(0x36, 1, 5) // Sequence 1 of 5
    .u16(0x3a, 0, 42) // EventNumber
    .u16(0x3e, 1, 2, 4, 31, 12, 2019) // second, minute, hour, day, month, year
    .u16(0x4c, 7) // MoonPhase: Old Crescent
    .i16(0x4e, 23)
    .i16(0x50, -5)
    .u16(0x62, 4800) // mV
    .text(0x68, "SITE B")
    .ucs2(0x7e, "HF2X0001122334").bytes;
  assert.deepEqual(readCameraTrapMakerNote(note), {
    format: "Reconyx HyperFire 2",
    captureTime: { text: "2019:12:31 04:02:01", wallClock: new Date(Date.UTC(2019, 11, 31, 4, 2, 1)) },
    triggerMode: "Motion Detection",
    sequence: { index: 1, count: 5 },
    eventNumber: 42,
    moonPhase: "Old Crescent",
    temperatureC: -5,
    batteryVolts: 4.8,
    userLabel: "SITE B",
    serialNumber: "HF2X0001122334",
  });
});

test("in a JPEG: the maker note supplies the capture time and serial that standard EXIF lacks", async () => {
  const jpeg = await jpegWithExif({ exif: { 0x927c: undefinedBytes(hyperFireNote()) } });
  const metadata = await readImageMetadata(jpeg);
  assert.equal(metadata.error, undefined);
  assert.equal(metadata.cameraTrap?.format, "Reconyx HyperFire");
  assert.equal(metadata.cameraTrap?.eventNumber, 65538);
  assert.equal(metadata.dateTimeOriginal?.text, "2021:11:05 23:59:58");
  assert.equal(metadata.serialNumber, "H600XY01234567");
});

test("in a JPEG: standard EXIF's DateTimeOriginal and serial win over the maker note's", async () => {
  const jpeg = await jpegWithExif({
    exif: { 0x9003: ascii("2022:01:02 03:04:05"), 0xa431: ascii("BODY-1"), 0x927c: undefinedBytes(hyperFireNote()) },
  });
  const metadata = await readImageMetadata(jpeg);
  assert.equal(metadata.dateTimeOriginal?.text, "2022:01:02 03:04:05");
  assert.equal(metadata.serialNumber, "BODY-1");
  assert.equal(metadata.cameraTrap?.captureTime?.text, "2021:11:05 23:59:58");
});
