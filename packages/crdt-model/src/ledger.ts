import { ImmutableString } from "@automerge/automerge";
import { canonicalJson } from "./integrity.ts";
import type { AnyLedgerDoc, LedgerDoc, LedgerDocV1, LedgerRecordDoc } from "./schema.ts";
import { SCHEMA_V2, SCHEMA_VERSION } from "./schema.ts";
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

/** Records per bucket of a version 2 ledger: bucket `n` contains sequence numbers `n * 100` to `n * 100 + 99`. */
export const LEDGER_BUCKET_SIZE = 100;

export interface LedgerInit {
  branch: string;
  terminal: string;
  businessDay: string;
  part: number;
  firstSeq: number;
}

/** A stored record that is not a readable record: bad JSON, or fields of the wrong type. */
export class RecordFormatError extends Error {
  override readonly name = "RecordFormatError";

  constructor(
    readonly recordId: string,
    reason: string,
  ) {
    super(`Stored record ${recordId} is unreadable: ${reason}`);
  }
}

/**
 * Builds the initial value of a ledger document for one terminal, business
 * day and part, with an empty bucket for every sequence number the part can
 * hold (see `ledgerBucketsReady`).
 */
export function initLedger(init: LedgerInit): LedgerDoc {
  const records: LedgerDoc["records"] = {};
  for (let bucket = Number(ledgerBucket(init.firstSeq)); bucket <= Number(ledgerBucket(init.firstSeq + LEDGER_PART_CAP - 1)); bucket++) {
    records[String(bucket)] = {};
  }
  return {
    schema: SCHEMA_VERSION,
    type: imm("ledger"),
    branch: imm(init.branch),
    terminal: imm(init.terminal),
    businessDay: imm(init.businessDay),
    part: init.part,
    firstSeq: init.firstSeq,
    records,
  };
}

/**
 * True when a version 2 ledger already has the bucket of the last sequence
 * number its part can hold, so appending a record never creates a bucket.
 * Such an append puts one key in an existing map, and making it again from
 * the record's JSON gives the same value under the same key. So a terminal
 * that lost the change after a peer received it can append the record
 * again from its write-ahead log without hiding anything. A change that
 * creates a bucket cannot be made again that way, since two maps created
 * under one key conflict and only one of them shows.
 */
export function ledgerBucketsReady(doc: AnyLedgerDoc): boolean {
  return !isLedgerV1(doc) && doc.records[ledgerBucket(doc.firstSeq + LEDGER_PART_CAP - 1)] !== undefined;
}

/** Tells a version 1 ledger (records as nested objects) from a version 2 one. */
export function isLedgerV1(doc: AnyLedgerDoc): doc is LedgerDocV1 {
  return (doc.schema ?? 1) < SCHEMA_V2;
}

/** The bucket key of a sequence number in a version 2 ledger. */
export function ledgerBucket(seq: number): string {
  return String(Math.floor(seq / LEDGER_BUCKET_SIZE));
}

/**
 * Appends a record inside a `change()` callback, as one `ImmutableString`
 * of its canonical JSON. Records are keyed by id, so the same record
 * arriving twice is one record. A different record under an existing id,
 * a record of another terminal and an append to a version 1 ledger are
 * rejected. `json` is `canonicalJson(record)`, for a caller that already
 * has it. Returns the stored JSON.
 */
export function appendRecord(doc: AnyLedgerDoc, record: LedgerRecord, json = canonicalJson(record)): string {
  checkAppend(doc, record);
  const bucketKey = ledgerBucket(record.seq);
  // Only the ledger's terminal writes it, so creating a bucket here never races another writer. Ledgers made by
  // `initLedger` have every bucket already, so only older ledgers take this branch.
  // Assigning a new map through the proxy returns the plain object, so the bucket is read back.
  const records = doc.records;
  if (!records[bucketKey]) records[bucketKey] = {};
  records[bucketKey]![record.id] = imm(json);
  return json;
}

/**
 * Throws the error `appendRecord` would throw for this record, without a
 * change: a record of another terminal, a version 1 ledger, or an id the
 * ledger already holds. A writer that logs a record before its change
 * checks it with this first.
 */
export function checkAppend(doc: AnyLedgerDoc, record: LedgerRecord): asserts doc is LedgerDoc {
  if (record.terminal !== str(doc.terminal)) {
    throw new Error(
      `Record ${record.id} belongs to terminal ${record.terminal}, not to ledger owner ${str(doc.terminal)}`,
    );
  }
  if (isLedgerV1(doc)) {
    throw new Error(
      `Ledger of ${str(doc.terminal)} for ${str(doc.businessDay)} has schema version ${doc.schema}, which is read-only; ` +
        "append to a new ledger part",
    );
  }
  if (doc.records[ledgerBucket(record.seq)]?.[record.id]) {
    throw new Error(`Ledger already holds a record with id ${record.id}; records are never edited`);
  }
}

/** Reads one stored record of either version as a plain object; throws `RecordFormatError` when it is unreadable. */
export function readStoredRecord(id: string, stored: ImmutableString | LedgerRecordDoc | string): LedgerRecord {
  if (typeof stored === "string" || stored instanceof ImmutableString) return parseRecordJson(id, str(stored));
  return readRecord(stored);
}

/** The raw JSON of a stored version 2 record, or null for a version 1 record. */
export function storedJson(stored: unknown): string | null {
  if (typeof stored === "string") return stored;
  return stored instanceof ImmutableString ? stored.val : null;
}

const STRING_FIELDS = ["id", "kind", "branch", "terminal", "hlc", "at", "businessDay", "timeZone", "prevHash", "hash", "signature"] as const;

/** Parses the canonical JSON of a record, checking the fields every reader relies on. */
export function parseRecordJson(id: string, json: string): LedgerRecord {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new RecordFormatError(id, `not JSON (${(error as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new RecordFormatError(id, "not a JSON object");
  const record = value as Record<string, unknown>;
  for (const field of STRING_FIELDS) {
    if (typeof record[field] !== "string") throw new RecordFormatError(id, `field ${field} is not a string`);
  }
  if (!Number.isSafeInteger(record.seq)) throw new RecordFormatError(id, "field seq is not a whole number");
  for (const field of ["lines", "tenders", "stock"]) {
    if (!Array.isArray(record[field])) throw new RecordFormatError(id, `field ${field} is not a list`);
  }
  if (record.id !== id) throw new RecordFormatError(id, `it carries id ${String(record.id)}`);
  return value as LedgerRecord;
}

/** Reads one version 1 stored record as a plain object. */
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

/** A record as stored: its id and the stored value of either version. */
export interface StoredRecordEntry {
  id: string;
  stored: ImmutableString | LedgerRecordDoc;
}

/** Lists the stored records of a ledger of either version, unread. */
export function storedRecords(doc: AnyLedgerDoc): StoredRecordEntry[] {
  if (!doc?.records) return [];
  if (isLedgerV1(doc)) return Object.entries(doc.records).map(([id, stored]) => ({ id, stored }));
  const out: StoredRecordEntry[] = [];
  for (const bucket of Object.values(doc.records)) {
    for (const [id, stored] of Object.entries(bucket ?? {})) out.push({ id, stored });
  }
  return out;
}

/** Finds a stored record by id, or null. */
export function storedRecord(doc: AnyLedgerDoc, id: string): StoredRecordEntry | null {
  if (!doc?.records) return null;
  if (isLedgerV1(doc)) {
    const stored = doc.records[id];
    return stored ? { id, stored } : null;
  }
  const seq = seqOfRecordId(id);
  const stored = seq === null ? undefined : doc.records[ledgerBucket(seq)]?.[id];
  return stored ? { id, stored } : null;
}

/** Lists a ledger's records in sequence order; unreadable records are left out. */
export function listRecords(doc: AnyLedgerDoc): LedgerRecord[] {
  const out: LedgerRecord[] = [];
  for (const { id, stored } of storedRecords(doc)) {
    try {
      out.push(readStoredRecord(id, stored));
    } catch (error) {
      if (!(error instanceof RecordFormatError)) throw error;
    }
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/** Counts a ledger's records without reading them. */
export function countRecords(doc: AnyLedgerDoc | undefined): number {
  if (!doc?.records) return 0;
  if (isLedgerV1(doc)) return Object.keys(doc.records).length;
  let count = 0;
  for (const bucket of Object.values(doc.records)) count += Object.keys(bucket ?? {}).length;
  return count;
}

/** Returns the highest sequence number in a ledger, or `firstSeq - 1` when it is empty. */
export function maxSeq(doc: AnyLedgerDoc | undefined): number {
  if (!doc?.records) return 0;
  let max = doc.firstSeq - 1;
  if (isLedgerV1(doc)) {
    for (const stored of Object.values(doc.records)) if (stored.seq > max) max = stored.seq;
    return max;
  }
  const buckets = Object.keys(doc.records).map(Number).sort((a, b) => b - a);
  for (const bucket of buckets) {
    for (const id of Object.keys(doc.records[String(bucket)] ?? {})) {
      const seq = seqOfRecordId(id);
      if (seq !== null && seq > max) max = seq;
    }
    if (max >= doc.firstSeq) return max;
  }
  return max;
}

/**
 * Lists the ids of the records a change touched, from its patches. In a
 * version 2 ledger a patch names `["records", bucket, id]`, or a bucket the
 * change created, whose records all count. In a version 1 ledger it names
 * `["records", id, ...]`.
 */
export function touchedRecordIds(doc: AnyLedgerDoc, patches: readonly { path: readonly (string | number)[] }[]): Set<string> {
  const out = new Set<string>();
  const v1 = isLedgerV1(doc);
  for (const patch of patches) {
    if (patch.path[0] !== "records") continue;
    if (v1) {
      if (typeof patch.path[1] === "string") out.add(patch.path[1]);
      continue;
    }
    const bucket = patch.path[1];
    const id = patch.path[2];
    if (typeof id === "string") out.add(id);
    else if (typeof bucket === "string" && patch.path.length === 2) {
      for (const key of Object.keys((doc as LedgerDoc).records[bucket] ?? {})) out.add(key);
    } else if (patch.path.length === 1) {
      for (const { id: key } of storedRecords(doc)) out.add(key);
    }
  }
  return out;
}

/** Makes the id of a terminal's record: unique because a terminal never reuses a sequence number. */
export function recordId(branch: string, terminal: string, seq: number): string {
  return `${branch}-${terminal}-${String(seq).padStart(8, "0")}`;
}

/** Reads the sequence number at the end of a record id, or null when the id has another form. */
export function seqOfRecordId(id: string): number | null {
  const match = /-(\d{8,})$/.exec(id);
  return match ? Number(match[1]) : null;
}
