import { RuleError, ValidationError } from "./errors.ts";
import type { LedgerRecord, StockLine, Tender } from "./types.ts";

/** A void as a client sends it: the ticket, why, and the manager who authorizes it. */
export interface VoidRequest {
  original: string;
  manager: string;
  pin: string;
  reason: string;
  requestId: string | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks the shape of an untrusted void request and returns it typed. */
export function parseVoidRequest(body: unknown): VoidRequest {
  if (!isObject(body)) {
    throw new ValidationError("BODY_INVALID", "The void must be a JSON object naming the ticket (`original`), a reason, a manager and a PIN", null);
  }
  if (typeof body.original !== "string" || body.original === "") {
    throw new ValidationError("ORIGINAL_MISSING", "The void needs `original`, the id of the ticket to void", "original");
  }
  const reason = typeof body.reason === "string" ? body.reason.trim() : "";
  if (reason === "") {
    throw new ValidationError("REASON_MISSING", "A void needs `reason`: say why the sale is voided, for the audit", "reason");
  }
  if (typeof body.manager !== "string" || typeof body.pin !== "string") {
    throw new ValidationError("MANAGER_PIN_MISSING", "A void needs a manager's user id (`manager`) and PIN (`pin`)", "manager");
  }
  return {
    original: body.original,
    manager: body.manager,
    pin: body.pin,
    reason,
    requestId: typeof body.requestId === "string" ? body.requestId : null,
  };
}

/** The amounts, payout and stock of a void: the mirror of the ticket it voids. */
export interface PricedVoid {
  lines: LedgerRecord["lines"];
  total: number;
  tax: number;
  cashRounding: number;
  tenders: Tender[];
  stock: StockLine[];
}

/**
 * Prices the void of a sale. A void cancels the whole ticket, as if it had
 * never been sold: every line comes back, every unit returns to stock, and
 * the customer gets back what the store kept of each tender (cash net of
 * change). `related` are the branch's records that name the ticket
 * (refunds and voids). A ticket already voided, or with any refund, is
 * rejected: a refunded ticket was sold, so what is left of it is refunded,
 * not voided.
 */
export function priceVoid(original: LedgerRecord, related: LedgerRecord[]): PricedVoid {
  if (original.kind !== "sale") {
    throw new ValidationError("ORIGINAL_NOT_SALE", `Record ${original.id} is a ${original.kind}, not a sale; only sales can be voided`, "original", original.id);
  }
  const voided = related.find((record) => record.kind === "void" && record.voidOf === original.id);
  if (voided) throw new RuleError("TICKET_VOIDED", `Ticket ${original.id} is already voided by ${voided.id}`, "original");
  const refunds = related.filter((record) => record.kind === "refund" && record.refundOf === original.id);
  if (refunds.length > 0) {
    throw new RuleError(
      "TICKET_REFUNDED",
      `Ticket ${original.id} has refunds (${refunds.map((r) => r.id).join(", ")}); refund what is left of it instead of voiding it`,
      "original",
    );
  }
  const stock = new Map<string, number>();
  for (const line of original.lines) stock.set(line.sku, (stock.get(line.sku) ?? 0) + line.qty);
  return {
    lines: original.lines.map((line, index) => ({ ...line, refLine: index + 1, soldQty: line.qty })),
    total: original.total,
    tax: original.tax,
    cashRounding: original.cashRounding,
    tenders: keptTenders(original),
    stock: [...stock].map(([sku, delta]) => ({ sku, delta })),
  };
}

/** Lists what the store kept of each tender of a sale: cash net of the change given. */
function keptTenders(sale: LedgerRecord): Tender[] {
  const cash = sale.tenders.filter((t) => t.type === "cash").reduce((sum, t) => sum + t.amount, 0) - sale.change;
  const out: Tender[] = sale.tenders.filter((t) => t.type !== "cash").map((t) => ({ type: t.type, amount: t.amount }));
  if (cash > 0) out.push({ type: "cash", amount: cash });
  return out;
}

/** Lists the records that name a ticket: its refunds and voids. */
export function recordsAgainst(ticket: string, records: Iterable<LedgerRecord>): LedgerRecord[] {
  const out: LedgerRecord[] = [];
  for (const record of records) {
    if ((record.kind === "refund" && record.refundOf === ticket) || (record.kind === "void" && record.voidOf === ticket)) out.push(record);
  }
  return out;
}
