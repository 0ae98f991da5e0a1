/**
 * Slot of every SKU any `SkuUnits` in this process has seen. The branches
 * of a relay share one catalog, so a thousand branches share one table of
 * 12,513 SKUs instead of keeping a thousand maps keyed by the same strings.
 */
// NOTE: the table never shrinks, so every distinct SKU a process reads, even one no catalog has, keeps its slot.
const slots = new Map<string, number>();
const skus: string[] = [];

function slotOf(sku: string): number {
  let slot = slots.get(sku);
  if (slot === undefined) {
    slot = skus.length;
    slots.set(sku, slot);
    skus.push(sku);
  }
  return slot;
}

/**
 * Units per SKU in a typed array indexed by a process-wide SKU table. It
 * replaces a `Map<string, number>` where a process keeps one per branch:
 * a typed array is a single object off the JavaScript heap, so garbage
 * collection does not walk 12,513 entries per branch. A SKU without units
 * is NaN in the array.
 */
export class SkuUnits {
  #units = new Float64Array(0);
  #size = 0;

  constructor(entries: Iterable<[string, number]> = []) {
    for (const [sku, units] of entries) this.set(sku, units);
  }

  /** Number of SKUs with units. */
  get size(): number {
    return this.#size;
  }

  get(sku: string): number | undefined {
    const slot = slots.get(sku);
    if (slot === undefined || slot >= this.#units.length) return undefined;
    const units = this.#units[slot]!;
    return Number.isNaN(units) ? undefined : units;
  }

  has(sku: string): boolean {
    return this.get(sku) !== undefined;
  }

  set(sku: string, units: number): void {
    const slot = slotOf(sku);
    if (slot >= this.#units.length) this.#grow(slot + 1);
    if (Number.isNaN(this.#units[slot]!)) this.#size += 1;
    this.#units[slot] = units;
  }

  delete(sku: string): void {
    const slot = slots.get(sku);
    if (slot === undefined || slot >= this.#units.length || Number.isNaN(this.#units[slot]!)) return;
    this.#units[slot] = Number.NaN;
    this.#size -= 1;
  }

  clear(): void {
    this.#units.fill(Number.NaN);
    this.#size = 0;
  }

  /** Yields every SKU with units, in the order SKUs first reached the process-wide table. */
  *entries(): IterableIterator<[string, number]> {
    for (let slot = 0; slot < this.#units.length; slot++) {
      const units = this.#units[slot]!;
      if (!Number.isNaN(units)) yield [skus[slot]!, units];
    }
  }

  *keys(): IterableIterator<string> {
    for (const [sku] of this.entries()) yield sku;
  }

  [Symbol.iterator](): IterableIterator<[string, number]> {
    return this.entries();
  }

  #grow(needed: number): void {
    // Sized to the whole table, so a branch's first SKUs do not regrow the array once per new SKU.
    const length = Math.max(needed, skus.length, this.#units.length * 2, 64);
    const next = new Float64Array(length).fill(Number.NaN);
    next.set(this.#units);
    this.#units = next;
  }
}
