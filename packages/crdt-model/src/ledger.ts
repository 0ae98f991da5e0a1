import type { LedgerDoc, LedgerRecordDoc } from "./schema.ts";
import { SCHEMA_VERSION } from "./schema.ts";
import { imm, optStr, str } from "./strings.ts";
import type { LedgerRecord, RecordKind, TenderType } from "./types.ts";

/**
 * Records a ledger document holds before the terminal rolls over to a new
 * part. Automerge's cost per change grows with a document's history, so
 * every ledger stays bounded at this size. The environment variable
 * MERCORA_LEDGER_PART_CAP lowers it, so a test can spread a few records
 * over several ledgers.
 */
export const LEDGER_PART_CAP = ledgerPartCap(process.env.MERCORA_LEDGER_PART_CAP);

function ledgerPartCap(value: string | undefined): number {
  if (value === undefined || value === "") return 2000;
  const cap = Number(value);
  if (!Number.isSafeInteger(cap) || cap < 1 || cap > 2000) {
    throw new Error(`MERCORA_LEDGER_PART_CAP must be a whole number from 1 to 2000, got "${value}"`);
  }
  return cap;
}

export interface LedgerInit {
  branch: string;
  terminal: string;
  businessDay: string;
  part: number;
  firstSeq: number;
}

/** Builds the initial value of a ledger document for one terminal, business day and part. */
export function initLedger(init: LedgerInit): LedgerDoc {
  return {
    schema: SCHEMA_VERSION,
    type: imm("ledger"),
    branch: imm(init.branch),
    terminal: imm(init.terminal),
    businessDay: imm(init.businessDay),
    part: init.part,
    firstSeq: init.firstSeq,
    records: {},
  };
}

function toRecordDoc(record: LedgerRecord): LedgerRecordDoc {
  const stored: LedgerRecordDoc = {
    id: imm(record.id),
    kind: imm(record.kind),
    branch: imm(record.branch),
    terminal: imm(record.terminal),
    seq: record.seq,
    hlc: imm(record.hlc),
    at: imm(record.at),
    businessDay: imm(record.businessDay),
    timeZone: imm(record.timeZone),
    epoch: record.epoch,
    offline: record.offline,
    cashier: record.cashier === null ? null : imm(record.cashier),
    requestId: record.requestId === null ? null : imm(record.requestId),
    lines: record.lines.map((line) => ({
      sku: imm(line.sku),
      barcode: line.barcode === null ? null : imm(line.barcode),
      name: imm(line.name),
      qty: line.qty,
      unitPrice: line.unitPrice,
      taxCode: imm(line.taxCode),
      taxRateBp: line.taxRateBp,
      base: line.base,
      tax: line.tax,
      total: line.total,
      stockBefore: line.stockBefore,
      refLine: line.refLine,
      soldQty: line.soldQty,
    })),
    tenders: record.tenders.map((tender) => ({ type: imm(tender.type), amount: tender.amount })),
    total: record.total,
    tax: record.tax,
    cashRounding: record.cashRounding,
    change: record.change,
    stock: record.stock.map((line) => ({ sku: imm(line.sku), delta: line.delta })),
    cashAmount: record.cashAmount,
    reason: record.reason === null ? null : imm(record.reason),
    refundOf: record.refundOf === null ? null : imm(record.refundOf),
    authorizedBy: record.authorizedBy === null ? null : imm(record.authorizedBy),
    deviceAt: record.deviceAt === null ? null : imm(record.deviceAt),
    folio: record.folio === null ? null : imm(record.folio),
    folioNumber: record.folioNumber,
    provisionalFolio: record.provisionalFolio === null ? null : imm(record.provisionalFolio),
    prevHash: imm(record.prevHash),
    hash: imm(record.hash),
    signature: imm(record.signature),
  };
  // Optional fields are stored only when present, so older records read back unchanged.
  if (record.voidOf !== undefined) stored.voidOf = imm(record.voidOf);
  if (record.transmitBy !== undefined) stored.transmitBy = imm(record.transmitBy);
  return stored;
}

/**
 * Appends a record inside a `change()` callback. Records are keyed by id, so
 * the same record arriving twice is one record; a different record under an
 * existing id, or a record of another terminal, is rejected.
 */
export function appendRecord(doc: LedgerDoc, record: LedgerRecord): void {
  if (record.terminal !== str(doc.terminal)) {
    throw new Error(
      `Record ${record.id} belongs to terminal ${record.terminal}, not to ledger owner ${str(doc.terminal)}`,
    );
  }
  if (doc.records[record.id]) {
    throw new Error(`Ledger already holds a record with id ${record.id}; records are never edited`);
  }
  doc.records[record.id] = toRecordDoc(record);
}

/** Reads one stored record as a plain object. */
export function readRecord(stored: LedgerRecordDoc): LedgerRecord {
  const record: LedgerRecord = {
    id: str(stored.id),
    kind: str(stored.kind) as RecordKind,
    branch: str(stored.branch),
    terminal: str(stored.terminal),
    seq: stored.seq,
    hlc: str(stored.hlc),
    at: str(stored.at),
    businessDay: str(stored.businessDay),
    timeZone: str(stored.timeZone),
    epoch: stored.epoch,
    offline: stored.offline,
    cashier: optStr(stored.cashier),
    requestId: optStr(stored.requestId),
    lines: (stored.lines ?? []).map((line) => ({
      sku: str(line.sku),
      barcode: optStr(line.barcode),
      name: str(line.name),
      qty: line.qty,
      unitPrice: line.unitPrice,
      taxCode: str(line.taxCode),
      taxRateBp: line.taxRateBp,
      base: line.base ?? line.total - line.tax,
      tax: line.tax,
      total: line.total,
      stockBefore: line.stockBefore,
      refLine: line.refLine ?? null,
      soldQty: line.soldQty ?? null,
    })),
    tenders: (stored.tenders ?? []).map((tender) => ({
      type: str(tender.type) as TenderType,
      amount: tender.amount,
    })),
    total: stored.total,
    tax: stored.tax,
    cashRounding: stored.cashRounding ?? 0,
    change: stored.change,
    stock: (stored.stock ?? []).map((line) => ({ sku: str(line.sku), delta: line.delta })),
    cashAmount: stored.cashAmount,
    reason: optStr(stored.reason),
    refundOf: optStr(stored.refundOf),
    authorizedBy: optStr(stored.authorizedBy),
    deviceAt: optStr(stored.deviceAt),
    folio: optStr(stored.folio),
    folioNumber: stored.folioNumber ?? null,
    provisionalFolio: optStr(stored.provisionalFolio),
    prevHash: str(stored.prevHash),
    hash: str(stored.hash),
    signature: str(stored.signature),
  };
  if (stored.voidOf !== undefined && stored.voidOf !== null) record.voidOf = str(stored.voidOf);
  if (stored.transmitBy !== undefined && stored.transmitBy !== null) record.transmitBy = str(stored.transmitBy);
  return record;
}

/** Lists a ledger's records in sequence order. */
export function listRecords(doc: LedgerDoc): LedgerRecord[] {
  return Object.values(doc.records)
    .map(readRecord)
    .sort((a, b) => a.seq - b.seq);
}

/** Counts a ledger's records without reading them. */
export function countRecords(doc: LedgerDoc | undefined): number {
  return Object.keys(doc?.records ?? {}).length;
}

/** Returns the highest sequence number in a ledger, or `firstSeq - 1` when it is empty. */
export function maxSeq(doc: LedgerDoc | undefined): number {
  if (!doc?.records) return 0;
  let max = doc.firstSeq - 1;
  for (const stored of Object.values(doc.records)) {
    if (stored.seq > max) max = stored.seq;
  }
  return max;
}

/** Makes the id of a terminal's record: unique because a terminal never reuses a sequence number. */
export function recordId(branch: string, terminal: string, seq: number): string {
  return `${branch}-${terminal}-${String(seq).padStart(8, "0")}`;
}
