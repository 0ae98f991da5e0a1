/**
 * Calendar arithmetic in a store's IANA time zone, for figures that follow
 * the store's days and months (offline time today and this month, sales per
 * hour) rather than UTC ones.
 */

interface ZonedParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Wall-clock fields of an instant in a time zone. */
export function zonedParts(instantMs: number, timeZone: string): ZonedParts {
  const parts = formatterFor(timeZone).formatToParts(new Date(instantMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { year: get("year"), month: get("month"), day: get("day"), hour: get("hour"), minute: get("minute"), second: get("second") };
}

/** Offset of a time zone from UTC at an instant, in milliseconds (negative west of Greenwich). */
function offsetMs(instantMs: number, timeZone: string): number {
  const p = zonedParts(instantMs, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}

/**
 * Instant at which a wall-clock date and time happens in a time zone. Two
 * passes settle the offset across a daylight-saving change.
 */
export function zonedInstant(year: number, month: number, day: number, hour: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day, hour);
  let guess = wall - offsetMs(wall, timeZone);
  guess = wall - offsetMs(guess, timeZone);
  return guess;
}

/** Month of an instant in a time zone, as YYYY-MM. */
export function monthOf(instantMs: number, timeZone: string): string {
  const p = zonedParts(instantMs, timeZone);
  return `${p.year}-${String(p.month).padStart(2, "0")}`;
}

/** Instant the store's day that contains `instantMs` began. */
export function startOfZonedDay(instantMs: number, timeZone: string): number {
  const p = zonedParts(instantMs, timeZone);
  return zonedInstant(p.year, p.month, p.day, 0, timeZone);
}

/** Instant the store's month that contains `instantMs` began. */
export function startOfZonedMonth(instantMs: number, timeZone: string): number {
  const p = zonedParts(instantMs, timeZone);
  return zonedInstant(p.year, p.month, 1, 0, timeZone);
}

/** Instant the store's next month after the one that contains `instantMs` begins. */
export function startOfNextZonedMonth(instantMs: number, timeZone: string): number {
  const p = zonedParts(instantMs, timeZone);
  const year = p.month === 12 ? p.year + 1 : p.year;
  const month = p.month === 12 ? 1 : p.month + 1;
  return zonedInstant(year, month, 1, 0, timeZone);
}
