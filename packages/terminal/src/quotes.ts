import {
  ValidationError,
  divideRoundHalfUp,
  parseSaleRequest,
  priceRefund,
  priceSale,
  refundedQuantities,
  roundToIncrement,
} from "@mercora/crdt-model";
import type { CatalogDoc, CatalogLookup, LedgerRecord, Tender } from "@mercora/crdt-model";

/** Where the tenders of a cart stand against its total. */
export interface PaymentQuote {
  tendered: number;
  /** Still to pay; with cash among the tenders, after cash rounding. */
  due: number;
  /** Still to pay if the rest is paid in cash, rounded to the store's increment. */
  dueInCash: number;
  /** Change to give back, on cash only. */
  change: number;
  cashRounding: number;
  /** Card, transfer and other tenders above the total, which change cannot cover. */
  nonCashOver: number;
  /** True when `POST /sales` would accept these tenders. */
  complete: boolean;
}

/**
 * Settles tenders against a total by the rules of `settleTenders`, but
 * reports what is still due instead of rejecting a short payment, so the
 * cashier screen can show it while tenders are entered.
 */
export function quotePayment(tenders: Tender[], total: number, cashRoundingIncrement: number): PaymentQuote {
  const cash = tenders.filter((t) => t.type === "cash").reduce((sum, t) => sum + t.amount, 0);
  const nonCash = tenders.filter((t) => t.type !== "cash").reduce((sum, t) => sum + t.amount, 0);
  const cashDue = Math.max(0, total - nonCash);
  const roundedDue = roundToIncrement(cashDue, cashRoundingIncrement);
  const target = cash > 0 ? roundedDue : cashDue;
  return {
    tendered: cash + nonCash,
    due: Math.max(0, target - cash),
    dueInCash: Math.max(0, roundedDue - cash),
    change: Math.max(0, cash - target),
    cashRounding: cash > 0 ? roundedDue - cashDue : 0,
    nonCashOver: Math.max(0, nonCash - total),
    complete: tenders.length > 0 && nonCash <= total && cash >= target,
  };
}

/**
 * Prices a cart without recording it: line totals and taxes with the
 * catalog's rules, and the payment so far. Unknown or inactive products
 * are rejected with the same errors as `POST /sales`.
 */
export function quoteSale(
  catalog: CatalogDoc | CatalogLookup,
  body: unknown,
  stockOf: (sku: string) => number,
  cashRoundingIncrement: number,
) {
  const input = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const request = parseSaleRequest({ ...input, tenders: input.tenders ?? [] });
  // A tender large enough to settle any cart, so pricing never stops at the payment.
  const settleAll: Tender[] = [{ type: "cash", amount: Number.MAX_SAFE_INTEGER }];
  const priced = priceSale(catalog, { ...request, tenders: settleAll }, stockOf, { cashRoundingIncrement });
  const lines = priced.lines.map((line) => ({
    sku: line.sku,
    barcode: line.barcode,
    name: line.name,
    qty: line.qty,
    unitPrice: line.unitPrice,
    total: line.total,
    tax: line.tax,
    stockBefore: line.stockBefore,
  }));
  return { lines, total: priced.total, tax: priced.tax, ...quotePayment(request.tenders, priced.total, cashRoundingIncrement) };
}

/** Share of a line amount for `qty` units after `done` were refunded, rounded as `priceRefund` does. */
function refundShare(amount: number, soldQty: number, done: number, qty: number): number {
  return divideRoundHalfUp(amount * (done + qty), soldQty) - divideRoundHalfUp(amount * done, soldQty);
}

function parseRefundLines(raw: unknown): { line: number; qty: number }[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ValidationError("LINES_INVALID", "`lines` must be a list of {line, qty}", "lines");
  return raw
    .map((entry, index) => {
      const line = (typeof entry === "object" && entry !== null ? entry : {}) as Record<string, unknown>;
      if (!Number.isSafeInteger(line.line) || !Number.isSafeInteger(line.qty) || (line.qty as number) < 0) {
        throw new ValidationError(
          "LINE_INVALID",
          `Refund line ${index + 1} needs \`line\` (1-based) and \`qty\` (a whole number at or above 0)`,
          `lines[${index}]`,
        );
      }
      return { line: line.line as number, qty: line.qty as number };
    })
    .filter((line) => line.qty > 0);
}

/**
 * Prices a refund without recording it: what each line of the original
 * ticket sold and has left to refund, and the refund of the lines asked
 * for, with the cash payout rounded to the store's increment. Asking for
 * more than is left gets the same error as `POST /refunds`.
 */
export function quoteRefund(
  original: LedgerRecord,
  priorRefunds: LedgerRecord[],
  body: unknown,
  store: { currency: string; cashRoundingIncrement: number },
) {
  if (original.kind !== "sale") {
    throw new ValidationError("ORIGINAL_NOT_SALE", `Record ${original.id} is a ${original.kind}, not a sale; only sales can be refunded`, "original", original.id);
  }
  const input = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const refunded = refundedQuantities(original, priorRefunds);
  const refundable = original.lines.map((line, index) => ({
    line: index + 1,
    sku: line.sku,
    name: line.name,
    qty: line.qty,
    unitPrice: line.unitPrice,
    total: line.total,
    refunded: refunded.get(index + 1) ?? 0,
  }));
  const ticket = { id: original.id, at: original.at, terminal: original.terminal, total: original.total, tenders: original.tenders };
  const wanted = parseRefundLines(input.lines);
  if (wanted.length === 0) return { original: ticket, refundable, lines: [], total: 0, tax: 0, cashPayout: 0 };

  let expected = 0;
  for (const { line, qty } of wanted) {
    const sold = original.lines[line - 1];
    const done = refunded.get(line) ?? 0;
    if (sold && qty <= sold.qty - done) expected += refundShare(sold.total, sold.qty, done, qty);
  }
  // A card payout of the expected amount passes the payout check, so only the lines decide.
  const request = { original: original.id, lines: wanted, tenders: [{ type: "card" as const, amount: Math.max(1, expected) }], manager: "", pin: "", reason: null, requestId: null };
  const priced = priceRefund(original, priorRefunds, request, store);
  const lines = priced.lines.map((line) => ({ line: line.refLine, sku: line.sku, name: line.name, qty: line.qty, total: line.total }));
  return {
    original: ticket,
    refundable,
    lines,
    total: priced.total,
    tax: priced.tax,
    cashPayout: roundToIncrement(priced.total, store.cashRoundingIncrement),
  };
}
