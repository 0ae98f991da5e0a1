import type { ResolutionRequest } from "./conflict-actions.ts";
import { ValidationError } from "./errors.ts";
import { mirrorPayout, priceRefund, priceRefundLines, refundedQuantities } from "./refunds.ts";
import type { Conflict, LedgerRecord, RecordKind } from "./types.ts";

/** A record an action will write, before the writer numbers, seals and signs it. */
export interface RecordDraft {
  kind: RecordKind;
  fields: Partial<LedgerRecord>;
}

export interface DraftContext {
  /** The ticket a `refund-customer` action names, or null when the replica does not hold it. */
  ticket: LedgerRecord | null;
  /** Records of the branch that name that ticket (its refunds and voids). */
  related: LedgerRecord[];
  currency: string;
  cashRoundingIncrement: number;
  /** Request id of the drafted records, which ties them to the action (`resolution:ACTION_ID`). */
  requestId: string;
  manager: string;
}

/**
 * Drafts the records an action writes. `record-found-stock` writes a
 * stock adjustment that adds the quantity found. `refund-customer` writes
 * a refund of the named ticket's units of the oversold SKU, at most the
 * shortfall, paid back the way the customer paid. Every other action
 * writes nothing.
 */
export function draftActionRecords(conflict: Conflict, request: ResolutionRequest, context: DraftContext): RecordDraft[] {
  const reason = `${conflict.id} ${request.action}: ${request.reason}`;
  if (request.action === "record-found-stock") {
    return [
      {
        kind: "stock-adjustment",
        fields: { stock: [{ sku: conflict.sku, delta: request.quantity! }], reason, authorizedBy: context.manager, requestId: context.requestId },
      },
    ];
  }
  if (request.action === "refund-customer") return [draftRefund(conflict, request, context, reason)];
  return [];
}

function draftRefund(conflict: Conflict, request: ResolutionRequest, context: DraftContext, reason: string): RecordDraft {
  const ticket = context.ticket;
  if (!ticket) {
    throw new ValidationError(
      "VALUE_INVALID",
      `Ticket ${request.value} is not on this replica yet; wait for it to sync or resolve from a terminal that holds it`,
      "value",
      request.value,
    );
  }
  const refunded = refundedQuantities(ticket, context.related);
  let units = Math.max(1, conflict.shortfall);
  const lines: { line: number; qty: number }[] = [];
  ticket.lines.forEach((line, index) => {
    if (line.sku !== conflict.sku || units === 0) return;
    const qty = Math.min(units, line.qty - (refunded.get(index + 1) ?? 0));
    if (qty <= 0) return;
    lines.push({ line: index + 1, qty });
    units -= qty;
  });
  if (lines.length === 0) {
    throw new ValidationError("VALUE_INVALID", `Ticket ${ticket.id} has no unit of SKU ${conflict.sku} left to refund`, "value", request.value);
  }
  const store = { currency: context.currency, cashRoundingIncrement: context.cashRoundingIncrement };
  const tenders = mirrorPayout(ticket, priceRefundLines(ticket, context.related, lines).total, context.cashRoundingIncrement);
  const priced = priceRefund(ticket, context.related, { ...refundRequest(ticket, lines, request), tenders }, store);
  return {
    kind: "refund",
    fields: {
      lines: priced.lines,
      tenders,
      total: priced.total,
      tax: priced.tax,
      cashRounding: priced.cashRounding,
      stock: priced.stock,
      refundOf: ticket.id,
      authorizedBy: context.manager,
      reason,
      requestId: context.requestId,
    },
  };
}

function refundRequest(ticket: LedgerRecord, lines: { line: number; qty: number }[], request: ResolutionRequest) {
  return { original: ticket.id, lines, tenders: [], manager: request.manager, pin: request.pin, reason: request.reason, requestId: null };
}
