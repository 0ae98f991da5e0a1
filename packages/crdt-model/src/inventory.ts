import { Counter } from "@automerge/automerge";
import type { InventoryDoc } from "./schema.ts";
import { SCHEMA_VERSION } from "./schema.ts";
import { imm, optStr, str } from "./strings.ts";
import type { StockLine } from "./types.ts";

export interface InventoryEpochInit {
  branch: string;
  epoch: number;
  previousUrl: string | null;
  openedAt: string;
  /** Opening stock per SKU. Every SKU the branch may move needs an entry, even at 0. */
  opening: Record<string, number>;
  /** Highest sequence number already counted in `opening`, per writer (terminals and "relay"). */
  applied: Record<string, number>;
}

/**
 * Builds the value of an inventory epoch document. Every `Counter` and every
 * writer's `applied` entry is created here, by one writer, so no terminal
 * ever creates a counter that another terminal may create concurrently.
 */
export function initInventoryEpoch(init: InventoryEpochInit): InventoryDoc {
  const stock: Record<string, Counter> = {};
  for (const [sku, units] of Object.entries(init.opening)) {
    if (!Number.isInteger(units)) {
      throw new Error(`Opening stock for SKU ${sku} must be an integer, got ${units}`);
    }
    stock[sku] = new Counter(units);
  }
  return {
    schema: SCHEMA_VERSION,
    type: imm("inventory"),
    branch: imm(init.branch),
    epoch: init.epoch,
    previousUrl: init.previousUrl === null ? null : imm(init.previousUrl),
    openedAt: imm(init.openedAt),
    stock,
    applied: { ...init.applied },
    openingApplied: { ...init.applied },
  };
}

/**
 * Applies one record's stock lines inside a `change()` callback and marks the
 * record's sequence number as applied, in the same change. A record at or
 * below the writer's applied mark is skipped, so a record is never counted
 * twice. Returns false when it was skipped.
 */
export function applyStockMovement(
  doc: InventoryDoc,
  writer: string,
  seq: number,
  lines: StockLine[],
): boolean {
  const applied = doc.applied[writer];
  if (applied === undefined) {
    throw new Error(
      `Inventory epoch ${doc.epoch} of branch ${str(doc.branch)} has no entry for writer ${writer}; ` +
        "the relay must add the terminal to the branch before it records stock",
    );
  }
  if (seq <= applied) return false;
  for (const line of lines) {
    const counter = doc.stock[line.sku];
    if (!counter) {
      throw new Error(
        `Inventory epoch ${doc.epoch} has no counter for SKU ${line.sku}; the relay creates counters for catalog SKUs`,
      );
    }
    if (line.delta !== 0) counter.increment(line.delta);
  }
  doc.applied[writer] = seq;
  return true;
}

/** Reads the merged stock of one SKU, or null when the epoch has no counter for it. */
export function readStock(doc: InventoryDoc, sku: string): number | null {
  const counter = doc.stock[sku];
  return counter ? counter.value : null;
}

/** Reads the merged stock of every SKU. */
export function readAllStock(doc: InventoryDoc): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [sku, counter] of Object.entries(doc.stock)) out[sku] = counter.value;
  return out;
}

/** Reads the applied mark of a writer, or null when the epoch does not know it. */
export function readApplied(doc: InventoryDoc, writer: string): number | null {
  return doc.applied[writer] ?? null;
}

/** Reads the applied marks the epoch opened with. */
export function readOpeningApplied(doc: InventoryDoc): Record<string, number> {
  return { ...doc.openingApplied };
}

/** Reads the epoch's previous document URL. */
export function readPreviousEpoch(doc: InventoryDoc): string | null {
  return optStr(doc.previousUrl);
}
