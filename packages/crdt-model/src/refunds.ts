import { RuleError, ValidationError } from "./errors.ts";
import { divideRoundHalfUp } from "./money.ts";
import { roundToIncrement } from "./pricing.ts";
import { parseTenders } from "./sale.ts";
import type { LedgerRecord, SaleLine, StockLine, Tender } from "./types.ts";
import { TENDER_TYPES } from "./types.ts";

/** A refund as a client sends it. Without `lines`, everything still refundable is refunded. */
export interface RefundRequest {
  original: string;
  lines: { line: number; qty: number }[] | null;
  tenders: Tender[];
  manager: string;
  pin: string;
  reason: string | null;
  requestId: string | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks the shape of an untrusted refund request and returns it typed. */
export function parseRefundRequest(body: unknown): RefundRequest {
  if (!isRecord(body)) {
    throw new ValidationError("BODY_INVALID", "The refund must be a JSON object naming the original ticket", null);
  }
  if (typeof body.original !== "string" || body.original === "") {
    throw new ValidationError("ORIGINAL_MISSING", "The refund needs `original`, the id of the ticket to refund", "original");
  }
  let lines: RefundRequest["lines"] = null;
  if (body.lines !== undefined && body.lines !== null) {
    if (!Array.isArray(body.lines) || body.lines.length === 0) {
      throw new ValidationError("LINES_MISSING", "`lines` must list at least one line, or be left out to refund the whole ticket", "lines");
    }
    lines = body.lines.map((raw, index) => {
      const line = isRecord(raw) ? raw : {};
      if (typeof line.line !== "number" || !Number.isSafeInteger(line.line) || line.line < 1) {
        throw new ValidationError("LINE_INVALID", `Refund line ${index + 1} needs \`line\`, the 1-based line number of the original ticket`, `lines[${index}].line`);
      }
      if (typeof line.qty !== "number" || !Number.isSafeInteger(line.qty) || line.qty <= 0) {
        throw new ValidationError("LINE_QTY_INVALID", `Refund line ${index + 1} has quantity ${JSON.stringify(line.qty)}; use a positive whole number`, `lines[${index}].qty`, line.qty);
      }
      return { line: line.line, qty: line.qty };
    });
  }
  if (typeof body.manager !== "string" || typeof body.pin !== "string") {
    throw new ValidationError("MANAGER_PIN_MISSING", "A refund needs a manager's user id (`manager`) and PIN (`pin`)", "manager");
  }
  return {
    original: body.original,
    lines,
    tenders: parseTenders(body.tenders),
    manager: body.manager,
    pin: body.pin,
    reason: typeof body.reason === "string" ? body.reason : null,
    requestId: typeof body.requestId === "string" ? body.requestId : null,
  };
}

/** Units of each line of a ticket already refunded, by 1-based line number, from the refunds given. */
export function refundedQuantities(original: LedgerRecord, refunds: LedgerRecord[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const refund of refunds) {
    if (refund.kind !== "refund" || refund.refundOf !== original.id) continue;
    for (const line of refund.lines) {
      if (line.refLine === null) continue;
      out.set(line.refLine, (out.get(line.refLine) ?? 0) + line.qty);
    }
  }
  return out;
}

/**
 * A share of a line amount for `qty` of its units after `done` units were
 * already refunded. Each share is the difference of two rounded cumulative
 * amounts, so refunding a line in several parts adds up exactly to the line.
 */
function share(amount: number, soldQty: number, done: number, qty: number): number {
  return divideRoundHalfUp(amount * (done + qty), soldQty) - divideRoundHalfUp(amount * done, soldQty);
}

export interface PricedRefund {
  lines: SaleLine[];
  total: number;
  tax: number;
  cashRounding: number;
  stock: StockLine[];
}

/** Lines, amounts and stock of a refund, before its payout is checked. */
export type RefundLines = Omit<PricedRefund, "cashRounding">;

/**
 * Prices the lines of a refund of an original sale. The refundable
 * quantity of a line is what it sold minus what the given refunds already
 * returned; asking for more is rejected. `wanted` null refunds everything
 * left. Refunded stock goes back on the shelf.
 */
export function priceRefundLines(
  original: LedgerRecord,
  priorRefunds: LedgerRecord[],
  wanted: { line: number; qty: number }[] | null,
): RefundLines {
  if (original.kind !== "sale") {
    throw new ValidationError("ORIGINAL_NOT_SALE", `Record ${original.id} is a ${original.kind}, not a sale; only sales can be refunded`, "original", original.id);
  }
  const voided = priorRefunds.find((record) => record.kind === "void" && record.voidOf === original.id);
  if (voided) {
    throw new RuleError("TICKET_VOIDED", `Ticket ${original.id} was voided by ${voided.id}; a voided ticket cannot be refunded`, "original");
  }
  const refunded = refundedQuantities(original, priorRefunds);
  const asked =
    wanted ??
    original.lines
      .map((line, index) => ({ line: index + 1, qty: line.qty - (refunded.get(index + 1) ?? 0) }))
      .filter((line) => line.qty > 0);
  if (asked.length === 0) {
    throw new ValidationError("NOTHING_TO_REFUND", `Ticket ${original.id} has been refunded in full already`, "original", original.id);
  }
  const byLine = new Map<number, number>();
  for (const entry of asked) byLine.set(entry.line, (byLine.get(entry.line) ?? 0) + entry.qty);
  const lines: SaleLine[] = [];
  for (const [lineNo, qty] of [...byLine].sort((a, b) => a[0] - b[0])) {
    lines.push(priceRefundLine(original, lineNo, qty, refunded.get(lineNo) ?? 0));
  }
  const total = lines.reduce((sum, line) => sum + line.total, 0);
  const tax = lines.reduce((sum, line) => sum + line.tax, 0);
  const stock = new Map<string, number>();
  for (const line of lines) stock.set(line.sku, (stock.get(line.sku) ?? 0) + line.qty);
  return { lines, total, tax, stock: [...stock].map(([sku, delta]) => ({ sku, delta })) };
}

function priceRefundLine(original: LedgerRecord, lineNo: number, qty: number, done: number): SaleLine {
  const sold = original.lines[lineNo - 1];
  if (!sold) {
    throw new ValidationError("LINE_UNKNOWN", `Ticket ${original.id} has no line ${lineNo}; it has ${original.lines.length}`, "lines", lineNo);
  }
  const left = sold.qty - done;
  if (qty > left) {
    throw new ValidationError(
      "REFUND_EXCEEDS_SOLD",
      `Line ${lineNo} of ticket ${original.id} (${sold.name}) sold ${sold.qty}, ${done} already refunded, ` +
        `so at most ${left} can be refunded, not ${qty}`,
      "lines",
      qty,
    );
  }
  const total = share(sold.total, sold.qty, done, qty);
  const tax = share(sold.tax, sold.qty, done, qty);
  return { ...sold, qty, total, tax, base: total - tax, refLine: lineNo, soldQty: sold.qty };
}

/**
 * Prices a refund of an original sale: its lines (see `priceRefundLines`)
 * and its payout, which must equal the refund with cash rounded as for a
 * sale.
 */
export function priceRefund(
  original: LedgerRecord,
  priorRefunds: LedgerRecord[],
  request: RefundRequest,
  store: { currency: string; cashRoundingIncrement: number },
): PricedRefund {
  const priced = priceRefundLines(original, priorRefunds, request.lines);
  const cashRounding = checkRefundTenders(request.tenders, priced.total, store);
  return { ...priced, cashRounding };
}

/**
 * Pays `total` back the way the customer paid the original ticket: its
 * non-cash tenders first, in their order, and the rest in cash rounded to
 * the store's increment. A remainder that rounds to no cash goes back as
 * "other".
 */
export function mirrorPayout(original: LedgerRecord, total: number, cashRoundingIncrement: number): Tender[] {
  const tenders: Tender[] = [];
  let left = total;
  for (const tender of original.tenders) {
    if (tender.type === "cash" || left === 0) continue;
    const amount = Math.min(tender.amount, left);
    tenders.push({ type: tender.type, amount });
    left -= amount;
  }
  if (left === 0) return tenders;
  const cash = roundToIncrement(left, cashRoundingIncrement);
  tenders.push(cash > 0 ? { type: "cash", amount: cash } : { type: "other", amount: left });
  return tenders;
}

/**
 * Checks the payout of a refund: non-cash payouts may not exceed the
 * refund, and the rest is paid in cash exactly, rounded to the store's
 * increment. Returns the cash rounding adjustment.
 */
function checkRefundTenders(tenders: Tender[], total: number, store: { currency: string; cashRoundingIncrement: number }): number {
  if (tenders.length === 0) {
    throw new ValidationError("TENDERS_MISSING", "The refund has no payout; say how the money goes back (cash, card, transfer)", "tenders");
  }
  let cash = 0;
  let nonCash = 0;
  tenders.forEach((tender, index) => {
    if (!TENDER_TYPES.includes(tender.type)) {
      throw new ValidationError("TENDER_TYPE_INVALID", `Payout ${index + 1} has type "${tender.type}"; use one of ${TENDER_TYPES.join(", ")}`, `tenders[${index}].type`);
    }
    if (tender.currency !== undefined && tender.currency !== store.currency) {
      throw new ValidationError("TENDER_CURRENCY_INVALID", `Payout ${index + 1} is in ${JSON.stringify(tender.currency)} but this store pays ${store.currency} only`, `tenders[${index}].currency`, tender.currency);
    }
    if (!Number.isSafeInteger(tender.amount) || tender.amount <= 0) {
      throw new ValidationError("TENDER_AMOUNT_INVALID", `Payout ${index + 1} amount ${JSON.stringify(tender.amount)} is not a positive whole number of minor units`, `tenders[${index}].amount`);
    }
    if (tender.type === "cash") cash += tender.amount;
    else nonCash += tender.amount;
  });
  const cashDue = total - nonCash;
  const expectedCash = cash > 0 ? roundToIncrement(cashDue, store.cashRoundingIncrement) : cashDue;
  if (nonCash > total || cash !== expectedCash) {
    throw new ValidationError(
      "REFUND_TENDERS_MISMATCH",
      `The refund is ${total}; payouts must add up to it exactly (cash rounded to ${store.cashRoundingIncrement || 1}): ` +
        `got ${nonCash} non-cash and ${cash} cash, expected ${expectedCash} cash`,
      "tenders",
      cash + nonCash,
    );
  }
  return cash > 0 ? expectedCash - cashDue : 0;
}
