// Value codes shared by Reconyx's maker-note formats, as listed in ExifTool's Reconyx tag
// documentation (Image::ExifTool::TagNames, "Reconyx Tags" and its Type2/Type3 tables, which
// cite Reconyx's RCNX_MN10.pdf and ultrafire_makernote.pdf).

/** MoonPhase 0-7. */
const MOON_PHASES = ["New", "New Crescent", "First Quarter", "Waxing Gibbous", "Full", "Waning Gibbous", "Last Quarter", "Old Crescent"];

/** TriggerMode: one ASCII letter. */
const TRIGGER_MODES: Readonly<Record<string, string>> = {
  C: "CodeLoc Not Entered",
  E: "External Sensor",
  M: "Motion Detection",
  P: "Point and Shoot",
  T: "Time Lapse",
};

export function moonPhaseName(code: number | undefined): string | undefined {
  return code === undefined ? undefined : MOON_PHASES[code];
}

/** The mode's name; an unknown letter is kept as written rather than dropped. */
export function triggerModeName(letter: string | undefined): string | undefined {
  if (letter === undefined) return undefined;
  return TRIGGER_MODES[letter] ?? letter;
}
