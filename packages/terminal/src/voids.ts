import { ValidationError, parseVoidRequest, priceVoid, recordsAgainst } from "@mercora/crdt-model";
import type { LedgerRecord } from "@mercora/crdt-model";
import type { Terminal } from "./terminal.ts";

/**
 * Voids a sale of the branch with a manager's PIN and a reason. The void
 * is a record of its own, signed by the signed-in cashier: it names the
 * ticket, returns its stock and pays back what the store kept. The
 * ticket and its folio stay as they were, so the folio is never issued
 * again. A request with a `requestId` already recorded returns the
 * existing void.
 */
export async function recordVoid(terminal: Terminal, body: unknown): Promise<{ record: LedgerRecord; duplicate: boolean }> {
  const request = parseVoidRequest(body);
  await terminal.syncPeerRecords();
  return terminal.withWriter(async (write) => {
    const existing = request.requestId ? terminal.ownRecords().find((r) => r.requestId === request.requestId) : undefined;
    if (existing) return { record: existing, duplicate: true };
    const original = await terminal.findRecord(request.original);
    if (!original) {
      throw new ValidationError(
        "ORIGINAL_UNKNOWN",
        `No ticket ${request.original} on this terminal or its reachable peers; check the ticket number`,
        "original",
        request.original,
      );
    }
    const priced = priceVoid(original, recordsAgainst(original.id, terminal.branchRecords()));
    const manager = await terminal.pins.authorize(request.manager, request.pin, "manager", `void of ${original.id}`);
    const record = await write("void", {
      lines: priced.lines,
      tenders: priced.tenders,
      total: priced.total,
      tax: priced.tax,
      cashRounding: priced.cashRounding,
      stock: priced.stock,
      voidOf: original.id,
      authorizedBy: manager.id,
      reason: request.reason,
      requestId: request.requestId,
    });
    terminal.log.info({ void: record.id, original: original.id, manager: manager.id, total: record.total }, "sale voided");
    terminal.receipts.enqueue(record);
    return { record, duplicate: false };
  });
}
