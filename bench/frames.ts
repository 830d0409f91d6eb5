// Camera-like frames the benches generate for themselves (no fixture is copied into the
// project): grey noise, so JPEG sizes are realistic and nothing else has the target's colour,
// and in every third frame a magenta "animal" the tests' tiny detector finds.
import sharp from "sharp";

export const DISTINCT_FRAMES = 12;
/** The colour the tiny detector (test/helpers/tinyModels.ts) looks for. */
const TARGET = { r: 255, g: 0, b: 230 };

export async function generateFrames(size: { width: number; height: number }, count = DISTINCT_FRAMES): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const noise = sharp({ create: { ...size, channels: 3, background: "#000", noise: { type: "gaussian", mean: 110, sigma: 30 } } });
      const grey = await noise.greyscale().toColourspace("srgb").png().toBuffer();
      const animal =
        i % 3 === 0
          ? [{ input: await sharp({ create: { width: Math.round(size.width / 4), height: Math.round(size.height / 4), channels: 3, background: TARGET } }).png().toBuffer(), left: Math.round(size.width / 3), top: Math.round(size.height / 3) }]
          : [];
      return sharp(grey).composite(animal).jpeg({ quality: 85 }).toBuffer();
    }),
  );
}
