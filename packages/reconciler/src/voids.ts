import type { Conflict, Detection, LedgerRecord } from "@mercora/crdt-model";
import { compareHlc } from "@mercora/crdt-model";
import { targetConflict } from "./generations.ts";
import { sameDetection } from "./oversell.ts";

export interface VoidConflictInput {
  replica: string;
  now: string;
  /** Records of the branch this replica has (any order). */
  records: LedgerRecord[];
  own: ReadonlyMap<string, Detection>;
  merged: readonly Conflict[];
}

interface TicketClaims {
  voids: LedgerRecord[];
  refunds: LedgerRecord[];
}

function claimsByTicket(records: LedgerRecord[]): Map<string, TicketClaims> {
  const out = new Map<string, TicketClaims>();
  const entry = (ticket: string) => {
    const claims = out.get(ticket) ?? { voids: [], refunds: [] };
    out.set(ticket, claims);
    return claims;
  };
  for (const record of records) {
    if (record.kind === "void" && record.voidOf) entry(record.voidOf).voids.push(record);
    if (record.kind === "refund" && record.refundOf) entry(record.refundOf).refunds.push(record);
  }
  return out;
}

function byHlc(records: LedgerRecord[]): string[] {
  return [...records].sort((a, b) => compareHlc(a.hlc, b.hlc)).map((r) => r.id);
}

function detection(input: VoidConflictInput, id: string, kind: string, tickets: string[], detail: string, sku: string): Detection {
  const previous = input.own.get(id);
  return {
    id,
    kind,
    sku,
    // Payouts beyond the first: the ticket itself and the first void are not extra.
    shortfall: Math.max(1, tickets.length - 2),
    stock: 0,
    tickets,
    subject: tickets[0]!,
    detail,
    firstDetectedAt: previous?.firstDetectedAt ?? input.now,
    detectedAt: input.now,
    detectedBy: input.replica,
  };
}

/**
 * Raises a conflict for every voided ticket that was also refunded
 * (`void-refund`) or voided more than once (`double-void`). A terminal
 * rejects both once it has the void, so either means two terminals acted
 * on the ticket while apart, and the customer was paid back twice.
 * The detection names the ticket, then the voids and refunds in HLC order.
 * Returns only the detections this replica must write.
 */
export function reconcileVoids(input: VoidConflictInput): Detection[] {
  const writes: Detection[] = [];
  for (const [ticket, claims] of [...claimsByTicket(input.records)].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (claims.voids.length === 0) continue;
    const sku = claims.voids[0]!.lines[0]?.sku ?? "";
    const candidates: [string, string, string[], string][] = [];
    if (claims.refunds.length > 0) {
      const detail = `ticket voided by ${byHlc(claims.voids).join(", ")} and refunded by ${byHlc(claims.refunds).join(", ")}: the customer was paid back twice`;
      candidates.push([`void-refund:${ticket}`, "void-refund", [ticket, ...byHlc([...claims.voids, ...claims.refunds])], detail]);
    }
    if (claims.voids.length > 1) {
      candidates.push([`double-void:${ticket}`, "double-void", [ticket, ...byHlc(claims.voids)], `ticket voided ${claims.voids.length} times: the customer was paid back more than once`]);
    }
    for (const [baseId, kind, tickets, detail] of candidates) {
      const target = targetConflict(baseId, tickets, input.merged);
      if (!target) continue;
      const next = detection(input, target.id, kind, target.tickets, detail, sku);
      const previous = input.own.get(target.id);
      if (previous && sameDetection(previous, next)) continue;
      writes.push(next);
    }
  }
  return writes;
}
