import type { Conflict, Detection, LedgerRecord } from "@mercora/crdt-model";
import { compareHlc } from "@mercora/crdt-model";
import { targetConflict } from "./generations.ts";
import { sameDetection } from "./oversell.ts";

export interface DoubleRefundInput {
  replica: string;
  now: string;
  /** Records of the branch this replica has, refunds among them (any order). */
  records: LedgerRecord[];
  own: ReadonlyMap<string, Detection>;
  merged: readonly Conflict[];
}

/** The id of the double-refund conflict of one line of a ticket. */
export function doubleRefundId(ticket: string, line: number): string {
  return `double-refund:${ticket}:${line}`;
}

/**
 * Turns every ticket line refunded for more units than it sold into one
 * double-refund detection. This happens when terminals that could not see
 * each other refunded the same line. Each refund line carries the quantity
 * the original line sold, so the original ticket need not be at hand. The
 * detection names the original ticket, then the refunds in HLC order.
 * Returns only the detections this replica must write.
 */
export function reconcileDoubleRefunds(input: DoubleRefundInput): Detection[] {
  interface RefundedLine {
    ticket: string;
    line: number;
    sold: number;
    refunds: LedgerRecord[];
    qty: number;
  }
  const byLine = new Map<string, RefundedLine>();
  for (const record of input.records) {
    if (record.kind !== "refund" || !record.refundOf) continue;
    for (const line of record.lines) {
      if (line.refLine === null || line.soldQty === null) continue;
      const key = doubleRefundId(record.refundOf, line.refLine);
      const entry: RefundedLine = byLine.get(key) ?? { ticket: record.refundOf, line: line.refLine, sold: line.soldQty, refunds: [], qty: 0 };
      entry.qty += line.qty;
      if (!entry.refunds.includes(record)) entry.refunds.push(record);
      byLine.set(key, entry);
    }
  }
  const writes: Detection[] = [];
  for (const [baseId, entry] of [...byLine].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (entry.qty <= entry.sold) continue;
    const refunds = [...entry.refunds].sort((a, b) => compareHlc(a.hlc, b.hlc)).map((r) => r.id);
    const target = targetConflict(baseId, [entry.ticket, ...refunds], input.merged);
    if (!target) continue;
    const id = target.id;
    const previous = input.own.get(id);
    const detection: Detection = {
      id,
      kind: "double-refund",
      sku: entry.refunds[0]!.lines.find((l) => l.refLine === entry.line)!.sku,
      shortfall: entry.qty - entry.sold,
      stock: 0,
      tickets: target.tickets,
      subject: `${entry.ticket} line ${entry.line}`,
      detail: `line sold ${entry.sold}, refunds returned ${entry.qty}`,
      firstDetectedAt: previous?.firstDetectedAt ?? input.now,
      detectedAt: input.now,
      detectedBy: input.replica,
    };
    if (previous && sameDetection(previous, detection)) continue;
    writes.push(detection);
  }
  return writes;
}
