// Camera clocks carry no time zone: a capture time is kept as a Date whose UTC fields are the
// camera's own fields (see CameraDateTime in pipeline/types.ts).

/**
 * The camera's fields as such a Date, or undefined when they are no real date and time
 * (month 13, 30 February, 24:00; Date.UTC would silently roll them over) or the year is not
 * four digits (Date.UTC reads 0-99 as 1900-1999, and no camera is older than 1000).
 */
export function wallClockDate(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  milliseconds = 0,
): Date | undefined {
  if (year < 1000 || year > 9999) return undefined;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, milliseconds));
  const real =
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    date.getUTCHours() === hour &&
    date.getUTCMinutes() === minute &&
    date.getUTCSeconds() === second;
  return real ? date : undefined;
}
