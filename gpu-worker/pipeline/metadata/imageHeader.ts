// One parse of a photo's header (sharp/libvips, no pixels decoded), shared by metadata,
// preprocessing and rendering. The displayed size here is the one source of truth for the
// photo's size: it is the decoder's own view of the EXIF orientation, so it is the size the
// detector's normalised boxes refer to and the size a drawn photo comes out at.
import sharp, { type Metadata } from "sharp";

export type ImageHeader =
  | {
      ok: true;
      meta: Metadata;
      /** Width and height as displayed (the decoder's orientation applied). */
      width: number;
      height: number;
    }
  | { ok: false; error: unknown };

export async function readImageHeader(bytes: Buffer): Promise<ImageHeader> {
  try {
    // Header only, so no pixel limit here: preprocessing says when an image is too big.
    const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
    return { ok: true, meta, width: meta.autoOrient.width, height: meta.autoOrient.height };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Whether boxes are drawn straight into the photo's decoded pixels (outputs/render.ts): a JPEG
 * without an ICC profile, as camera traps write them, whose pixels come out of the decoder as
 * displayed and whose EXIF is one block to copy over. Preprocessing keeps pixels only for these.
 */
export function drawsIntoPixels(meta: Pick<Metadata, "format" | "icc">): boolean {
  return meta.format === "jpeg" && !meta.icc;
}
