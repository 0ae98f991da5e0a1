import type { Conflict, Detection, LedgerRecord } from "@mercora/crdt-model";
import { compareHlc } from "@mercora/crdt-model";
import { targetConflict } from "./generations.ts";

export interface OversellInput {
  /** The replica running the reconciler: a terminal id or "relay". */
  replica: string;
  /** Timestamp for new or changed detections (an HLC string). */
  now: string;
  /**
   * Per terminal, the sequence number after which sales count: the stock
   * baseline's `windowApplied`, the marks at the start of the previous
   * business day. Earlier sales claimed units of an older stock count, so
   * their claims cannot be compared with today's.
   */
  windowApplied: Record<string, number>;
  /** Available stock per SKU that is below zero: the baseline plus the deltas of the records above it. */
  stock: Record<string, number>;
  /** Records of the branch that this replica holds (any order). */
  records: LedgerRecord[];
  /** This replica's own detections, by conflict id. */
  own: ReadonlyMap<string, Detection>;
  /** Conflicts merged from every replica. */
  merged: readonly Conflict[];
}

/**
 * Makes the id of an oversell conflict of a SKU: `oversell:SKU` for the
 * first, `oversell:SKU:2` for the one raised after the first was resolved,
 * and so on (see `targetConflict`).
 */
export function oversellId(sku: string, generation = 1): string {
  return generation === 1 ? `oversell:${sku}` : `oversell:${sku}:${generation}`;
}

interface SaleOfSku {
  record: LedgerRecord;
  qty: number;
  stockBefore: number;
}

/**
 * Finds the tickets involved in an oversell. Each sale claims the units it
 * believed it took: with `stockBefore` units known and `qty` sold, units
 * `stockBefore - qty + 1` to `stockBefore`. A sale is involved when one of
 * its units does not exist (at or below zero) or is also claimed by another
 * sale, which is what happens when terminals that cannot see each other sell
 * the same last unit. Returns ticket ids in chronological (HLC) order.
 */
export function involvedTickets(sales: SaleOfSku[]): string[] {
  const claims = new Map<number, number>();
  for (const sale of sales) {
    for (let unit = sale.stockBefore - sale.qty + 1; unit <= sale.stockBefore; unit++) {
      claims.set(unit, (claims.get(unit) ?? 0) + 1);
    }
  }
  return sales
    .filter((sale) => {
      for (let unit = sale.stockBefore - sale.qty + 1; unit <= sale.stockBefore; unit++) {
        if (unit <= 0 || (claims.get(unit) ?? 0) > 1) return true;
      }
      return false;
    })
    .sort((a, b) => compareHlc(a.record.hlc, b.record.hlc))
    .map((sale) => sale.record.id);
}

/**
 * Falls back to the latest sales, in HLC order, whose quantities cover the
 * shortfall. Used when no unit was claimed twice, for example when the
 * sales that explain the shortfall fell before the window.
 */
function latestCovering(sales: SaleOfSku[], shortfall: number): string[] {
  const sorted = [...sales].sort((a, b) => compareHlc(a.record.hlc, b.record.hlc));
  const picked: SaleOfSku[] = [];
  let covered = 0;
  for (let i = sorted.length - 1; i >= 0 && covered < shortfall; i--) {
    picked.unshift(sorted[i]!);
    covered += sorted[i]!.qty;
  }
  return picked.map((sale) => sale.record.id);
}

function salesBySku(
  records: LedgerRecord[],
  windowApplied: Record<string, number>,
): Map<string, SaleOfSku[]> {
  const out = new Map<string, SaleOfSku[]>();
  for (const record of records) {
    if (record.kind !== "sale") continue;
    if (record.seq <= (windowApplied[record.terminal] ?? 0)) continue;
    const perSku = new Map<string, SaleOfSku>();
    for (const line of record.lines) {
      const entry = perSku.get(line.sku);
      if (entry) entry.qty += line.qty;
      else perSku.set(line.sku, { record, qty: line.qty, stockBefore: line.stockBefore });
    }
    for (const [sku, sale] of perSku) {
      const list = out.get(sku) ?? [];
      list.push(sale);
      out.set(sku, list);
    }
  }
  return out;
}

export function sameDetection(a: Detection, b: Detection): boolean {
  return (
    a.kind === b.kind &&
    a.sku === b.sku &&
    a.shortfall === b.shortfall &&
    a.stock === b.stock &&
    a.subject === b.subject &&
    a.detail === b.detail &&
    a.tickets.length === b.tickets.length &&
    a.tickets.every((ticket, index) => ticket === b.tickets[index])
  );
}

/**
 * Turns every SKU whose merged stock is below zero into one oversell
 * detection: the SKU, the shortfall, and the tickets involved in
 * chronological order. Returns only the detections this replica must write
 * (new, or changed since its last write), so running it again on the same
 * state returns nothing.
 */
export function reconcileOversells(input: OversellInput): Detection[] {
  // Grouping every sale by SKU is the costly step, and most runs find no SKU below zero.
  if (!Object.values(input.stock).some((units) => units < 0)) return [];
  const bySku = salesBySku(input.records, input.windowApplied);
  const mergedById = new Map(input.merged.map((conflict) => [conflict.id, conflict]));
  const writes: Detection[] = [];
  for (const sku of Object.keys(input.stock).sort()) {
    const stock = input.stock[sku]!;
    if (stock >= 0) continue;
    const baseId = oversellId(sku);
    const sales = bySku.get(sku) ?? [];
    let computed = involvedTickets(sales);
    if (computed.length === 0) computed = latestCovering(sales, -stock);
    // Tickets another replica already named stay named, even when this
    // replica no longer holds their records or they fell before the window.
    const known = mergedById.get(baseId)?.tickets ?? [];
    const tickets = [...computed, ...known.filter((ticket) => !computed.includes(ticket))];
    // A resolved oversell stays resolved, so tickets it did not cover go to a new conflict of the SKU.
    const target = targetConflict(baseId, tickets, input.merged);
    if (!target) continue;
    const id = target.id;
    const units = sales.filter((sale) => target.tickets.includes(sale.record.id)).reduce((sum, sale) => sum + sale.qty, 0);
    const previous = input.own.get(id);
    const detection: Detection = {
      id,
      kind: "oversell",
      sku,
      shortfall: id === baseId ? -stock : Math.max(1, Math.min(-stock, units)),
      stock,
      tickets: target.tickets,
      subject: sku,
      detail: `merged stock ${stock}: ${-stock} more sold than the branch had`,
      firstDetectedAt: previous?.firstDetectedAt ?? input.now,
      detectedAt: input.now,
      detectedBy: input.replica,
    };
    if (previous && sameDetection(previous, detection)) continue;
    writes.push(detection);
  }
  return writes;
}
