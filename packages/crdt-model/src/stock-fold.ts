import type { StockMovement } from "./available-stock.ts";
import { SkuUnits } from "./sku-units.ts";

/** Changes folded since the last `takeChanges`: new units of the SKUs that moved, and every terminal's mark. */
export interface FoldedChanges {
  units: Map<string, number>;
  applied: Record<string, number>;
}

/**
 * The relay's running fold of a branch's records into stock: each
 * terminal's records are folded strictly in sequence order from
 * `applied[terminal] + 1`, so a record is counted once whatever path or
 * order it arrived by. The relay publishes what changed into the stock
 * baseline document.
 */
export class StockFold {
  readonly #stock: SkuUnits;
  readonly #applied: Map<string, number>;
  readonly #changedUnits = new Map<string, number>();
  #marksChanged = false;

  constructor(stock: Readonly<Record<string, number>>, applied: Readonly<Record<string, number>>) {
    this.#stock = new SkuUnits(Object.entries(stock));
    this.#applied = new Map(Object.entries(applied));
  }

  /** Returns the highest sequence number of a terminal folded so far. */
  applied(terminal: string): number {
    return this.#applied.get(terminal) ?? 0;
  }

  /** Returns every terminal's applied mark. */
  appliedMarks(): Record<string, number> {
    return Object.fromEntries(this.#applied);
  }

  /** Folds a record when it is the next of its terminal; returns false for any other. */
  fold(record: StockMovement): boolean {
    if (record.seq !== this.applied(record.terminal) + 1) return false;
    for (const line of record.stock) {
      if (line.delta === 0) continue;
      const units = (this.#stock.get(line.sku) ?? 0) + line.delta;
      this.#stock.set(line.sku, units);
      this.#changedUnits.set(line.sku, units);
    }
    this.#applied.set(record.terminal, record.seq);
    this.#marksChanged = true;
    return true;
  }

  /** Units of one SKU, or null when no record or opening stock named it. */
  stockOf(sku: string): number | null {
    return this.#stock.get(sku) ?? null;
  }

  /** Units of every SKU. */
  all(): Record<string, number> {
    return Object.fromEntries(this.#stock.entries());
  }

  /** True when something was folded since the last `takeChanges`. */
  get changed(): boolean {
    return this.#marksChanged;
  }

  /** Returns what was folded since the last call, and starts collecting again. */
  takeChanges(): FoldedChanges | null {
    if (!this.#marksChanged) return null;
    const changes = { units: new Map(this.#changedUnits), applied: this.appliedMarks() };
    this.#changedUnits.clear();
    this.#marksChanged = false;
    return changes;
  }

  /** Puts changes back after a publish that failed, so the next publish writes them. */
  restoreChanges(changes: FoldedChanges): void {
    for (const sku of changes.units.keys()) this.#changedUnits.set(sku, this.#stock.get(sku) ?? 0);
    this.#marksChanged = true;
  }
}
