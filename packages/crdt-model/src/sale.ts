import { catalogDocLookup } from "./catalog-index.ts";
import type { CatalogLookup } from "./catalog-index.ts";
import { ValidationError } from "./errors.ts";
import { priceLines, settleTenders } from "./pricing.ts";
import type { CatalogDoc } from "./schema.ts";
import type { SaleLine, StockLine, Tender, TenderType } from "./types.ts";

/** A sale as a client sends it: lines by SKU or barcode, and split tenders. */
export interface SaleRequest {
  lines: { code: string; qty: number }[];
  tenders: Tender[];
  cashier?: string | null;
  requestId?: string | null;
  /** Manager authorization to sell below the stock buffer while offline. */
  override?: { manager: string; pin: string } | null;
}

export interface PricedSale {
  lines: SaleLine[];
  tenders: Tender[];
  total: number;
  tax: number;
  cashRounding: number;
  change: number;
  stock: StockLine[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks the shape of untrusted tenders (parsed JSON) and returns them typed. */
export function parseTenders(tenders: unknown): Tender[] {
  if (!Array.isArray(tenders)) {
    throw new ValidationError("TENDERS_MISSING", "The sale has no tenders; add at least one payment", "tenders");
  }
  return tenders.map((tender, index) => {
    if (!isRecord(tender) || typeof tender.type !== "string" || typeof tender.amount !== "number") {
      throw new ValidationError(
        "TENDER_INVALID",
        `Tender ${index + 1} must be an object with a type and an amount in minor units`,
        `tenders[${index}]`,
      );
    }
    if (tender.currency !== undefined && typeof tender.currency !== "string") {
      throw new ValidationError("TENDER_CURRENCY_INVALID", `Tender ${index + 1} currency must be an ISO 4217 code`, `tenders[${index}].currency`);
    }
    return {
      type: tender.type as TenderType,
      amount: tender.amount,
      ...(tender.currency !== undefined ? { currency: tender.currency as string } : {}),
    };
  });
}

/**
 * Checks the shape of an untrusted sale request (a parsed JSON body) and
 * returns it typed. Throws `ValidationError` naming the first bad field.
 */
export function parseSaleRequest(body: unknown): SaleRequest {
  if (!isRecord(body)) {
    throw new ValidationError("BODY_INVALID", "The sale must be a JSON object with lines and tenders", null);
  }
  const { lines, tenders, cashier, requestId, override } = body;
  if (!Array.isArray(lines) || lines.length === 0) {
    throw new ValidationError("LINES_MISSING", "The sale has no lines; add at least one product", "lines");
  }
  const parsedLines = lines.map((line, index) => {
    if (!isRecord(line)) {
      throw new ValidationError("LINE_INVALID", `Line ${index + 1} must be an object`, `lines[${index}]`);
    }
    const code = line.sku ?? line.barcode ?? line.code;
    if (typeof code !== "string" || code.trim() === "") {
      throw new ValidationError("LINE_CODE_MISSING", `Line ${index + 1} has no SKU or barcode`, `lines[${index}].sku`);
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
  if (cashier !== undefined && cashier !== null && typeof cashier !== "string") {
    throw new ValidationError("CASHIER_INVALID", "cashier must be a string", "cashier");
  }
  if (requestId !== undefined && requestId !== null && typeof requestId !== "string") {
    throw new ValidationError("REQUEST_ID_INVALID", "requestId must be a string", "requestId");
  }
  let parsedOverride: SaleRequest["override"] = null;
  if (override !== undefined && override !== null) {
    if (!isRecord(override) || typeof override.manager !== "string" || typeof override.pin !== "string") {
      throw new ValidationError("OVERRIDE_INVALID", "override needs the manager's user id and PIN", "override");
    }
    parsedOverride = { manager: override.manager, pin: override.pin };
  }
  return {
    lines: parsedLines,
    tenders: parseTenders(tenders),
    cashier: cashier ?? null,
    requestId: requestId ?? null,
    override: parsedOverride,
  };
}

/**
 * Prices a sale against the catalog (a document, or a `CatalogIndex`):
 * resolves every line by SKU or barcode,
 * computes base and tax per line with the catalog's rules, settles the
 * tenders with the store's cash rounding, and derives the stock lines.
 * `stockOf` returns the available stock the terminal knows for a SKU,
 * recorded on each line for conflict review.
 */
export function priceSale(
  catalogSource: CatalogDoc | CatalogLookup,
  request: SaleRequest,
  stockOf: (sku: string) => number,
  store: { cashRoundingIncrement: number },
): PricedSale {
  const catalog = "findProduct" in catalogSource ? catalogSource : catalogDocLookup(catalogSource);
  const resolved = request.lines.map((line, index) => {
    const product = catalog.findProduct(line.code);
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
    const tax = catalog.readTax(product.taxCode);
    if (!tax) {
      throw new ValidationError(
        "TAX_UNKNOWN",
        `Line ${index + 1}: product ${product.sku} has tax code ${product.taxCode}, which the catalog lacks`,
        `lines[${index}].sku`,
        line.code,
      );
    }
    return { product, tax, qty: line.qty };
  });
  const priced = priceLines(
    resolved.map(({ product, tax, qty }) => ({ unitPrice: product.price, qty, rateBp: tax.rateBp })),
    catalog.pricingRules(),
  );
  const lines: SaleLine[] = resolved.map(({ product, tax, qty }, index) => ({
    sku: product.sku,
    barcode: product.barcode,
    name: product.name,
    qty,
    unitPrice: product.price,
    taxCode: tax.code,
    taxRateBp: tax.rateBp,
    base: priced[index]!.base,
    tax: priced[index]!.tax,
    total: priced[index]!.total,
    stockBefore: stockOf(product.sku),
    refLine: null,
    soldQty: null,
  }));
  const total = lines.reduce((sum, line) => sum + line.total, 0);
  const tax = lines.reduce((sum, line) => sum + line.tax, 0);
  const settlement = settleTenders(request.tenders, total, {
    currency: catalog.currency(),
    cashRoundingIncrement: store.cashRoundingIncrement,
  });
  const stock = new Map<string, number>();
  for (const line of lines) stock.set(line.sku, (stock.get(line.sku) ?? 0) - line.qty);
  return {
    lines,
    tenders: request.tenders.map((t) => ({ type: t.type, amount: t.amount })),
    total,
    tax,
    cashRounding: settlement.cashRounding,
    change: settlement.change,
    stock: [...stock].map(([sku, delta]) => ({ sku, delta })),
  };
}

/** Day formatters per time zone, built once: constructing an `Intl.DateTimeFormat` is far slower than formatting with one. */
const dayFormatters = new Map<string, Intl.DateTimeFormat>();

/**
 * Returns the business day (YYYY-MM-DD) of a UTC instant in the store's IANA
 * time zone.
 */
export function businessDayOf(instant: Date, timeZone: string): string {
  // Every UTC offset in use since 1972 is a whole number of minutes, so local midnight starts a UTC minute.
  // One UTC minute therefore has one business day. A busy terminal calls this several times a minute, and
  // formatting took about 30 microseconds of each sale.
  const minute = Math.floor(instant.getTime() / 60_000);
  const last = lastDays.get(timeZone);
  if (last?.minute === minute) return last.day;
  let formatter = dayFormatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    dayFormatters.set(timeZone, formatter);
  }
  const parts = formatter.formatToParts(instant);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  const day = `${get("year")}-${get("month")}-${get("day")}`;
  lastDays.set(timeZone, { minute, day });
  return day;
}

/** The business day last computed per time zone, and the UTC minute (milliseconds / 60,000) it was for. */
const lastDays = new Map<string, { minute: number; day: string }>();

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

/**
 * Checks a business day given by a client (YYYY-MM-DD, a real calendar
 * date) and returns it. Throws `ValidationError` naming the value.
 */
export function parseBusinessDay(value: unknown): string {
  const text = typeof value === "string" ? value : "";
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : null;
  if (!match || !date || date.toISOString().slice(0, 10) !== text) {
    throw new ValidationError(
      "DAY_INVALID",
      value === undefined
        ? "The request needs `day`, a business day as YYYY-MM-DD"
        : `day ${JSON.stringify(value)} is not a calendar date as YYYY-MM-DD`,
      "day",
      value,
    );
  }
  return text;
}
