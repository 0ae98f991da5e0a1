import type { IngestDoc } from "./schema.ts";
import { SCHEMA_VERSION } from "./schema.ts";
import { imm, str } from "./strings.ts";
import type { LedgerRecord } from "./types.ts";

/** Builds the value of a branch's ingest document, with every terminal's mark at 0. */
export function initIngest(branch: string, terminals: string[]): IngestDoc {
  const acked: Record<string, number> = {};
  for (const terminal of terminals) acked[terminal] = 0;
  return {
    schema: SCHEMA_VERSION,
    type: imm("ingest"),
    branch: imm(branch),
    acked,
    days: {},
    lastRecordAt: {},
  };
}

/**
 * Ingests one record inside a `change()` callback of the relay: adds it to
 * the branch totals of its business day and moves the terminal's
 * acknowledgement mark. Only the record right after the mark is taken, so a
 * record is ingested once and in order; returns false for any other. A
 * record that failed verification is acknowledged with `countTotals: false`,
 * under `writer`, the terminal whose ledger contains it, when given.
 */
export function ingestRecord(
  doc: IngestDoc,
  record: LedgerRecord,
  options: { countTotals: boolean; writer?: string } = { countTotals: true },
): boolean {
  // A record that names another terminal than its ledger's owner still moves the owner's mark.
  const writer = options.writer ?? record.terminal;
  const mark = doc.acked[writer];
  if (mark === undefined) {
    throw new Error(`Ingest of branch ${str(doc.branch)} has no terminal ${writer}`);
  }
  if (record.seq !== mark + 1) return false;
  if (record.kind === "sale" && options.countTotals) {
    let day = doc.days[record.businessDay];
    if (!day) {
      // Only the relay writes this document, so creating the day here is safe.
      doc.days[record.businessDay] = { tickets: 0, sales: 0, tax: 0, offlineTickets: 0 };
      day = doc.days[record.businessDay]!;
    }
    day.tickets += 1;
    day.sales += record.total;
    day.tax += record.tax;
    if (record.offline) day.offlineTickets += 1;
  }
  doc.acked[writer] = record.seq;
  doc.lastRecordAt[writer] = imm(record.at);
  return true;
}

/**
 * Ingests records inside one `change()` callback of the relay, as
 * `ingestRecord` does one at a time, but writes each terminal's mark and
 * each business day's totals once: every write through the change's proxy
 * is a call into Automerge, and a catch-up brings thousands of records.
 * `writer` is the terminal whose ledger contains the record, when given.
 * Returns the records taken, in the order given.
 */
export function ingestRecords(
  doc: IngestDoc,
  entries: readonly { record: LedgerRecord; countTotals: boolean; writer?: string }[],
): LedgerRecord[] {
  const marks = new Map<string, number>();
  const lastAt = new Map<string, string>();
  const days = new Map<string, IngestDayTotals>();
  const taken: LedgerRecord[] = [];
  for (const { record, countTotals, writer: owner } of entries) {
    // A record that names another terminal than its ledger's owner still moves the owner's mark.
    const writer = owner ?? record.terminal;
    const mark = marks.get(writer) ?? doc.acked[writer];
    if (mark === undefined) throw new Error(`Ingest of branch ${str(doc.branch)} has no terminal ${writer}`);
    if (record.seq !== mark + 1) continue;
    marks.set(writer, record.seq);
    lastAt.set(writer, record.at);
    taken.push(record);
    if (record.kind !== "sale" || !countTotals) continue;
    const day = days.get(record.businessDay) ?? { tickets: 0, sales: 0, tax: 0, offlineTickets: 0 };
    day.tickets += 1;
    day.sales += record.total;
    day.tax += record.tax;
    if (record.offline) day.offlineTickets += 1;
    days.set(record.businessDay, day);
  }
  for (const [businessDay, add] of days) {
    const day = doc.days[businessDay];
    if (!day) {
      // Only the relay writes this document, so creating the day here is safe.
      doc.days[businessDay] = add;
      continue;
    }
    day.tickets += add.tickets;
    day.sales += add.sales;
    day.tax += add.tax;
    day.offlineTickets += add.offlineTickets;
  }
  for (const [terminal, seq] of marks) {
    doc.acked[terminal] = seq;
    doc.lastRecordAt[terminal] = imm(lastAt.get(terminal)!);
  }
  return taken;
}

interface IngestDayTotals {
  tickets: number;
  sales: number;
  tax: number;
  offlineTickets: number;
}

/** Reads a terminal's acknowledgement mark, or 0. */
export function readAcked(doc: IngestDoc, terminal: string): number {
  return doc.acked[terminal] ?? 0;
}

/** Reads the branch totals per business day, sorted by day. */
export function readDays(doc: IngestDoc) {
  return Object.entries(doc.days)
    .map(([businessDay, day]) => ({ businessDay, ...day }))
    .sort((a, b) => (a.businessDay < b.businessDay ? -1 : 1));
}
