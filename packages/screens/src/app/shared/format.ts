import { locale } from "./i18n.ts";

/** The store's currency as the catalog gives it. */
export interface CurrencySettings {
  currency: string;
  minorUnitDigits: number;
}

/** Formats integer minor units as money in the store's currency, e.g. 123450 ARS as "$1.234,50". */
export function formatMoney(minor: number, settings: CurrencySettings): string {
  const digits = settings.minorUnitDigits;
  const major = minor / 10 ** digits;
  try {
    return new Intl.NumberFormat(locale(), {
      style: "currency",
      currency: settings.currency,
      currencyDisplay: "narrowSymbol",
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(major);
  } catch {
    return `${settings.currency} ${major.toFixed(digits)}`;
  }
}

/** True for digits grouped by thousands with one separator ("1.234.567"), or plain digits. */
function groupedDigits(text: string): boolean {
  return /^\d+$/.test(text) || /^\d{1,3}(\.\d{3})+$/.test(text) || /^\d{1,3}(,\d{3})+$/.test(text);
}

/** Splits typed text into whole and fraction digits, or null when the separators make no sense. */
function splitAmount(cleaned: string, digits: number): { whole: string; fraction: string } | null {
  const separators = cleaned.replace(/[^.,]/g, "");
  if (separators.length === 0) return { whole: cleaned, fraction: "" };
  const last = Math.max(cleaned.lastIndexOf(","), cleaned.lastIndexOf("."));
  const before = cleaned.slice(0, last);
  const after = cleaned.slice(last + 1);
  const mixed = separators.includes(",") && separators.includes(".");
  // "1.234,50": the last separator is the decimal one and the others group thousands.
  if (mixed) return after.length <= digits && groupedDigits(before) ? { whole: before, fraction: after } : null;
  // "1.234.567" or "1.500": one kind of separator before groups of three digits groups thousands.
  if (groupedDigits(cleaned) && (separators.length > 1 || (after.length === 3 && digits < 3))) return { whole: cleaned, fraction: "" };
  return separators.length === 1 && after.length <= digits ? { whole: before, fraction: after } : null;
}

/**
 * Parses an amount a cashier typed into integer minor units: "1500",
 * "1500,5", "1.500,50" and "1,500.50" all work. Returns null for text that
 * is not an amount.
 */
export function parseAmount(text: string, digits: number): number | null {
  const cleaned = text.replace(/[\s$]/g, "");
  if (!/^\d[\d.,]*$/.test(cleaned)) return null;
  const parts = splitAmount(cleaned, digits);
  if (!parts) return null;
  const whole = parts.whole.replace(/[.,]/g, "");
  if (!/^\d+$/.test(whole) || !/^\d*$/.test(parts.fraction)) return null;
  const minor = Number(whole) * 10 ** digits + Number(parts.fraction.padEnd(digits, "0") || "0");
  return Number.isSafeInteger(minor) ? minor : null;
}

/** Formats minor units for an amount field in the locale's decimal separator, without grouping: 123450 as "1234.50". */
export function amountForInput(minor: number, digits: number): string {
  if (digits === 0) return String(minor);
  const text = String(minor).padStart(digits + 1, "0");
  const separator = new Intl.NumberFormat(locale()).formatToParts(1.5).find((part) => part.type === "decimal")?.value ?? ".";
  return `${text.slice(0, -digits)}${separator}${text.slice(-digits)}`;
}

/** Formats a duration as hours and minutes, e.g. "2 h 05 min" or "45 s". */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

/**
 * Reads an instant given as ISO 8601 or as a hybrid logical clock
 * timestamp ("0001796407424087.0000.T2": milliseconds, counter, replica),
 * which conflict detections carry. Returns null for anything else.
 */
export function instantOf(value: string | null): Date | null {
  if (!value) return null;
  const hlc = /^(\d{13,16})\.\d+\./.exec(value);
  const date = hlc ? new Date(Number(hlc[1])) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Formats an instant as time of day in a time zone; "—" when there is none. */
export function formatTime(value: string | null, timeZone?: string): string {
  const date = instantOf(value);
  if (!date) return "—";
  return new Intl.DateTimeFormat(locale(), { hour: "2-digit", minute: "2-digit", second: "2-digit", ...(timeZone ? { timeZone } : {}) }).format(date);
}

/** Formats an instant as date and time in a time zone; "—" when there is none. */
export function formatDateTime(value: string | null, timeZone?: string): string {
  const date = instantOf(value);
  if (!date) return "—";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "short", ...(timeZone ? { timeZone } : {}) }).format(date);
}

/** Formats a whole number with the locale's grouping. */
export function formatCount(value: number): string {
  return new Intl.NumberFormat(locale()).format(value);
}
