// Test photos for the cloud-path tests: grey JPEGs, with a "pure-ish red" target where the tiny
// test detector (test/helpers/tinyModels.ts) must find an animal.
import sharp from "sharp";

export interface Target {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** A grey JPEG (640x480 unless told), with the target painted at confidence 0.9 when given. */
export async function photo(target?: Target, size: { width: number; height: number } = { width: 640, height: 480 }): Promise<Buffer> {
  const composite = target
    ? [{ input: await sharp({ create: { width: target.width, height: target.height, channels: 3, background: { r: 255, g: 0, b: 230 } } }).png().toBuffer(), left: target.left, top: target.top }]
    : [];
  return sharp({ create: { ...size, channels: 3, background: { r: 60, g: 60, b: 60 } } })
    .composite(composite)
    .jpeg({ quality: 95, chromaSubsampling: "4:4:4" })
    .toBuffer();
}

/** Incompressible bytes that still start like a JPEG: fills multipart uploads without costing a decode. */
export function noiseJpeg(bytes: number): Buffer {
  const buffer = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4) buffer.writeUInt32LE((Math.random() * 0xffffffff) >>> 0, Math.min(i, bytes - 4));
  buffer.set([0xff, 0xd8, 0xff, 0xe0], 0);
  return buffer;
}

/** 30 frames of 2000x1500 with an animal: a few seconds of work for the tiny model on 2 cores. */
export async function longJob(): Promise<Array<{ name: string; bytes: Buffer }>> {
  const frame = await photo({ left: 500, top: 375, width: 1000, height: 750 }, { width: 2000, height: 1500 });
  return Array.from({ length: 30 }, (_, i) => ({ name: `cam/IMG_${String(i).padStart(4, "0")}.JPG`, bytes: frame }));
}
