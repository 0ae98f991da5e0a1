import type { LedgerRef } from "@mercora/crdt-model";

/**
 * The ledgers a terminal keeps open: enough to sell, show available stock
 * and reconcile, and no older history. A ledger's last sequence number is
 * the next ledger's first minus one; the newest ledger of a terminal is
 * open-ended.
 */
function lastSeqs(refs: readonly Pick<LedgerRef, "documentId" | "firstSeq">[]): Map<string, number | null> {
  const sorted = [...refs].sort((a, b) => a.firstSeq - b.firstSeq);
  const out = new Map<string, number | null>();
  sorted.forEach((ref, index) => {
    const next = sorted[index + 1];
    out.set(ref.documentId, next ? next.firstSeq - 1 : null);
  });
  return out;
}

/**
 * This terminal's ledgers to open at start: the newest (where it writes),
 * every ledger with records above `covered` (the lower of the relay's
 * acknowledgement and the stock baseline's applied mark: records the relay
 * has not acknowledged, or whose stock deltas are not in the baseline),
 * and every ledger in `required` (those the write-ahead log names).
 */
export function ownLiveLedgers<R extends Pick<LedgerRef, "documentId" | "firstSeq">>(
  refs: readonly R[],
  covered: number,
  required: ReadonlySet<string>,
): R[] {
  const last = lastSeqs(refs);
  return refs.filter((ref) => {
    const lastSeq = last.get(ref.documentId);
    return lastSeq === null || lastSeq === undefined || lastSeq > covered || required.has(ref.documentId);
  });
}

/**
 * A peer's ledgers to hold: those of `days` (today and yesterday), its
 * newest, and any with records above `applied`, the peer's mark in the
 * stock baseline, whose stock deltas count in available stock.
 */
export function peerLiveLedgers<R extends Pick<LedgerRef, "documentId" | "firstSeq" | "businessDay">>(
  refs: readonly R[],
  days: ReadonlySet<string>,
  applied: number,
): R[] {
  const last = lastSeqs(refs);
  return refs.filter((ref) => {
    const lastSeq = last.get(ref.documentId);
    return days.has(ref.businessDay) || lastSeq === null || lastSeq === undefined || lastSeq > applied;
  });
}
