import { pendingFiscalRecords, readAcked, readFinalFolio } from "@mercora/crdt-model";
import type { FoliosDoc, IngestDoc, LedgerRecord } from "@mercora/crdt-model";

/**
 * Summarizes a branch's transmission debt from the records the relay
 * has: those it has not acknowledged yet, and acknowledged records still
 * waiting for a final folio. Records still on a terminal are missing
 * here. That terminal's `/status` lists them, and the branch summary
 * shows its last contact.
 */
export function fiscalSummary(records: Iterable<LedgerRecord>, ingest: IngestDoc, folios: FoliosDoc, limit: number) {
  const pending = pendingFiscalRecords(
    records,
    { acked: (terminal) => readAcked(ingest, terminal), finalFolio: (id) => readFinalFolio(folios, id)?.folio ?? null },
    Date.now(),
  );
  return { pending: pending.length, overdue: pending.filter((d) => d.overdue).length, records: pending.slice(0, limit) };
}

/**
 * Lists the folios of voided tickets. A void never frees a number,
 * because the ticket keeps its folio and the void record names it, so
 * every voided number stays visible to HQ.
 */
export function voidedFolios(records: Iterable<LedgerRecord>, find: (id: string) => LedgerRecord | null, folios: FoliosDoc) {
  const out: { void: string; ticket: string; folio: string | null; at: string }[] = [];
  for (const record of records) {
    if (record.kind !== "void" || !record.voidOf) continue;
    const ticket = find(record.voidOf);
    const folio = ticket ? (ticket.folio ?? readFinalFolio(folios, ticket.id)?.folio ?? ticket.provisionalFolio) : null;
    out.push({ void: record.id, ticket: record.voidOf, folio, at: record.at });
  }
  return out.sort((a, b) => (a.at < b.at ? -1 : 1));
}
