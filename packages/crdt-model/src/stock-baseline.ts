import { isImmutableString } from "@automerge/automerge";
import type { ImmutableString } from "@automerge/automerge";
import type { StockBaselineDoc, StockBucketDoc } from "./schema.ts";
import { SCHEMA_VERSION } from "./schema.ts";
import { imm, optStr, str } from "./strings.ts";

/**
 * Buckets of a baseline's stock map. With the 12,513 SKUs of the bundled
 * catalog a bucket holds about 100 SKUs, so a publish that moves a few
 * dozen SKUs rewrites a few dozen short strings, not the whole map.
 */
export const STOCK_BUCKETS = 128;

/**
 * Key of the bucket of moved SKUs in a baseline's stock map: a map of units
 * per SKU that every publish writes into, whose values override the SKU's
 * own bucket. A rewritten bucket string stays in the document's history. In
 * a script with 50 baselines of the bundled catalog, 500 publishes of 12
 * SKUs took Automerge's memory from 28 MB to 87 MB with rewritten strings,
 * and to 40 MB with numbers in this map.
 * The key sorts after every hashed bucket, so a materialized document lists
 * it last. Terminals of earlier versions apply the buckets in that order and
 * read a moved SKU from the bucket its patch names, so they read the same
 * stock. Only their `readBaselineStock` misses moved SKUs, and no terminal
 * calls it.
 */
export const MOVED_BUCKET = "moved";

/**
 * Reads one bucket of a baseline's stock: the JSON string the relay writes
 * now, or the map of units per SKU of older baselines. A map costs one
 * Automerge operation per SKU (8.3 MB of memory measured for a baseline of
 * the bundled catalog), a string one operation per bucket.
 */
export function readStockBucket(value: StockBucketDoc | undefined): Record<string, number> {
  if (value === undefined || value === null) return {};
  if (isImmutableString(value) || typeof value === "string") {
    const text = str(value);
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new Error(`Stock bucket ${JSON.stringify(text.slice(0, 40))} is invalid: expected a JSON object of units per SKU. The stock baseline document is damaged; restore the relay's data folder from a backup.`);
    }
    return parsed as Record<string, number>;
  }
  return value;
}

function writeStockBucket(units: Record<string, number>): ImmutableString {
  return imm(JSON.stringify(units));
}

export interface StockBaselineInit {
  branch: string;
  epoch: number;
  previousUrl: string | null;
  openedAt: string;
  businessDay: string;
  /** Units per SKU. */
  stock: Record<string, number>;
  /** Highest contiguous sequence number folded into `stock`, per terminal. */
  applied: Record<string, number>;
  /** Where oversell detection starts, per terminal; see `StockBaselineDoc.windowApplied`. */
  windowApplied: Record<string, number>;
  /** The `applied` marks when the current business day began. */
  dayStartApplied: Record<string, number>;
}

/** The bucket of a SKU in a baseline's stock map: FNV-1a of the SKU, modulo `STOCK_BUCKETS`, in hex. */
export function stockBucket(sku: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < sku.length; i++) {
    hash ^= sku.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash % STOCK_BUCKETS).toString(16).padStart(2, "0");
}

/**
 * Builds the value of a stock baseline document, a full snapshot. Every
 * bucket and every terminal's marks are created here by the relay, the
 * document's only writer.
 */
export function initStockBaseline(init: StockBaselineInit): StockBaselineDoc {
  const buckets: Record<string, Record<string, number>> = {};
  for (let bucket = 0; bucket < STOCK_BUCKETS; bucket++) buckets[bucket.toString(16).padStart(2, "0")] = {};
  for (const [sku, units] of Object.entries(init.stock)) {
    if (!Number.isSafeInteger(units)) throw new Error(`Stock for SKU ${sku} must be a whole number of units, got ${units}`);
    buckets[stockBucket(sku)]![sku] = units;
  }
  const stock: Record<string, StockBucketDoc> = {};
  for (const [bucket, units] of Object.entries(buckets)) stock[bucket] = writeStockBucket(units);
  stock[MOVED_BUCKET] = {};
  return {
    schema: SCHEMA_VERSION,
    type: imm("stock-baseline"),
    branch: imm(init.branch),
    epoch: init.epoch,
    previousUrl: init.previousUrl === null ? null : imm(init.previousUrl),
    openedAt: imm(init.openedAt),
    businessDay: imm(init.businessDay),
    stock,
    applied: { ...init.applied },
    windowApplied: { ...init.windowApplied },
    dayStartApplied: { ...init.dayStartApplied },
  };
}

/**
 * Number of SKUs in one publish from which `writeBaselineStock` folds the
 * bucket of moved SKUs back into the hashed buckets. Each SKU written into that map
 * is one Automerge operation, for the relay and for every terminal that
 * applies the change. In the catch-up bench (8,000 tickets) the relay spent
 * 0.73 s of its main thread on one publish of 6,000 SKUs. In a script with
 * a baseline of the bundled catalog, 4,000 SKUs took 130-220 ms as numbers
 * in the map and 21-23 ms as a fold. A fold rewrites at most
 * `STOCK_BUCKETS` strings (a change of about 240 KB), whatever the number
 * of SKUs.
 */
export const MOVED_FOLD_MIN_SKUS = 512;

/**
 * Writes folded stock inside a `change()` callback of the relay: the new
 * units of every SKU that moved and the new `applied` marks, in one change,
 * so no replica ever sees stock and marks that disagree. A publish of fewer
 * than `MOVED_FOLD_MIN_SKUS` SKUs writes them as numbers into the bucket of
 * moved SKUs. A larger one rewrites the hashed buckets of every SKU in that
 * bucket or in `units`, then replaces the bucket of moved SKUs with an
 * empty map.
 */
export function writeBaselineStock(
  doc: StockBaselineDoc,
  units: ReadonlyMap<string, number>,
  applied: Readonly<Record<string, number>>,
): void {
  const moved = doc.stock[MOVED_BUCKET];
  if (!isMapBucket(moved)) {
    writeHashedBuckets(doc, units);
  } else if (units.size < MOVED_FOLD_MIN_SKUS) {
    for (const [sku, value] of units) moved[sku] = value;
  } else {
    const folded = new Map(Object.entries(moved));
    for (const [sku, value] of units) folded.set(sku, value);
    writeHashedBuckets(doc, folded);
    doc.stock[MOVED_BUCKET] = {};
  }
  for (const [terminal, seq] of Object.entries(applied)) {
    if ((doc.applied[terminal] ?? 0) < seq) doc.applied[terminal] = seq;
  }
}

/** Tells whether a bucket is a map of units per SKU rather than a JSON string. */
function isMapBucket(value: StockBucketDoc | undefined): value is Record<string, number> {
  return value !== undefined && value !== null && !isImmutableString(value) && typeof value !== "string";
}

/** Writes units into each SKU's own bucket: in baselines opened before the bucket of moved SKUs, and when a large publish folds that bucket. */
function writeHashedBuckets(doc: StockBaselineDoc, units: ReadonlyMap<string, number>): void {
  const byBucket = new Map<string, [string, number][]>();
  for (const [sku, value] of units) {
    const bucket = stockBucket(sku);
    const list = byBucket.get(bucket) ?? [];
    list.push([sku, value]);
    byBucket.set(bucket, list);
  }
  for (const [bucket, entries] of byBucket) {
    const current = doc.stock[bucket];
    if (isMapBucket(current)) {
      // An older baseline keeps its map buckets. Each read through the change's
      // proxy is a call into Automerge, so values are written without reading them first.
      for (const [sku, value] of entries) current[sku] = value;
      continue;
    }
    // The relay is the only writer, so rewriting the whole bucket loses no concurrent write.
    const next = readStockBucket(current);
    for (const [sku, value] of entries) next[sku] = value;
    doc.stock[bucket] = writeStockBucket(next);
  }
}

/** Reads the units of one SKU, or null when the baseline has no entry for it. */
export function readBaselineStock(doc: StockBaselineDoc, sku: string): number | null {
  const moved = doc.stock[MOVED_BUCKET];
  const units = isMapBucket(moved) ? moved[sku] : undefined;
  return units ?? readStockBucket(doc.stock[stockBucket(sku)])[sku] ?? null;
}

/** Reads the units of every SKU. */
export function readAllBaselineStock(doc: StockBaselineDoc): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, bucket] of Object.entries(doc.stock)) {
    if (key !== MOVED_BUCKET) Object.assign(out, readStockBucket(bucket));
  }
  return Object.assign(out, readStockBucket(doc.stock[MOVED_BUCKET]));
}

/** The fields of a baseline other than its stock. */
export interface BaselineInfo {
  branch: string;
  epoch: number;
  previousUrl: string | null;
  openedAt: string;
  businessDay: string;
  applied: Record<string, number>;
  windowApplied: Record<string, number>;
  dayStartApplied: Record<string, number>;
}

/** Reads a baseline's marks and identity. */
export function readBaselineInfo(doc: StockBaselineDoc): BaselineInfo {
  return {
    branch: str(doc.branch),
    epoch: doc.epoch,
    previousUrl: optStr(doc.previousUrl),
    openedAt: str(doc.openedAt),
    businessDay: str(doc.businessDay),
    applied: { ...doc.applied },
    windowApplied: { ...doc.windowApplied },
    dayStartApplied: { ...doc.dayStartApplied },
  };
}
