import { findProduct, readTax } from "./catalog.ts";
import { ValidationError } from "./errors.ts";
import { checkTenders, splitTaxIncluded } from "./money.ts";
import type { CatalogDoc } from "./schema.ts";
import type { SaleLine, StockLine, Tender, TenderType } from "./types.ts";

/** A sale as a client sends it: lines by SKU or barcode, and split tenders. */
export interface SaleRequest {
  lines: { code: string; qty: number }[];
  tenders: Tender[];
  cashier?: string | null;
  requestId?: string | null;
}

export interface PricedSale {
  lines: SaleLine[];
  tenders: Tender[];
  total: number;
  tax: number;
  change: number;
  stock: StockLine[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Checks the shape of an untrusted sale request (a parsed JSON body) and
 * returns it typed. Throws `ValidationError` naming the first bad field.
 */
export function parseSaleRequest(body: unknown): SaleRequest {
  if (!isRecord(body)) {
    throw new ValidationError("BODY_INVALID", "The sale must be a JSON object with lines and tenders", null);
  }
  const { lines, tenders, cashier, requestId } = body;
  if (!Array.isArray(lines) || lines.length === 0) {
    throw new ValidationError("LINES_MISSING", "The sale has no lines; add at least one product", "lines");
  }
  const parsedLines = lines.map((line, index) => {
    if (!isRecord(line)) {
      throw new ValidationError("LINE_INVALID", `Line ${index + 1} must be an object`, `lines[${index}]`);
    }
    const code = line.sku ?? line.barcode ?? line.code;
    if (typeof code !== "string" || code.trim() === "") {
      throw new ValidationError(
        "LINE_CODE_MISSING",
        `Line ${index + 1} has no SKU or barcode`,
        `lines[${index}].sku`,
      );
    }
    const qty = line.qty ?? line.quantity;
    if (typeof qty !== "number" || !Number.isSafeInteger(qty) || qty <= 0) {
      throw new ValidationError(
        "LINE_QTY_INVALID",
        `Line ${index + 1} (${code}) has quantity ${JSON.stringify(qty)}; use a positive whole number`,
        `lines[${index}].qty`,
        qty,
      );
    }
    return { code: code.trim(), qty };
  });
  if (!Array.isArray(tenders)) {
    throw new ValidationError("TENDERS_MISSING", "The sale has no tenders; add at least one payment", "tenders");
  }
  const parsedTenders = tenders.map((tender, index) => {
    if (!isRecord(tender) || typeof tender.type !== "string" || typeof tender.amount !== "number") {
      throw new ValidationError(
        "TENDER_INVALID",
        `Tender ${index + 1} must be an object with a type and an amount in minor units`,
        `tenders[${index}]`,
      );
    }
    return { type: tender.type as TenderType, amount: tender.amount };
  });
  if (cashier !== undefined && cashier !== null && typeof cashier !== "string") {
    throw new ValidationError("CASHIER_INVALID", "cashier must be a string", "cashier");
  }
  if (requestId !== undefined && requestId !== null && typeof requestId !== "string") {
    throw new ValidationError("REQUEST_ID_INVALID", "requestId must be a string", "requestId");
  }
  return {
    lines: parsedLines,
    tenders: parsedTenders,
    cashier: cashier ?? null,
    requestId: requestId ?? null,
  };
}

/**
 * Prices a sale against the catalog: resolves every line by SKU or barcode,
 * computes the tax per line (prices include tax), checks the tenders and
 * derives the stock lines. `stockOf` returns the available stock the
 * terminal knows for a SKU, recorded on each line for conflict review.
 */
export function priceSale(
  catalog: CatalogDoc,
  request: SaleRequest,
  stockOf: (sku: string) => number,
): PricedSale {
  const lines: SaleLine[] = request.lines.map((line, index) => {
    const product = findProduct(catalog, line.code);
    if (!product) {
      throw new ValidationError(
        "SKU_UNKNOWN",
        `Line ${index + 1}: no product with SKU or barcode ${line.code} in the catalog`,
        `lines[${index}].sku`,
        line.code,
      );
    }
    if (!product.active) {
      throw new ValidationError(
        "SKU_INACTIVE",
        `Line ${index + 1}: product ${product.sku} (${product.name}) is inactive and cannot be sold`,
        `lines[${index}].sku`,
        line.code,
      );
    }
    const tax = readTax(catalog, product.taxCode);
    if (!tax) {
      throw new ValidationError(
        "TAX_UNKNOWN",
        `Line ${index + 1}: product ${product.sku} has tax code ${product.taxCode}, which the catalog lacks`,
        `lines[${index}].sku`,
        line.code,
      );
    }
    const total = product.price * line.qty;
    if (!Number.isSafeInteger(total)) {
      throw new ValidationError(
        "LINE_TOTAL_OVERFLOW",
        `Line ${index + 1}: ${line.qty} x ${product.price} is too large`,
        `lines[${index}].qty`,
        line.qty,
      );
    }
    const split = splitTaxIncluded(total, tax.rateBp);
    return {
      sku: product.sku,
      barcode: product.barcode,
      name: product.name,
      qty: line.qty,
      unitPrice: product.price,
      taxCode: tax.code,
      taxRateBp: tax.rateBp,
      total,
      tax: split.tax,
      stockBefore: stockOf(product.sku),
    };
  });
  const total = lines.reduce((sum, line) => sum + line.total, 0);
  const tax = lines.reduce((sum, line) => sum + line.tax, 0);
  const { change } = checkTenders(request.tenders, total);
  const stock = new Map<string, number>();
  for (const line of lines) stock.set(line.sku, (stock.get(line.sku) ?? 0) - line.qty);
  return {
    lines,
    tenders: request.tenders.map((t) => ({ type: t.type, amount: t.amount })),
    total,
    tax,
    change,
    stock: [...stock].map(([sku, delta]) => ({ sku, delta })),
  };
}

/**
 * Returns the business day (YYYY-MM-DD) of a UTC instant in the store's IANA
 * time zone.
 */
export function businessDayOf(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/**
 * Checks the per-SKU stock buffer for an offline sale: the stock the terminal
 * knows, minus the quantity sold, must stay at or above the SKU's buffer.
 * Returns the SKUs that fail, with what is known.
 */
export function checkStockBuffer(
  lines: SaleLine[],
  buffers: (sku: string) => number,
): { sku: string; name: string; available: number; qty: number; buffer: number }[] {
  const qtyBySku = new Map<string, { qty: number; line: SaleLine }>();
  for (const line of lines) {
    const entry = qtyBySku.get(line.sku);
    qtyBySku.set(line.sku, { qty: (entry?.qty ?? 0) + line.qty, line });
  }
  const failures = [];
  for (const [sku, { qty, line }] of qtyBySku) {
    const buffer = buffers(sku);
    if (line.stockBefore - qty < buffer) {
      failures.push({ sku, name: line.name, available: line.stockBefore, qty, buffer });
    }
  }
  return failures;
}
