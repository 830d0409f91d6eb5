import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import sharp from "sharp";
import { parseCameraDateTime, readImageMetadata } from "./exif.ts";
import { ascii, byte, jpegWithExif, rational, short, webpWithExifChunk } from "../../../test/helpers/exifImages.ts";
import { damagedIsoMediaFiles, damagedTiffFiles, heifWithExif } from "../../../test/helpers/isoMedia.ts";

// Tag codes (EXIF 2.32, tables 4, 7 and 14).
const ORIENTATION = 0x0112;
const DATE_TIME = 0x0132;
const DATE_TIME_ORIGINAL = 0x9003;
const GPS_LATITUDE_REF = 0x01;
const GPS_LATITUDE = 0x02;
const GPS_LONGITUDE_REF = 0x03;
const GPS_LONGITUDE = 0x04;
const GPS_ALTITUDE_REF = 0x05;
const GPS_ALTITUDE = 0x06;

const blank = { width: 64, height: 48, channels: 3, background: "#5a783c" } as const;

/** A JPEG whose EXIF sharp itself wrote, as a camera would: strings and GPS rationals. */
function cameraJpeg(): Promise<Buffer> {
  return sharp({ create: blank })
    .withExif({
      IFD0: { Make: "RECONYX  ", Model: " HC600 HYPERFIRE ", DateTime: "2013:06:14 07:01:02" },
      IFD2: {
        DateTimeOriginal: "2013:06:14 06:30:12",
        DateTimeDigitized: "2013:06:14 06:30:13",
        BodySerialNumber: "H600EE01234567",
      },
      IFD3: {
        GPSLatitudeRef: "S",
        GPSLatitude: "2/1 20/1 3000/100",
        GPSLongitudeRef: "W",
        GPSLongitude: "34/1 49/1 4500/100",
        GPSAltitude: "1520/1",
      },
    })
    .jpeg()
    .toBuffer();
}

async function inTimeZone<T>(zone: string, run: () => Promise<T>): Promise<T> {
  const previous = process.env.TZ;
  process.env.TZ = zone; // Node resets its zone cache when TZ is assigned at runtime.
  try {
    return await run();
  } finally {
    if (previous === undefined) delete process.env.TZ;
    else process.env.TZ = previous;
  }
}

test("dates are exactly what the camera wrote, whatever zone the server runs in", async () => {
  const jpeg = await cameraJpeg();
  for (const [zone, offsetMinutes] of [["America/Los_Angeles", 420], ["Asia/Tokyo", -540]] as const) {
    const metadata = await inTimeZone(zone, async () => {
      // 2013-06-14 is in daylight time in Los Angeles (UTC-7); Tokyo is UTC+9.
      assert.equal(new Date(Date.UTC(2013, 5, 14)).getTimezoneOffset(), offsetMinutes, `TZ=${zone} took effect`);
      return readImageMetadata(jpeg);
    });
    assert.equal(metadata.dateTimeOriginal?.text, "2013:06:14 06:30:12", zone);
    assert.equal(metadata.dateTimeOriginal?.wallClock.toISOString(), "2013-06-14T06:30:12.000Z", zone);
    assert.equal(metadata.dateTimeDigitized?.wallClock.toISOString(), "2013-06-14T06:30:13.000Z", zone);
    assert.equal(metadata.dateTime?.text, "2013:06:14 07:01:02", zone);
    assert.equal(metadata.dateTime?.wallClock.toISOString(), "2013-06-14T07:01:02.000Z", zone);
  }
});

test("reads make, model and serial number trimmed, and GPS with south and west negative", async () => {
  const metadata = await readImageMetadata(await cameraJpeg());
  assert.equal(metadata.make, "RECONYX");
  assert.equal(metadata.model, "HC600 HYPERFIRE");
  assert.equal(metadata.serialNumber, "H600EE01234567");
  assert.ok(Math.abs(metadata.latitude! - -(2 + 20 / 60 + 30 / 3600)) < 1e-9, `latitude ${metadata.latitude}`);
  assert.ok(Math.abs(metadata.longitude! - -(34 + 49 / 60 + 45 / 3600)) < 1e-9, `longitude ${metadata.longitude}`);
  assert.equal(metadata.altitude, 1520);
  assert.equal(metadata.width, 64);
  assert.equal(metadata.height, 48);
  assert.equal(metadata.error, undefined);
});

test("north and east stay positive, and a lowercase reference letter still counts", async () => {
  const jpeg = await jpegWithExif({
    gps: {
      [GPS_LATITUDE_REF]: ascii("N"),
      [GPS_LATITUDE]: rational([43, 1], [28, 1], [2814, 1000]),
      [GPS_LONGITUDE_REF]: ascii("e"),
      [GPS_LONGITUDE]: rational([11, 1], [53, 1], [6456, 1000]),
    },
  });
  const metadata = await readImageMetadata(jpeg);
  assert.ok(Math.abs(metadata.latitude! - (43 + 28 / 60 + 2.814 / 3600)) < 1e-9);
  assert.ok(Math.abs(metadata.longitude! - (11 + 53 / 60 + 6.456 / 3600)) < 1e-9);
  const southWest = await readImageMetadata(
    await jpegWithExif({
      gps: {
        [GPS_LATITUDE_REF]: ascii("s"),
        [GPS_LATITUDE]: rational([1, 1], [0, 1], [0, 1]),
        [GPS_LONGITUDE_REF]: ascii("w"),
        [GPS_LONGITUDE]: rational([2, 1], [30, 1], [0, 1]),
      },
    }),
  );
  assert.equal(southWest.latitude, -1);
  assert.equal(southWest.longitude, -2.5);
});

test("GPSAltitudeRef 1 means below sea level, in either byte order", async () => {
  for (const bigEndian of [false, true]) {
    const below = await readImageMetadata(
      await jpegWithExif({ bigEndian, gps: { [GPS_ALTITUDE_REF]: byte(1), [GPS_ALTITUDE]: rational([4235, 100]) } }),
    );
    assert.equal(below.altitude, -42.35, `bigEndian=${bigEndian}`);
    const above = await readImageMetadata(
      await jpegWithExif({ bigEndian, gps: { [GPS_ALTITUDE_REF]: byte(0), [GPS_ALTITUDE]: rational([4235, 100]) } }),
    );
    assert.equal(above.altitude, 42.35, `bigEndian=${bigEndian}`);
  }
});

test("GPS with a zero denominator or an impossible latitude is left out", async () => {
  const metadata = await readImageMetadata(
    await jpegWithExif({
      gps: {
        [GPS_LATITUDE_REF]: ascii("N"),
        [GPS_LATITUDE]: rational([95, 1], [0, 1], [0, 1]),
        [GPS_LONGITUDE_REF]: ascii("E"),
        [GPS_LONGITUDE]: rational([11, 0], [0, 1], [0, 1]),
      },
    }),
  );
  assert.equal(metadata.latitude, undefined);
  assert.equal(metadata.longitude, undefined);
});

test("orientations 5-8 swap width and height; 1-4 keep them", async () => {
  const turned = await readImageMetadata(await jpegWithExif({ ifd0: { [ORIENTATION]: short(6) } }, 64, 48));
  assert.deepEqual([turned.orientation, turned.width, turned.height], [6, 48, 64]);
  const flipped = await readImageMetadata(await jpegWithExif({ ifd0: { [ORIENTATION]: short(3) } }, 64, 48));
  assert.deepEqual([flipped.orientation, flipped.width, flipped.height], [3, 64, 48]);
  const bySharp = await readImageMetadata(await sharp({ create: blank }).withMetadata({ orientation: 8 }).jpeg().toBuffer());
  assert.deepEqual([bySharp.orientation, bySharp.width, bySharp.height], [8, 48, 64]);
});

test("date variants cameras write are read; blank dates are silently absent", async () => {
  const read = async (text: string) =>
    readImageMetadata(await jpegWithExif({ exif: { [DATE_TIME_ORIGINAL]: ascii(text) } }));

  const noSeconds = await read("2013-06-14 06:30");
  assert.equal(noSeconds.dateTimeOriginal?.text, "2013-06-14 06:30");
  assert.equal(noSeconds.dateTimeOriginal?.wallClock.toISOString(), "2013-06-14T06:30:00.000Z");
  const padded = await read("2013/06/14 06:30:12\0\0  ");
  assert.equal(padded.dateTimeOriginal?.text, "2013/06/14 06:30:12");
  assert.equal(padded.dateTimeOriginal?.wallClock.toISOString(), "2013-06-14T06:30:12.000Z");
  const subseconds = await read("2013:06:14 06:30:12.25");
  assert.equal(subseconds.dateTimeOriginal?.wallClock.toISOString(), "2013-06-14T06:30:12.250Z");

  for (const unknown of ["0000:00:00 00:00:00", "    :  :     :  :  "]) {
    const metadata = await read(unknown);
    assert.equal(metadata.dateTimeOriginal, undefined, JSON.stringify(unknown));
    assert.equal(metadata.error, undefined, JSON.stringify(unknown));
  }
});

test("an impossible date is left out with a readable note, and other tags still come through", async () => {
  const metadata = await readImageMetadata(
    await jpegWithExif({
      ifd0: { [DATE_TIME]: ascii("2013:06:14 07:00:00") },
      exif: { [DATE_TIME_ORIGINAL]: ascii("2013:13:01 10:00:00") },
    }),
  );
  assert.equal(metadata.dateTimeOriginal, undefined);
  assert.equal(metadata.dateTime?.text, "2013:06:14 07:00:00");
  assert.match(metadata.error ?? "", /DateTimeOriginal "2013:13:01 10:00:00" is not a valid date/);
});

test("parseCameraDateTime rejects dates that do not exist", () => {
  for (const text of ["2013:02:30 10:00:00", "2013:06:14 24:00:00", "2013:06:14 10:60:00", "0013:06:14 10:00:00", "yesterday"]) {
    assert.equal(parseCameraDateTime(text), undefined, text);
  }
  assert.deepEqual(parseCameraDateTime("2012:02:29 23:59:59"), {
    text: "2012:02:29 23:59:59",
    wallClock: new Date("2012-02-29T23:59:59.000Z"),
  });
});

test("a PNG without EXIF gives its size and no error", async () => {
  const png = await sharp({ create: { ...blank, width: 30, height: 20 } }).png().toBuffer();
  assert.deepEqual(await readImageMetadata(png), { width: 30, height: 20 });
});

test("a TIFF without EXIF gives its size and no error", async () => {
  const tiff = await sharp({ create: { ...blank, width: 30, height: 20 } }).tiff().toBuffer();
  const metadata = await readImageMetadata(tiff);
  assert.deepEqual([metadata.width, metadata.height, metadata.error], [30, 20, undefined]);
});

test("the EXIF of a PNG, WebP or AVIF is read too", async () => {
  for (const format of ["png", "webp", "avif"] as const) {
    const image = await sharp({ create: blank })
      .withExif({ IFD0: { Make: "Bushnell" }, IFD2: { DateTimeOriginal: "2021:11:02 23:05:59" } })
      .toFormat(format)
      .toBuffer();
    const metadata = await readImageMetadata(image);
    assert.equal(metadata.make, "Bushnell", format);
    assert.equal(metadata.dateTimeOriginal?.wallClock.toISOString(), "2021-11-02T23:05:59.000Z", format);
    assert.equal(metadata.width, 64, format);
    assert.equal(metadata.error, undefined, format);
  }
});

test("a WebP, GIF or AVIF without EXIF gives its size and no error", async () => {
  for (const format of ["webp", "gif", "avif"] as const) {
    const image = await sharp({ create: { ...blank, width: 30, height: 20 } }).toFormat(format).toBuffer();
    assert.deepEqual(await readImageMetadata(image), { width: 30, height: 20 }, format);
  }
});

test("random bytes and an empty file give an error instead of throwing", async () => {
  const random = await readImageMetadata(randomBytes(4096));
  assert.match(random.error ?? "", /not a readable image/i);
  assert.equal(random.width, undefined);
  const empty = await readImageMetadata(Buffer.alloc(0));
  assert.match(empty.error ?? "", /empty/);
  const almostJpeg = await readImageMetadata(Buffer.from([0xff, 0xd8, 0xff]));
  assert.equal(typeof almostJpeg.error, "string");
});

test("a JPEG cut short in its image data still gives its size and dates", async () => {
  const whole = await sharp({ create: { ...blank, width: 400, height: 300, noise: { type: "gaussian", mean: 128, sigma: 40 } } })
    .withExif({ IFD2: { DateTimeOriginal: "2019:04:01 05:06:07" } })
    .jpeg()
    .toBuffer();
  const truncated = whole.subarray(0, Math.floor(whole.length * 0.6));
  const metadata = await readImageMetadata(truncated);
  assert.equal(metadata.dateTimeOriginal?.text, "2019:04:01 05:06:07");
  assert.deepEqual([metadata.width, metadata.height], [400, 300]);
});

test("a JPEG cut short inside or just after its EXIF block does not throw and keeps what it can", async () => {
  const jpeg = await jpegWithExif({ ifd0: { [DATE_TIME]: ascii("2013:06:14 07:00:00") } });
  for (let length = 3; length < 120; length += 7) {
    const metadata = await readImageMetadata(jpeg.subarray(0, length));
    assert.equal(typeof metadata.error, "string", `cut at ${length} bytes`);
  }
  const app1End = 2 + 2 + jpeg.readUInt16BE(4); // SOI, marker, then the segment's own length
  const headerless = await readImageMetadata(jpeg.subarray(0, app1End + 10));
  assert.equal(headerless.dateTime?.text, "2013:06:14 07:00:00");
  assert.match(headerless.error ?? "", /Could not read the image size/);
});

test("damaged HEIF box chains and TIFF streams come back with an error at once: none reaches a loop", async () => {
  for (const [name, bytes] of Object.entries({ ...damagedIsoMediaFiles(), ...damagedTiffFiles() })) {
    const started = performance.now();
    const metadata = await readImageMetadata(bytes);
    assert.equal(typeof metadata.error, "string", name);
    assert.ok(performance.now() - started < 2_000, `${name} answered without waiting for a deadline`);
  }
});

test("a well-formed HEIF's EXIF is read (on the metadata thread) as a JPEG's is", async () => {
  const spec = { ifd0: { [DATE_TIME]: ascii("2013:06:14 07:01:02"), 0x010f: ascii("Apple"), 0x0110: ascii("iPhone 15") } };
  const metadata = await readImageMetadata(heifWithExif(spec));
  assert.deepEqual([metadata.make, metadata.model, metadata.dateTime?.text], ["Apple", "iPhone 15", "2013:06:14 07:01:02"]);
});

test("a WebP whose EXIF chunk holds a looping HEIF box chain gives its size, without a loop or a long wait", async () => {
  const webp = await webpWithExifChunk(damagedIsoMediaFiles()["zero-length-box.heic"]!);
  const started = performance.now();
  const metadata = await readImageMetadata(webp);
  assert.ok(performance.now() - started < 2_000, "the box check answered, not the deadline");
  assert.deepEqual([metadata.width, metadata.height], [16, 16]);
  assert.match(metadata.error ?? "", /box .* claims size 0/);
});
