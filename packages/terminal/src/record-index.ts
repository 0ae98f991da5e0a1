import type { KeyObject } from "node:crypto";
import {
  RecordFormatError,
  canonicalJson,
  describeRecordEdit,
  genesisHash,
  readStoredRecord,
  recordId,
  storedJson,
  storedRecord,
  storedRecords,
  verifyRecordIntegrity,
} from "@mercora/crdt-model";
import type { AnyLedgerDoc, LedgerRecord } from "@mercora/crdt-model";

/**
 * Maximum time of record checks in one turn of the event loop, in
 * milliseconds: a start with thousands of records to verify delays a sale
 * by at most about this much, so a sale that waits for one slice can still
 * meet the 2.5 ms p99 acknowledgement goal of `docs/benchmarks.md`.
 */
export const VERIFY_SLICE_MS = 1;

/**
 * Quiet time after a write before record checks run, in milliseconds, so a
 * slice of checks does not delay the next sale of a busy cashier.
 */
export const VERIFY_QUIET_MS = 50;

/**
 * Maximum time pending checks wait for quiet, in milliseconds; after it
 * one slice runs anyway. The first checks also wait this long after the
 * index is created, so a cold start serves its first sale first.
 */
export const VERIFY_MAX_WAIT_MS = 1000;

export interface RecordIndexOptions {
  /** This terminal's id: its own records go to the request index. */
  terminal: string;
  /** Public keys a cashier signed with, from the permissions document. */
  signerKeys: (cashier: string) => KeyObject[];
  /** Called once for every record added to the index. */
  onAdded: (record: LedgerRecord) => void;
  /** Called when a record fails its hash, signature or chain check, or was edited after it was first seen. */
  onIntegrity: (record: LedgerRecord, detail: string) => void;
}

/**
 * The records of the ledgers a terminal keeps in memory, indexed from each
 * change's patches: a change that adds one record costs one record,
 * whatever the ledger's length. New records are verified (hash, signature,
 * chain link) in small batches off the sale path, and a record seen before
 * whose stored form changes is reported as edited.
 */
export class RecordIndex {
  readonly #options: RecordIndexOptions;
  readonly #records = new Map<string, LedgerRecord>();
  /** Stored JSON of each version 2 record as first seen, to tell an edit from a repeat. */
  readonly #stored = new Map<string, string>();
  readonly #requests = new Map<string, string>();
  readonly #byLedger = new Map<string, Set<string>>();
  readonly #flagged = new Set<string>();
  #unverified: LedgerRecord[] = [];
  /** True when records were added to `#unverified` since it was last sorted. */
  #unsorted = false;
  #verifying = false;
  /** `performance.now()` from which checks may run without delaying a write. */
  #quietFrom: number;
  /** `performance.now()` of the last slice of checks (the index's creation before the first). */
  #lastSlice: number;

  constructor(options: RecordIndexOptions) {
    this.#options = options;
    this.#lastSlice = performance.now();
    this.#quietFrom = this.#lastSlice + VERIFY_MAX_WAIT_MS;
  }

  /** Notes a write in progress: pending checks wait for `VERIFY_QUIET_MS` of quiet after it. */
  busy(): void {
    this.#quietFrom = Math.max(this.#quietFrom, performance.now() + VERIFY_QUIET_MS);
  }

  get(id: string): LedgerRecord | undefined {
    return this.#records.get(id);
  }

  values(): IterableIterator<LedgerRecord> {
    return this.#records.values();
  }

  get size(): number {
    return this.#records.size;
  }

  /**
   * Returns the id of this terminal's record made for a client request id,
   * if any. NOTE: only records in memory count, so a request retried after
   * its ledger left the live set (days later) is recorded again.
   */
  byRequest(requestId: string): string | undefined {
    return this.#requests.get(requestId);
  }

  /** True when an integrity problem of the record was reported. */
  flagged(id: string): boolean {
    return this.#flagged.has(id);
  }

  /**
   * Adds a record this terminal is writing, before its change is applied,
   * so the change's own patches find it known. It is not verified (the
   * terminal just sealed it) and `onAdded` is not called: the writer counts
   * it once the change is applied, or calls `forget` when it failed.
   */
  remember(record: LedgerRecord, json: string, documentId: string): void {
    this.#add(record, json, documentId, false);
  }

  /** Drops one record remembered for a change that failed. */
  forget(id: string): void {
    const record = this.#records.get(id);
    if (!record) return;
    this.#records.delete(id);
    this.#stored.delete(id);
    if (record.requestId) this.#requests.delete(record.requestId);
    for (const ids of this.#byLedger.values()) ids.delete(id);
  }

  /**
   * Indexes the records of a ledger that a change touched, or all of them
   * when `touched` is null (a ledger just opened). Returns the records
   * added.
   */
  index(documentId: string, doc: AnyLedgerDoc, touched: ReadonlySet<string> | null): LedgerRecord[] {
    if (!doc?.records) return [];
    const entries = touched === null ? storedRecords(doc) : [...touched].map((id) => storedRecord(doc, id)).filter((e) => e !== null);
    const added: LedgerRecord[] = [];
    for (const { id, stored } of entries) {
      const json = storedJson(stored);
      const original = this.#records.get(id);
      if (original && json !== null && json === this.#stored.get(id)) continue;
      let record: LedgerRecord;
      try {
        record = readStoredRecord(id, stored);
      } catch (error) {
        if (!(error instanceof RecordFormatError)) throw error;
        if (original) this.#flag(original, `final record edited after it was recorded: ${error.message}`);
        continue;
      }
      if (original) {
        if (canonicalJson(record) !== canonicalJson(original)) {
          this.#flag(
            original,
            `final record edited after it was recorded: ${describeRecordEdit(original, record).join("; ")}; ` +
              `the original values match hash ${original.hash.slice(0, 16)}…`,
          );
        }
        continue;
      }
      this.#add(record, json, documentId, true);
      this.#unverified.push(record);
      this.#unsorted = true;
      added.push(record);
    }
    if (added.length > 0) this.#scheduleVerify();
    return added;
  }

  /** Drops a ledger's records from memory; returns them. */
  forgetLedger(documentId: string): LedgerRecord[] {
    const ids = this.#byLedger.get(documentId) ?? new Set<string>();
    this.#byLedger.delete(documentId);
    const out: LedgerRecord[] = [];
    for (const id of ids) {
      const record = this.#records.get(id);
      if (!record) continue;
      this.#records.delete(id);
      this.#stored.delete(id);
      if (record.requestId) this.#requests.delete(record.requestId);
      out.push(record);
    }
    return out;
  }

  #add(record: LedgerRecord, json: string | null, documentId: string, notify: boolean): void {
    this.#records.set(record.id, record);
    if (json !== null) this.#stored.set(record.id, json);
    if (record.requestId && record.terminal === this.#options.terminal) this.#requests.set(record.requestId, record.id);
    let ids = this.#byLedger.get(documentId);
    if (!ids) {
      ids = new Set();
      this.#byLedger.set(documentId, ids);
    }
    ids.add(record.id);
    if (notify) this.#options.onAdded(record);
  }

  #scheduleVerify(): void {
    if (this.#verifying) return;
    this.#verifying = true;
    setImmediate(() => this.#verifyBatch());
  }

  #verifyBatch(): void {
    const now = performance.now();
    if (now < this.#quietFrom && now - this.#lastSlice < VERIFY_MAX_WAIT_MS) {
      const wait = Math.min(this.#quietFrom - now, this.#lastSlice + VERIFY_MAX_WAIT_MS - now);
      setTimeout(() => this.#verifyBatch(), Math.ceil(wait)).unref();
      return;
    }
    this.#lastSlice = now;

    // Sorted oldest last, so `pop` takes the oldest record first.
    if (this.#unsorted) this.#unverified.sort((a, b) => b.seq - a.seq);
    this.#unsorted = false;
    while (this.#unverified.length > 0 && performance.now() - now < VERIFY_SLICE_MS) {
      const record = this.#unverified.pop()!;
      const previous = record.seq === 1 ? null : this.#records.get(recordId(record.branch, record.terminal, record.seq - 1));
      const expected = record.seq === 1 ? genesisHash(record.branch, record.terminal) : (previous?.hash ?? null);
      const signer = record.cashier ? this.#options.signerKeys(record.cashier) : [];
      const failure = verifyRecordIntegrity(record, expected, signer, this.#stored.get(record.id) ?? null);
      if (failure) this.#flag(record, failure);
    }
    if (this.#unverified.length > 0) setImmediate(() => this.#verifyBatch());
    else this.#verifying = false;
  }

  #flag(record: LedgerRecord, detail: string): void {
    if (this.#flagged.has(record.id)) return;
    this.#flagged.add(record.id);
    this.#options.onIntegrity(record, detail);
  }
}
