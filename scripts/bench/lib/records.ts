import type { ProductInput } from "@mercora/crdt-model";
import { ticket } from "./fixture.ts";

/**
 * Builds a priced sale record shaped like the product's `LedgerRecord`,
 * with the same fields and similar sizes, so the PouchDB side and the raw
 * fsync limit store the same bytes a Mercora terminal stores.
 */
export function saleRecord(products: ProductInput[], terminal: string, seq: number, at: Date) {
  const request = ticket(products, seq);
  const bySku = new Map(products.map((p) => [p.sku, p]));
  const lines = request.lines.map((line) => {
    const product = bySku.get(line.sku)!;
    const total = product.price * line.qty;
    const tax = total - Math.round(total / 1.21);
    return {
      sku: product.sku,
      barcode: product.barcode,
      name: product.name,
      qty: line.qty,
      unitPrice: product.price,
      taxCode: "IVA21",
      taxRateBp: 2100,
      total,
      tax,
      stockBefore: 10_000_000 - seq,
    };
  });
  const total = lines.reduce((sum, line) => sum + line.total, 0);
  const tendered = request.tenders.reduce((sum, tender) => sum + tender.amount, 0);
  return {
    _id: `B1-${terminal}-${String(seq).padStart(8, "0")}`,
    kind: "sale",
    branch: "B1",
    terminal,
    seq,
    hlc: `${String(at.getTime()).padStart(16, "0")}.0000.${terminal}`,
    at: at.toISOString(),
    businessDay: at.toISOString().slice(0, 10),
    timeZone: "America/Argentina/Buenos_Aires",
    epoch: 1,
    offline: false,
    cashier: null,
    requestId: null,
    lines,
    tenders: request.tenders,
    total,
    tax: lines.reduce((sum, line) => sum + line.tax, 0),
    change: tendered - total,
    stock: lines.map((line) => ({ sku: line.sku, delta: -line.qty })),
    cashAmount: 0,
    reason: null,
  };
}
