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
}

const COLUMN_CHOICES: readonly number[] = [32, 48];
const LOCALE_CHOICES: readonly string[] = ["es-419", "en"];

interface Layout {
  width: number;
  locale: ReceiptLocale;
  labels: ReceiptLabels;
  formatMoney: (minor: number) => string;
}

function validateOptions(options: ReceiptOptions): void {
  if (!COLUMN_CHOICES.includes(options.columns)) {
    throw new RangeError(`columns ${options.columns} is invalid. Use 32 for 58 mm paper or 48 for 80 mm paper`);
  }
  if (options.locale !== undefined && !LOCALE_CHOICES.includes(options.locale)) {
    throw new RangeError(`locale ${JSON.stringify(options.locale)} is invalid. Use "es-419" or "en"`);
  }
  if (typeof options.store?.name !== "string") {
    throw new TypeError("store.name is missing. Pass the store name to print in the receipt header");
  }
}

function separatorLine(layout: Layout): string {
  return "-".repeat(layout.width);
}

function fieldLines(label: string, value: string, layout: Layout): string[] {
  return wrapWords(`${label}: ${cleanText(value)}`, layout.width);
}

function storeHeaderLines(store: StoreHeader, layout: Layout): string[] {
  const lines = centerLines(cleanText(store.name), layout.width);
  if (store.address) lines.push(...centerLines(cleanText(store.address), layout.width));
  if (store.taxId) lines.push(...centerLines(cleanText(store.taxId), layout.width));
  return lines;
}

function ticketLines(record: LedgerRecord, layout: Layout): string[] {
  const { labels } = layout;
  const lines = [
    ...fieldLines(labels.ticket, record.id, layout),
    ...fieldLines(labels.terminal, record.terminal, layout),
  ];
  if (record.cashier !== null && cleanText(record.cashier).trim() !== "") {
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
  if (record.offline) lines.push(...centerLines(labels.offline, layout.width));
  return lines;
}

function itemLines(record: LedgerRecord, layout: Layout): string[] {
  const { formatMoney, width } = layout;
  const lines: string[] = [];
  for (const line of record.lines) {
    const name = cleanText(line.name).trim() === "" ? line.sku : line.name;
    lines.push(...wrapWords(cleanText(name), width));
    lines.push(...alignPair(`  ${line.qty} x ${formatMoney(line.unitPrice)}`, formatMoney(line.total), width, "."));
  }
  return lines;
}

/**
 * Builds the taxable base and the tax lines of each rate, lowest rate first. Prices
 * include tax, so the base of a rate is the sum of its line totals minus the
 * sum of its line taxes.
 */
function taxLines(record: LedgerRecord, layout: Layout): string[] {
  const { labels, locale, formatMoney, width } = layout;
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
    lines.push(...alignPair(labels.taxBase(taxWithRate), formatMoney(sums.total - sums.tax), width));
    lines.push(...alignPair(taxWithRate, formatMoney(sums.tax), width));
  }
  return lines;
}

function paymentLines(record: LedgerRecord, layout: Layout): string[] {
  const { labels, formatMoney, width } = layout;
  const lines = alignPair(labels.total, formatMoney(record.total), width);
  for (const tender of record.tenders) {
    // A tender type without a label here, such as one added to the model later, prints its own name.
    const label = labels.tenders[tender.type] ?? cleanText(String(tender.type)).toUpperCase();
    lines.push(...alignPair(label, formatMoney(tender.amount), width));
  }
  if (record.change > 0) lines.push(...alignPair(labels.change, formatMoney(record.change), width));
  return lines;
}

function saleLines(record: LedgerRecord, layout: Layout): string[] {
  const lines = itemLines(record, layout);
  lines.push(separatorLine(layout), ...taxLines(record, layout));
  lines.push(separatorLine(layout), ...paymentLines(record, layout));
  lines.push(separatorLine(layout), ...centerLines(layout.labels.thanks, layout.width));
  return lines;
}

function cashMovementLines(record: LedgerRecord, layout: Layout): string[] {
  const { labels, formatMoney, width } = layout;
  const reasons: Record<string, string> = labels.cashMovementReasons;
  let reasonLabel = labels.cashMovement;
  if (record.reason !== null && record.reason.trim() !== "") {
    reasonLabel = Object.hasOwn(reasons, record.reason) ? (reasons[record.reason] ?? record.reason) : record.reason;
  }
  return [
    ...centerLines(labels.cashMovement, width),
    ...alignPair(cleanText(reasonLabel).trim(), formatMoney(record.cashAmount), width),
  ];
}

/** Builds the lines of a stock receipt or adjustment: each SKU with its signed quantity change. */
function stockLines(record: LedgerRecord, title: string, layout: Layout): string[] {
  const { labels, width } = layout;
  const names = new Map(record.lines.map((line) => [line.sku, line.name]));
  const lines = centerLines(title, width);
  for (const stock of record.stock) {
    const name = names.get(stock.sku);
    if (name !== undefined && cleanText(name).trim() !== "") lines.push(...wrapWords(cleanText(name), width));
    const delta = stock.delta > 0 ? `+${stock.delta}` : String(stock.delta);
    lines.push(...alignPair(`  ${cleanText(stock.sku)}`, delta, width, "."));
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
    case "cash-movement":
      return cashMovementLines(record, layout);
    case "stock-receipt":
      return stockLines(record, layout.labels.stockReceipt, layout);
    case "stock-adjustment":
      return stockLines(record, layout.labels.stockAdjustment, layout);
    default: {
      const unknown: never = kind;
      throw new TypeError(`Cannot print record ${record.id} because its kind ${JSON.stringify(unknown)} is unknown`);
    }
  }
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
  const locale = options.locale ?? "es-419";
  const layout: Layout = {
    width: options.columns,
    locale,
    labels: labelsFor(locale),
    formatMoney: createAmountFormatter(options.currency, options.minorUnitDigits, locale),
  };
  const copyMarker = options.copy ? centerLines(`*** ${layout.labels.copy} ***`, layout.width) : [];
  const lines = [
    ...storeHeaderLines(options.store, layout),
    ...copyMarker,
    separatorLine(layout),
    ...ticketLines(record, layout),
    separatorLine(layout),
    ...bodyLines(record, layout),
    ...copyMarker,
  ];
  // Every helper above already keeps within the width, and this pass only
  // guarantees it, for example for a value that could not be wrapped.
  const printed = lines.flatMap((line) => splitToWidth(cleanText(line).trimEnd(), layout.width));
  return `${printed.join("\n")}\n`;
}
