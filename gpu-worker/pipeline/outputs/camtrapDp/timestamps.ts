// Camtrap DP wants datetimes with a zone (%Y-%m-%dT%H:%M:%S%z); camera clocks carry none. The
// camera's wall-clock time is written unchanged with the UTC offset the user names for the
// cameras (default +00:00, i.e. "we do not know": set it to the cameras' local offset).

export const DEFAULT_UTC_OFFSET = "+00:00";

const OFFSET = /^[+-](?:0\d|1[0-4]):[0-5]\d$/;

/** Checks an offset such as "+02:00" or "-05:30"; throws a message a person can act on. */
export function checkUtcOffset(offset: string): string {
  if (!OFFSET.test(offset)) throw new Error(`"${offset}" is not a UTC offset: give it as +HH:MM or -HH:MM, e.g. +02:00`);
  return offset;
}

/** A camera wall-clock Date (UTC fields = the camera's fields) with the offset: 2020-03-16T10:00:00+02:00. */
export function withOffset(wallClock: Date, offset: string): string {
  return `${wallClock.toISOString().slice(0, 19)}${offset}`;
}

/** The camera's calendar date, YYYY-MM-DD. */
export function calendarDate(wallClock: Date): string {
  return wallClock.toISOString().slice(0, 10);
}

/** An instant (a real UTC time, such as when processing ended): 2026-03-01T10:01:30Z. */
export function utcInstant(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
