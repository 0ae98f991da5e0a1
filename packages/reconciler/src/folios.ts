import type { Conflict, Detection, LedgerRecord } from "@mercora/crdt-model";
import { compareHlc } from "@mercora/crdt-model";
import { targetConflict } from "./generations.ts";
import { sameDetection } from "./oversell.ts";

export interface DuplicateProvisionalInput {
  replica: string;
  now: string;
  records: LedgerRecord[];
  own: ReadonlyMap<string, Detection>;
  merged: readonly Conflict[];
}

/**
 * Raises one conflict for every provisional folio that two or more records
 * carry. Every such sale still stands, because a record's identity is its
 * ticket id; the conflict names the tickets in HLC order.
 */
export function reconcileDuplicateProvisionals(input: DuplicateProvisionalInput): Detection[] {
  const byFolio = new Map<string, LedgerRecord[]>();
  for (const record of input.records) {
    if (!record.provisionalFolio) continue;
    byFolio.set(record.provisionalFolio, [...(byFolio.get(record.provisionalFolio) ?? []), record]);
  }
  const writes: Detection[] = [];
  for (const [folio, records] of byFolio) {
    if (records.length < 2) continue;
    const tickets = [...records].sort((a, b) => compareHlc(a.hlc, b.hlc)).map((r) => r.id);
    const target = targetConflict(`duplicate-provisional:${folio}`, tickets, input.merged);
    if (!target) continue;
    const id = target.id;
    const previous = input.own.get(id);
    const detection: Detection = {
      id,
      kind: "duplicate-provisional",
      sku: "",
      shortfall: records.length - 1,
      stock: 0,
      tickets: target.tickets,
      subject: folio,
      detail: `${records.length} tickets carry provisional folio ${folio}; each keeps its own final folio`,
      firstDetectedAt: previous?.firstDetectedAt ?? input.now,
      detectedAt: input.now,
      detectedBy: input.replica,
    };
    if (previous && sameDetection(previous, detection)) continue;
    writes.push(detection);
  }
  return writes;
}
