import { businessDayOf } from "./sale.ts";
import type { LedgerRecord, RecordKind } from "./types.ts";

/**
 * How long a fiscal document may wait before it reaches the tax authority:
 * - `hours`: a fixed span from the document's instant, the same in every
 *   time zone and across daylight saving changes (Mexico: 72 hours);
 * - `end-of-day`: until the end of the calendar day `days` after the
 *   document's date, in the branch's time zone (Colombia: 0, the same day;
 *   Peru: 3 calendar days). With `offlineOnly`, only documents issued
 *   offline (contingency receipts) have a deadline (Costa Rica: 2 days).
 */
export type DeadlineRule =
  | { kind: "hours"; hours: number }
  | { kind: "end-of-day"; days: number; offlineOnly?: boolean };

/** Kinds of record that are fiscal documents with a transmission deadline: tickets, credit notes and voids. */
export function hasTransmissionDeadline(kind: RecordKind): boolean {
  return kind === "sale" || kind === "refund" || kind === "void";
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function dateFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

function localDate(ms: number, timeZone: string): string {
  const parts = dateFormatter(timeZone).formatToParts(new Date(ms));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** Adds whole days to a calendar date (YYYY-MM-DD), with no time zone involved. */
export function addDays(date: string, days: number): string {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + days)).toISOString().slice(0, 10);
}

/**
 * Returns the first instant (UTC milliseconds) of a calendar date in a
 * time zone. Where a daylight saving change skips local midnight, the day
 * starts at the first local time that exists. Found by bisection over
 * three days around the UTC midnight of the date, because no zone is
 * further than 14 hours from UTC.
 */
export function startOfLocalDay(date: string, timeZone: string): number {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  const utcMidnight = Date.UTC(year, month - 1, day);
  let low = utcMidnight - 36 * 3_600_000;
  let high = utcMidnight + 36 * 3_600_000;
  // Invariant: low is before the day starts and high is at or after it.
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (localDate(middle, timeZone) < date) low = middle;
    else high = middle;
  }
  return high;
}

/**
 * Computes a record's transmission deadline (ISO 8601, UTC) under a
 * country's rule, or null when it has none: not a fiscal document, no
 * rule for the country, or an online document under an offline-only rule.
 */
export function transmissionDeadline(
  rule: DeadlineRule | null,
  record: Pick<LedgerRecord, "kind" | "at" | "offline">,
  timeZone: string,
): string | null {
  if (!rule || !hasTransmissionDeadline(record.kind)) return null;
  const issuedMs = Date.parse(record.at);
  if (rule.kind === "hours") return new Date(issuedMs + rule.hours * 3_600_000).toISOString();
  if (rule.offlineOnly && !record.offline) return null;
  const issuedOn = businessDayOf(new Date(issuedMs), timeZone);
  return new Date(startOfLocalDay(addDays(issuedOn, rule.days + 1), timeZone)).toISOString();
}

/** A fiscal record still owed to the tax authority, as the timers show it. */
export interface FiscalDebt {
  record: string;
  kind: RecordKind;
  terminal: string;
  /** The final folio when known, else the provisional one. */
  folio: string | null;
  provisional: boolean;
  at: string;
  transmitBy: string;
  /** Milliseconds left until the deadline; negative once it passed. */
  msLeft: number;
  overdue: boolean;
  /** What the record waits for: the relay to ingest it, or the relay to assign its final folio. */
  waitingFor: "relay" | "final-folio";
}

/** What a reader knows about what the relay has done with a branch's records. */
export interface SettlementView {
  /** Highest sequence number the relay acknowledged for a terminal. */
  acked(terminal: string): number;
  /** Final folio the relay assigned to a record's provisional folio, or null. */
  finalFolio(recordId: string): string | null;
}

/**
 * Lists the fiscal records whose debt is not settled, most urgent first.
 * The relay is what transmits, so a record's debt is settled once the
 * relay has acknowledged it and it has a final folio: issued by the
 * terminal (self-numbered, or from an authority block), or assigned by
 * the relay to its provisional one (a used-up block, or assignment at
 * validation). A record still on a terminal is debt.
 */
export function pendingFiscalRecords(records: Iterable<LedgerRecord>, view: SettlementView, nowMs: number): FiscalDebt[] {
  const out: FiscalDebt[] = [];
  for (const record of records) {
    if (!record.transmitBy) continue;
    const ingested = record.seq <= view.acked(record.terminal);
    const final = record.folio ?? (record.provisionalFolio ? view.finalFolio(record.id) : null);
    const needsFinal = record.provisionalFolio !== null && final === null;
    if (ingested && !needsFinal) continue;
    const msLeft = Date.parse(record.transmitBy) - nowMs;
    out.push({
      record: record.id,
      kind: record.kind,
      terminal: record.terminal,
      folio: final ?? record.provisionalFolio,
      provisional: record.provisionalFolio !== null && final === null,
      at: record.at,
      transmitBy: record.transmitBy,
      msLeft,
      overdue: msLeft < 0,
      waitingFor: ingested ? "final-folio" : "relay",
    });
  }
  return out.sort((a, b) => (a.transmitBy < b.transmitBy ? -1 : a.transmitBy > b.transmitBy ? 1 : a.record < b.record ? -1 : 1));
}
