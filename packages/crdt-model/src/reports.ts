import type { LedgerRecord, TenderType } from "./types.ts";
import { TENDER_TYPES } from "./types.ts";

export interface TaxLine {
  rateBp: number;
  base: number;
  tax: number;
}

export interface CashSession {
  terminal: string;
  openedAt: string | null;
  closedAt: string | null;
  openingFloat: number;
  cashSales: number;
  cashRefunds: number;
  /** Cash given back on voided sales. */
  cashVoids: number;
  cashIn: number;
  cashOut: number;
  expected: number;
  counted: number | null;
  /** Counted minus expected; null while the session is open. */
  difference: number | null;
}

/** End-of-day (Z) report of one terminal or one branch for one business day. */
export interface ZReport {
  businessDay: string;
  terminals: string[];
  sales: { count: number; total: number; tax: number; cashRounding: number };
  refunds: { count: number; total: number; tax: number; cashRounding: number };
  /** Voided sales; the voided tickets also count in `sales`, and their folios stay used. */
  voids: { count: number; total: number; tax: number; cashRounding: number; tickets: string[] };
  /** Net sales: sales minus refunds minus voids. */
  net: { total: number; tax: number };
  taxes: TaxLine[];
  tenders: Record<TenderType, { sales: number; refunds: number; voids: number }>;
  sessions: CashSession[];
  cash: { expected: number; counted: number | null; difference: number | null };
}

function addTax(taxes: Map<number, TaxLine>, rateBp: number, base: number, tax: number) {
  const line = taxes.get(rateBp) ?? { rateBp, base: 0, tax: 0 };
  line.base += base;
  line.tax += tax;
  taxes.set(rateBp, line);
}

/** Cash a record moves into (positive) or out of (negative) the drawer. */
function cashEffect(record: LedgerRecord): number {
  const cash = record.tenders.filter((t) => t.type === "cash").reduce((sum, t) => sum + t.amount, 0);
  if (record.kind === "sale") return cash - record.change;
  if (record.kind === "refund" || record.kind === "void") return -cash;
  return 0;
}

/**
 * Builds cash sessions from one terminal's records in sequence order. A
 * session opens with an opening float and closes with a closing count;
 * cash sales, refunds, cash in and cash out between them change the cash
 * expected in the drawer.
 */
function cashSessions(records: LedgerRecord[]): CashSession[] {
  const sessions: CashSession[] = [];
  let open: CashSession | null = null;
  const start = (record: LedgerRecord, float: number): CashSession => ({
    terminal: record.terminal,
    openedAt: record.kind === "cash-movement" ? record.at : null,
    closedAt: null,
    openingFloat: float,
    cashSales: 0,
    cashRefunds: 0,
    cashVoids: 0,
    cashIn: 0,
    cashOut: 0,
    expected: float,
    counted: null,
    difference: null,
  });
  for (const record of records) {
    if (record.kind === "cash-movement" && record.reason === "opening-float") {
      if (open) sessions.push(open);
      open = start(record, record.cashAmount);
      continue;
    }
    const effect = cashEffect(record);
    const isCashMovement = record.kind === "cash-movement";
    if (!open && (effect !== 0 || isCashMovement)) open = start(record, 0);
    if (!open) continue;
    if (record.kind === "sale") open.cashSales += effect;
    if (record.kind === "refund") open.cashRefunds += -effect;
    if (record.kind === "void") open.cashVoids += -effect;
    if (record.kind === "cash-movement" && record.reason === "cash-in") open.cashIn += record.cashAmount;
    if (record.kind === "cash-movement" && record.reason === "cash-out") open.cashOut += record.cashAmount;
    open.expected = open.openingFloat + open.cashSales - open.cashRefunds - open.cashVoids + open.cashIn - open.cashOut;
    if (record.kind === "cash-movement" && record.reason === "closing-count") {
      open.counted = record.cashAmount;
      open.difference = record.cashAmount - open.expected;
      open.closedAt = record.at;
      sessions.push(open);
      open = null;
    }
  }
  if (open) sessions.push(open);
  return sessions;
}

type Totals = { count: number; total: number; tax: number; cashRounding: number };

const TENDER_COLUMNS = { sale: "sales", refund: "refunds", void: "voids" } as const;

/** Adds a sale, refund or void to the report's totals, taxes and tenders. */
function addFiscal(record: LedgerRecord, totals: Record<"sale" | "refund" | "void", Totals>, taxes: Map<number, TaxLine>, tenders: ZReport["tenders"]) {
  const kind = record.kind as "sale" | "refund" | "void";
  const sign = kind === "sale" ? 1 : -1;
  const bucket = totals[kind];
  bucket.count += 1;
  bucket.total += record.total;
  bucket.tax += record.tax;
  bucket.cashRounding += record.cashRounding;
  for (const line of record.lines) addTax(taxes, line.taxRateBp, sign * line.base, sign * line.tax);
  for (const tender of record.tenders) {
    const amount = tender.type === "cash" && kind === "sale" ? tender.amount - record.change : tender.amount;
    tenders[tender.type][TENDER_COLUMNS[kind]] += amount;
  }
}

/**
 * Builds the Z report of a business day from records of one or more
 * terminals: sales, refunds, voids, taxes per rate, tenders, and cash
 * expected against counted per cash session. A voided ticket counts as a
 * sale and its void as a deduction, so both stay visible.
 */
export function buildZReport(records: LedgerRecord[], businessDay: string): ZReport {
  const day = records.filter((r) => r.businessDay === businessDay);
  const terminals = [...new Set(day.map((r) => r.terminal))].sort();
  const taxes = new Map<number, TaxLine>();
  const tenders = Object.fromEntries(TENDER_TYPES.map((t) => [t, { sales: 0, refunds: 0, voids: 0 }])) as ZReport["tenders"];
  const totals = {
    sale: { count: 0, total: 0, tax: 0, cashRounding: 0 },
    refund: { count: 0, total: 0, tax: 0, cashRounding: 0 },
    void: { count: 0, total: 0, tax: 0, cashRounding: 0 },
  };
  const voided: string[] = [];
  for (const record of day) {
    if (record.kind !== "sale" && record.kind !== "refund" && record.kind !== "void") continue;
    addFiscal(record, totals, taxes, tenders);
    if (record.kind === "void" && record.voidOf) voided.push(record.voidOf);
  }
  const { sale: sales, refund: refunds } = totals;
  const voids = { ...totals.void, tickets: voided.sort() };
  const sessions = terminals.flatMap((terminal) =>
    cashSessions(day.filter((r) => r.terminal === terminal).sort((a, b) => a.seq - b.seq)),
  );
  const closed = sessions.filter((s) => s.counted !== null);
  const expected = sessions.reduce((sum, s) => sum + s.expected, 0);
  const counted = closed.length === sessions.length && sessions.length > 0 ? closed.reduce((sum, s) => sum + s.counted!, 0) : null;
  return {
    businessDay,
    terminals,
    sales,
    refunds,
    voids,
    net: { total: sales.total - refunds.total - voids.total, tax: sales.tax - refunds.tax - voids.tax },
    taxes: [...taxes.values()].sort((a, b) => b.rateBp - a.rateBp),
    tenders,
    sessions,
    cash: { expected, counted, difference: counted === null ? null : counted - expected },
  };
}
