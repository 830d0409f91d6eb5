// Maker notes of camera traps whose formats are publicly documented: which format a maker
// note is (by its signature, and the camera's Make where the signature alone is weak), and
// its camera-trap fields. Other makers' notes are left alone.

import type { CameraTrapInfo } from "../../types.ts";
import { isReconyxHyperFire, readReconyxHyperFire } from "./reconyxHyperFire.ts";
import { isReconyxHyperFire2, readReconyxHyperFire2 } from "./reconyxHyperFire2.ts";
import { isReconyxUltraFire, readReconyxUltraFire } from "./reconyxUltraFire.ts";

interface MakerNoteFormat {
  detect(bytes: Uint8Array, make: string | undefined): boolean;
  read(bytes: Uint8Array): CameraTrapInfo;
}

/** Most specific signature first: the two text signatures cannot be mistaken for each other. */
const FORMATS: MakerNoteFormat[] = [
  { detect: isReconyxHyperFire2, read: readReconyxHyperFire2 },
  { detect: isReconyxUltraFire, read: readReconyxUltraFire },
  { detect: isReconyxHyperFire, read: readReconyxHyperFire },
];

/** Camera-trap fields from a maker note, or undefined when its format is not one we know. */
export function readCameraTrapMakerNote(bytes: Uint8Array, make?: string): CameraTrapInfo | undefined {
  const format = FORMATS.find((candidate) => candidate.detect(bytes, make));
  return format?.read(bytes);
}
