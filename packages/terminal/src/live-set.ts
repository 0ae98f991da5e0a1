import type { LedgerRef, TerminalEntry } from "@mercora/crdt-model";

/**
 * Maps each ledger to its last sequence number: the next ledger's first
 * minus one, or null for the newest ledger of a terminal, which is
 * open-ended. The live-set functions below choose the ledgers a terminal
 * keeps open, enough to sell, show available stock and reconcile.
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
 * Chooses this terminal's ledgers to open at start: the newest (where it
 * writes), every ledger with records above `covered`, and every ledger in
 * `required` (those the write-ahead log names). `covered` is the lower of
 * the relay's acknowledgement and the stock baseline's applied mark, so a
 * ledger with records the relay lacks, or whose deltas the baseline lacks,
 * stays open.
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
 * Chooses a peer's ledgers to open: those of `days` (today and yesterday),
 * its newest, and any with records above `applied`, the peer's mark in the
 * stock baseline, because their stock deltas count in available stock.
 * They fill over the LAN; the relay sends them only for a lookup (see
 * `RelayShare`).
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

/**
 * Lists the ids of every ledger of the branch in the live set now: this
 * terminal's (see `ownLiveLedgers`, with `covered` its mark) and each
 * peer's (see `peerLiveLedgers`, with `applied(peer)` its mark).
 */
export function liveLedgerIds(
  terminals: readonly TerminalEntry[],
  self: string,
  covered: number,
  days: ReadonlySet<string>,
  applied: (terminal: string) => number,
): Set<string> {
  const out = new Set<string>();
  for (const terminal of terminals) {
    const live =
      terminal.id === self ? ownLiveLedgers(terminal.ledgers, covered, new Set()) : peerLiveLedgers(terminal.ledgers, days, applied(terminal.id));
    for (const ref of live) out.add(ref.documentId);
  }
  return out;
}
