import type { StockBaselineDoc } from "./schema.ts";
import { MOVED_BUCKET, readAllBaselineStock, readBaselineInfo, readStockBucket } from "./stock-baseline.ts";
import type { StockLine } from "./types.ts";
import { SkuUnits } from "./sku-units.ts";

/** The part of a record that `AvailableStock` reads: its terminal, its sequence number and its stock deltas. */
export interface StockMovement {
  terminal: string;
  seq: number;
  stock: readonly StockLine[];
}

/**
 * Available stock as one replica sees it: the baseline the relay published
 * plus the deltas of every record the replica holds above
 * `applied[record.terminal]`. Both halves are updated incrementally: a new
 * record adds its deltas once, and a baseline change that folds records in
 * moves their deltas from the pending sum into the baseline values.
 */
export class AvailableStock {
  readonly #baseline = new SkuUnits();
  readonly #applied = new Map<string, number>();
  /** Stock lines of every record held, by terminal and sequence number. */
  readonly #held = new Map<string, Map<number, readonly StockLine[]>>();
  /** Sum of the deltas of held records above their terminal's applied mark, per SKU. */
  readonly #pending = new Map<string, number>();
  /** SKUs whose available units are below zero, kept as values move, so reading them costs nothing per SKU. */
  readonly #negative = new Set<string>();

  /** Replaces the baseline with every value and mark of a baseline document. */
  loadBaseline(doc: StockBaselineDoc): void {
    this.#baseline.clear();
    this.#negative.clear();
    if (doc.stock) {
      for (const [sku, units] of Object.entries(readAllBaselineStock(doc))) this.#setBaselineValue(sku, units);
    }
    this.#setApplied(readBaselineInfo(doc).applied, true);
  }

  /**
   * Applies a change of the baseline document from its patches: rewritten
   * buckets at `["stock", bucket]`, values of map buckets (the bucket of
   * moved SKUs among them) at `["stock", bucket, sku]`, and marks at
   * `["applied", terminal]`.
   * Any other patch of the stock or the marks reloads the whole baseline.
   */
  applyBaselinePatches(doc: StockBaselineDoc, patches: readonly { path: readonly (string | number)[] }[]): void {
    const marks: Record<string, number> = {};
    for (const patch of patches) {
      const [root, key, sku] = patch.path;
      if (root === "stock" && typeof key === "string" && typeof sku === "string" && patch.path.length === 3) {
        const units = readStockBucket(doc.stock[key])[sku];
        if (typeof units === "number") this.#setBaselineValue(sku, units);
      } else if (root === "stock" && typeof key === "string" && patch.path.length === 2) {
        const moved = key === MOVED_BUCKET ? {} : readStockBucket(doc.stock[MOVED_BUCKET]);
        for (const [entry, units] of Object.entries(readStockBucket(doc.stock[key]))) {
          if (!(entry in moved)) this.#setBaselineValue(entry, units);
        }
      } else if (root === "applied" && typeof key === "string" && patch.path.length === 2) {
        marks[key] = doc.applied[key] ?? 0;
      } else if (root === "stock" || root === "applied") {
        this.loadBaseline(doc);
        return;
      }
    }
    this.#setApplied(marks, false);
  }

  /** Sets baseline values and marks directly, as the relay does with what it folded. */
  updateBaseline(units: Iterable<[string, number]>, applied: Readonly<Record<string, number>>): void {
    for (const [sku, value] of units) this.#setBaselineValue(sku, value);
    this.#setApplied(applied, false);
  }

  /** Adds a record the replica now holds; a record already held is not counted again. */
  addRecord(movement: StockMovement): void {
    let perTerminal = this.#held.get(movement.terminal);
    if (!perTerminal) {
      perTerminal = new Map();
      this.#held.set(movement.terminal, perTerminal);
    }
    if (perTerminal.has(movement.seq)) return;
    perTerminal.set(movement.seq, movement.stock);
    if (movement.seq > this.applied(movement.terminal)) this.#addPending(movement.stock, 1);
  }

  /** Forgets a record, as when a ledger leaves the live set. */
  removeRecord(movement: Pick<StockMovement, "terminal" | "seq">): void {
    const perTerminal = this.#held.get(movement.terminal);
    const lines = perTerminal?.get(movement.seq);
    if (!perTerminal || !lines) return;
    perTerminal.delete(movement.seq);
    if (movement.seq > this.applied(movement.terminal)) this.#addPending(lines, -1);
  }

  /** Returns the highest sequence number of a terminal folded into the baseline. */
  applied(terminal: string): number {
    return this.#applied.get(terminal) ?? 0;
  }

  /** Returns every terminal's applied mark. */
  appliedMarks(): Record<string, number> {
    return Object.fromEntries(this.#applied);
  }

  /** Available units of a SKU, or null when neither the baseline nor any held record names it. */
  stockOf(sku: string): number | null {
    const base = this.#baseline.get(sku);
    const pending = this.#pending.get(sku);
    if (base === undefined && pending === undefined) return null;
    return (base ?? 0) + (pending ?? 0);
  }

  /** Available units of every SKU the baseline or a held record names. */
  all(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.#baseline.entries());
    for (const [sku, delta] of this.#pending) out[sku] = (out[sku] ?? 0) + delta;
    return out;
  }

  /** SKUs whose available units are below zero, with their units. */
  negative(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const sku of this.#negative) out[sku] = this.stockOf(sku)!;
    return out;
  }

  #setBaselineValue(sku: string, units: number): void {
    this.#baseline.set(sku, units);
    this.#recheck(sku);
  }

  #recheck(sku: string): void {
    if ((this.#baseline.get(sku) ?? 0) + (this.#pending.get(sku) ?? 0) < 0) this.#negative.add(sku);
    else this.#negative.delete(sku);
  }

  /** Moves marks, and the deltas of the held records they now cover or no longer cover. */
  #setApplied(marks: Readonly<Record<string, number>>, replace: boolean): void {
    const terminals = new Set([...Object.keys(marks), ...(replace ? this.#applied.keys() : [])]);
    for (const terminal of terminals) {
      const before = this.applied(terminal);
      const after = marks[terminal] ?? 0;
      if (after === before) continue;
      this.#applied.set(terminal, after);
      const low = Math.min(before, after);
      const high = Math.max(before, after);
      const sign = after > before ? -1 : 1;
      for (const [seq, lines] of this.#held.get(terminal) ?? []) {
        if (seq > low && seq <= high) this.#addPending(lines, sign);
      }
    }
  }

  #addPending(lines: readonly StockLine[], sign: 1 | -1): void {
    for (const line of lines) {
      const next = (this.#pending.get(line.sku) ?? 0) + sign * line.delta;
      // A SKU the baseline lacks keeps its zero, so it still reads as 0 and not as unknown.
      if (next === 0 && this.#baseline.has(line.sku)) this.#pending.delete(line.sku);
      else this.#pending.set(line.sku, next);
      this.#recheck(line.sku);
    }
  }
}
