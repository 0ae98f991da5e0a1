import type { LedgerRecord } from "@mercora/crdt-model";
import { createAmountFormatter, formatDateTime, formatRate } from "./format.ts";
import { labelsFor } from "./labels.ts";
import type { ReceiptLabels, ReceiptLocale } from "./labels.ts";
import { alignPair, centerLines, cleanText, splitToWidth, wrapWords } from "./text.ts";

/** Store details printed centered at the top of every receipt. */
export interface StoreHeader {
  name: string;
  address?: string;
  taxId?: string;
}

export interface ReceiptOptions {
  /** Characters per line: 32 for 58 mm paper, 48 for 80 mm paper. */
  columns: 32 | 48;
  /** Language of the labels and the amount format, es-419 when omitted. */
  locale?: ReceiptLocale;
  /** ISO 4217 currency code, e.g. "ARS", "CRC", "MXN". */
  currency: string;
  /** Decimals of the currency's minor unit, e.g. 2 for ARS. */
  minorUnitDigits: number;
  store: StoreHeader;
  /** Reprint: marks the receipt "COPIA" ("COPY" in English) at top and bottom. */
  copy?: boolean;
  /** Fiscal folio of the ticket, printed above the ticket id. Ledger records carry none. */
  folio?: ReceiptFolio;
  /** Hash that verifies the ticket. ESC/POS receipts carry it in the QR code. */
  hash?: string;
}

/** Folio number of a ticket. A provisional folio is printed with "PROVISIONAL" below it. */
export interface ReceiptFolio {
  number: string;
  provisional: boolean;
  /** True on a void's receipt, where the folio is the voided ticket's: it prints as "Folio anulado". */
  voided?: boolean;
}

const COLUMN_CHOICES: readonly number[] = [32, 48];
const LOCALE_CHOICES: readonly string[] = ["es-419", "en"];

/** Width, words and text rules shared by the plain-text and the ESC/POS receipt. */
export interface Layout {
  width: number;
  locale: ReceiptLocale;
  labels: ReceiptLabels;
  /** Formats minor units, already passed through `clean`. */
  formatMoney: (minor: number) => string;
  /**
   * Rewrites text into the characters that will be printed, before it is
   * measured: `cleanText` for plain text, or a code page mapper for ESC/POS.
   */
  clean: (text: string) => string;
}

/** Parts of a receipt in print order. Every line is at most `Layout.width` columns wide. */
export interface ReceiptSections {
  /** Store name after `clean`, not yet wrapped, because ESC/POS prints it double width. */
  storeName: string;
  storeDetails: string[];
  /** "*** COPIA ***" lines of a reprint, printed below the header and at the bottom, or no lines on originals. */
  copyMarker: string[];
  ticket: string[];
  body: string[];
}

export type ReceiptContentOptions = Omit<ReceiptOptions, "columns">;

/** Checks every option except `columns`, which each renderer checks itself. */
export function validateContentOptions(options: ReceiptContentOptions): void {
  if (options.locale !== undefined && !LOCALE_CHOICES.includes(options.locale)) {
    throw new RangeError(`locale ${JSON.stringify(options.locale)} is invalid. Use "es-419" or "en"`);
  }
  if (typeof options.store?.name !== "string") {
    throw new TypeError("store.name is missing. Pass the store name to print in the receipt header");
  }
  const folio = options.folio;
  if (folio !== undefined && (typeof folio?.number !== "string" || typeof folio.provisional !== "boolean")) {
    throw new TypeError("folio is invalid. Pass { number: string, provisional: boolean } or leave it out");
  }
  if (options.hash !== undefined && typeof options.hash !== "string") {
    throw new TypeError("hash is invalid. Pass the ticket hash as a string or leave it out");
  }
}

function validateOptions(options: ReceiptOptions): void {
  if (!COLUMN_CHOICES.includes(options.columns)) {
    throw new RangeError(`columns ${options.columns} is invalid. Use 32 for 58 mm paper or 48 for 80 mm paper`);
  }
  validateContentOptions(options);
}

/** Builds the layout of one receipt `width` columns wide whose text goes through `clean`. */
export function createLayout(options: ReceiptContentOptions, width: number, clean: (text: string) => string): Layout {
  const locale = options.locale ?? "es-419";
  const format = createAmountFormatter(options.currency, options.minorUnitDigits, locale);
  return {
    width,
    locale,
    labels: labelsFor(locale),
    formatMoney: (minor) => clean(format(minor)),
    clean,
  };
}

function centered(text: string, layout: Layout): string[] {
  return centerLines(layout.clean(text), layout.width);
}

function wrapped(text: string, layout: Layout): string[] {
  return wrapWords(layout.clean(text), layout.width);
}

function paired(left: string, right: string, layout: Layout, leader: " " | "." = " "): string[] {
  return alignPair(layout.clean(left), layout.clean(right), layout.width, leader);
}

function isBlank(text: string, layout: Layout): boolean {
  return layout.clean(text).trim() === "";
}

function separatorLine(layout: Layout): string {
  return "-".repeat(layout.width);
}

function fieldLines(label: string, value: string, layout: Layout): string[] {
  return wrapped(`${label}: ${value}`, layout);
}

function storeDetailLines(store: StoreHeader, layout: Layout): string[] {
  const lines: string[] = [];
  if (store.address) lines.push(...centered(store.address, layout));
  if (store.taxId) lines.push(...centered(store.taxId, layout));
  return lines;
}

function folioLines(folio: ReceiptFolio | undefined, layout: Layout): string[] {
  if (folio === undefined || isBlank(folio.number, layout)) return [];
  const label = folio.voided ? layout.labels.voidedFolio : layout.labels.folio;
  const lines = fieldLines(label, folio.number, layout);
  if (folio.provisional) lines.push(...centered(layout.labels.provisional, layout));
  return lines;
}

function ticketLines(record: LedgerRecord, folio: ReceiptFolio | undefined, layout: Layout): string[] {
  const { labels } = layout;
  const lines = [
    ...folioLines(folio, layout),
    ...fieldLines(labels.ticket, record.id, layout),
    ...fieldLines(labels.terminal, record.terminal, layout),
  ];
  if (record.cashier !== null && !isBlank(record.cashier, layout)) {
    lines.push(...fieldLines(labels.cashier, record.cashier, layout));
  }
  let dateTime: string;
  try {
    dateTime = formatDateTime(record.at, record.timeZone, labels.dateOrder);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new RangeError(`Cannot print ticket ${record.id}: ${message}`, { cause: error });
  }
  lines.push(...fieldLines(labels.date, dateTime, layout));
  if (record.offline) lines.push(...centered(labels.offline, layout));
  return lines;
}

function itemLines(record: LedgerRecord, layout: Layout): string[] {
  const { formatMoney } = layout;
  const lines: string[] = [];
  for (const line of record.lines) {
    const name = isBlank(line.name, layout) ? line.sku : line.name;
    lines.push(...wrapped(name, layout));
    lines.push(...paired(`  ${line.qty} x ${formatMoney(line.unitPrice)}`, formatMoney(line.total), layout, "."));
  }
  return lines;
}

/**
 * Builds the taxable base and the tax lines of each rate, lowest rate first. Prices
 * include tax, so the base of a rate is the sum of its line totals minus the
 * sum of its line taxes.
 */
function taxLines(record: LedgerRecord, layout: Layout): string[] {
  const { labels, locale, formatMoney } = layout;
  const byRate = new Map<number, { total: number; tax: number }>();
  for (const line of record.lines) {
    const sums = byRate.get(line.taxRateBp) ?? { total: 0, tax: 0 };
    sums.total += line.total;
    sums.tax += line.tax;
    byRate.set(line.taxRateBp, sums);
  }
  const lines: string[] = [];
  const rates = [...byRate.keys()].sort((a, b) => a - b);
  for (const rateBp of rates) {
    const sums = byRate.get(rateBp) ?? { total: 0, tax: 0 };
    const taxWithRate = `${labels.taxName} ${formatRate(rateBp, locale)}`;
    lines.push(...paired(labels.taxBase(taxWithRate), formatMoney(sums.total - sums.tax), layout));
    lines.push(...paired(taxWithRate, formatMoney(sums.tax), layout));
  }
  return lines;
}

function paymentLines(record: LedgerRecord, layout: Layout): string[] {
  const { labels, formatMoney } = layout;
  const lines = paired(labels.total, formatMoney(record.total), layout);
  // Records written before cash rounding existed read back with 0.
  if (record.cashRounding) lines.push(...paired(labels.cashRounding, formatMoney(record.cashRounding), layout));
  for (const tender of record.tenders) {
    // A tender type without a label here, such as one added to the model later, prints its own name.
    const label = labels.tenders[tender.type] ?? String(tender.type).toUpperCase();
    lines.push(...paired(label, formatMoney(tender.amount), layout));
  }
  if (record.change > 0) lines.push(...paired(labels.change, formatMoney(record.change), layout));
  return lines;
}

function saleLines(record: LedgerRecord, layout: Layout): string[] {
  const lines = itemLines(record, layout);
  lines.push(separatorLine(layout), ...taxLines(record, layout));
  lines.push(separatorLine(layout), ...paymentLines(record, layout));
  lines.push(separatorLine(layout), ...centered(layout.labels.thanks, layout));
  return lines;
}

/** Builds a refund: its title, the original ticket, the returned lines, their taxes and how the money went back. */
function refundLines(record: LedgerRecord, layout: Layout): string[] {
  const { labels } = layout;
  const lines = centered(labels.refund, layout);
  if (record.refundOf) lines.push(...fieldLines(labels.originalTicket, record.refundOf, layout));
  if (record.reason !== null && record.reason.trim() !== "") lines.push(...fieldLines(labels.reason, record.reason, layout));
  lines.push(separatorLine(layout), ...itemLines(record, layout));
  lines.push(separatorLine(layout), ...taxLines(record, layout));
  lines.push(separatorLine(layout), ...paymentLines(record, layout));
  return lines;
}

/** Builds a void: its title, the voided ticket, the reason, the lines and how the money went back. */
function voidLines(record: LedgerRecord, layout: Layout): string[] {
  const { labels } = layout;
  const lines = centered(labels.voidTitle, layout);
  if (record.voidOf) lines.push(...fieldLines(labels.voidedTicket, record.voidOf, layout));
  if (record.reason !== null && record.reason.trim() !== "") lines.push(...fieldLines(labels.reason, record.reason, layout));
  lines.push(separatorLine(layout), ...itemLines(record, layout));
  lines.push(separatorLine(layout), ...taxLines(record, layout));
  lines.push(separatorLine(layout), ...paymentLines(record, layout));
  lines.push(...centered(labels.voidTitle, layout));
  return lines;
}

function cashMovementLines(record: LedgerRecord, layout: Layout): string[] {
  const { labels, formatMoney } = layout;
  const reasons: Record<string, string> = labels.cashMovementReasons;
  let reasonLabel = labels.cashMovement;
  if (record.reason !== null && record.reason.trim() !== "") {
    reasonLabel = Object.hasOwn(reasons, record.reason) ? (reasons[record.reason] ?? record.reason) : record.reason;
  }
  return [
    ...centered(labels.cashMovement, layout),
    ...paired(layout.clean(reasonLabel).trim(), formatMoney(record.cashAmount), layout),
  ];
}

/** Builds the lines of a stock receipt or adjustment: each SKU with its signed quantity change. */
function stockLines(record: LedgerRecord, title: string, layout: Layout): string[] {
  const { labels } = layout;
  const names = new Map(record.lines.map((line) => [line.sku, line.name]));
  const lines = centered(title, layout);
  for (const stock of record.stock) {
    const name = names.get(stock.sku);
    if (name !== undefined && !isBlank(name, layout)) lines.push(...wrapped(name, layout));
    const delta = stock.delta > 0 ? `+${stock.delta}` : String(stock.delta);
    lines.push(...paired(`  ${stock.sku}`, delta, layout, "."));
  }
  if (record.reason !== null && record.reason.trim() !== "") {
    lines.push(...fieldLines(labels.reason, record.reason, layout));
  }
  return lines;
}

function bodyLines(record: LedgerRecord, layout: Layout): string[] {
  const kind = record.kind;
  switch (kind) {
    case "sale":
      return saleLines(record, layout);
    case "refund":
      return refundLines(record, layout);
    case "cash-movement":
      return cashMovementLines(record, layout);
    case "stock-receipt":
      return stockLines(record, layout.labels.stockReceipt, layout);
    case "stock-adjustment":
      return stockLines(record, layout.labels.stockAdjustment, layout);
    case "void":
      return voidLines(record, layout);
    default: {
      const unknown: never = kind;
      throw new TypeError(`Cannot print record ${record.id} because its kind ${JSON.stringify(unknown)} is unknown`);
    }
  }
}

/**
 * Builds the sections of a receipt for `record` with the layout given.
 * Throws `RangeError` or `TypeError` naming the invalid record field.
 */
export function receiptSections(record: LedgerRecord, options: ReceiptContentOptions, layout: Layout): ReceiptSections {
  return {
    storeName: layout.clean(options.store.name),
    storeDetails: storeDetailLines(options.store, layout),
    copyMarker: options.copy ? centered(`*** ${layout.labels.copy} ***`, layout) : [],
    ticket: ticketLines(record, options.folio, layout),
    body: bodyLines(record, layout),
  };
}

/**
 * Renders a ledger record as a plain-text receipt: lines separated by "\n",
 * ending with "\n", each at most `options.columns` code points wide after
 * NFC normalization. Amounts are in the record's integer minor units, and
 * the date and time are in the record's `timeZone`. Throws `RangeError` or
 * `TypeError` naming the invalid option or record field.
 */
export function renderReceiptText(record: LedgerRecord, options: ReceiptOptions): string {
  validateOptions(options);
  const layout = createLayout(options, options.columns, cleanText);
  const sections = receiptSections(record, options, layout);
  const lines = [
    ...centered(sections.storeName, layout),
    ...sections.storeDetails,
    ...sections.copyMarker,
    separatorLine(layout),
    ...sections.ticket,
    separatorLine(layout),
    ...sections.body,
    ...sections.copyMarker,
  ];
  // Every helper above already keeps within the width, and this pass only
  // guarantees it, for example for a value that could not be wrapped.
  const printed = lines.flatMap((line) => splitToWidth(cleanText(line).trimEnd(), layout.width));
  return `${printed.join("\n")}\n`;
}
