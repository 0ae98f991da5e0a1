import { zonedParts } from "@mercora/crdt-model";
import { cleanText } from "./text.ts";

const MAX_FRACTION_DIGITS = 20;

/** Maximum number of formatters in each cache; a terminal uses a handful (its locale and currency). */
const FORMATTER_CACHE_MAX = 64;

/**
 * Returns the formatter built for `key`, building it on first use. Building
 * an `Intl` formatter takes longer than formatting with it, and a receipt
 * used to build one per amount and tax rate.
 */
function cachedFormatter<F>(cache: Map<string, F>, key: string, build: () => F): F {
  let formatter = cache.get(key);
  if (formatter === undefined) {
    formatter = build();
    if (cache.size >= FORMATTER_CACHE_MAX) cache.clear();
    cache.set(key, formatter);
  }
  return formatter;
}

const amountFormats = new Map<string, Intl.NumberFormat>();
const percentFormats = new Map<string, Intl.NumberFormat>();

/** Writes integer minor units as an exact decimal string, e.g. 123450 with 2 digits as "1234.50". */
export function toDecimalString(minor: number, minorUnitDigits: number): string {
  const sign = minor < 0 ? "-" : "";
  const digits = String(Math.abs(minor)).padStart(minorUnitDigits + 1, "0");
  if (minorUnitDigits === 0) return sign + digits;
  return `${sign}${digits.slice(0, -minorUnitDigits)}.${digits.slice(-minorUnitDigits)}`;
}

/**
 * Creates a function that formats integer minor units as a currency amount in
 * `locale`, with exactly `minorUnitDigits` decimals and the narrow currency
 * symbol ("$", "₡"), falling back to the ISO code where the locale has no
 * symbol. Throws `RangeError` for an unknown locale or currency code, or for
 * digits outside 0 to 20.
 */
export function createAmountFormatter(
  currency: string,
  minorUnitDigits: number,
  locale: string,
): (minor: number) => string {
  if (!Number.isInteger(minorUnitDigits) || minorUnitDigits < 0 || minorUnitDigits > MAX_FRACTION_DIGITS) {
    throw new RangeError(
      `minorUnitDigits ${minorUnitDigits} is invalid. Use a whole number from 0 to ${MAX_FRACTION_DIGITS} (2 for ARS)`,
    );
  }
  const formatter = cachedFormatter(amountFormats, `${locale} ${currency} ${minorUnitDigits}`, () =>
    new Intl.NumberFormat(locale, {
      style: "currency",
      currency,
      currencyDisplay: "narrowSymbol",
      minimumFractionDigits: minorUnitDigits,
      maximumFractionDigits: minorUnitDigits,
    }),
  );
  // Node 20 formats decimal strings exactly (Intl.NumberFormat v3, ES2023),
  // but the ES2022 lib types of this project only accept number | bigint.
  // Dividing by 10^digits instead would print 9007199254740991 minor units
  // as 90,071,992,547,409.90.
  const formatDecimal = formatter.format as unknown as (value: string) => string;
  return (minor: number): string => {
    if (!Number.isSafeInteger(minor)) {
      throw new RangeError(`Amount ${minor} is not a safe integer in minor units`);
    }
    return cleanText(formatDecimal(toDecimalString(minor, minorUnitDigits)));
  };
}

/**
 * Formats integer minor units as a currency amount, e.g. 123450 in ARS with
 * 2 digits as "$1,234.50" in es-419. No-break and narrow no-break spaces
 * from `Intl` are replaced with plain spaces.
 */
export function formatAmount(minor: number, currency: string, minorUnitDigits: number, locale: string): string {
  return createAmountFormatter(currency, minorUnitDigits, locale)(minor);
}

/** Formats a tax rate in basis points as a percentage, e.g. 1050 as "10.5%" in es-419. */
export function formatRate(rateBp: number, locale: string): string {
  const formatter = cachedFormatter(percentFormats, locale, () => new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }));
  const percent = formatter.format(rateBp / 100);
  return `${cleanText(percent)}%`;
}

/** Order of day, month and year in a printed date. */
export type DateOrder = "day-month-year" | "month-day-year";

/**
 * Formats a UTC ISO instant as "DD/MM/YYYY HH:MM:SS" (or month first) on the
 * 24-hour clock, in the IANA `timeZone` given and not the machine's zone.
 * Throws `RangeError` naming the bad value for an invalid instant or zone.
 */
export function formatDateTime(at: string, timeZone: string, order: DateOrder): string {
  const instant = new Date(at);
  if (Number.isNaN(instant.getTime())) {
    throw new RangeError(`Timestamp ${JSON.stringify(at)} is invalid. Use a UTC ISO 8601 string`);
  }
  let parts: ReturnType<typeof zonedParts>;
  try {
    // The model's wall-clock parts come from a formatter kept per zone, with Latin digits in every zone.
    parts = zonedParts(instant.getTime(), timeZone);
  } catch (error) {
    const message = `Time zone ${JSON.stringify(timeZone)} is invalid. Use an IANA zone such as America/Costa_Rica`;
    throw new RangeError(message, { cause: error });
  }
  const two = (value: number) => String(value).padStart(2, "0");
  const date =
    order === "day-month-year"
      ? `${two(parts.day)}/${two(parts.month)}/${parts.year}`
      : `${two(parts.month)}/${two(parts.day)}/${parts.year}`;
  return `${date} ${two(parts.hour)}:${two(parts.minute)}:${two(parts.second)}`;
}
