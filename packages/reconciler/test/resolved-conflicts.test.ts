import { expect } from "chai";
import { actionsFor } from "@mercora/crdt-model";
import type { AuditEntry, Conflict, Detection, LedgerRecord } from "@mercora/crdt-model";
import { oversellId, reconcileOversells, reconcileVoids, targetConflict } from "../src/index.ts";

function record(id: string, hlc: string, fields: Partial<LedgerRecord>): LedgerRecord {
  const [, terminal, seq] = id.split("-");
  return {
    id,
    kind: "sale",
    branch: "A",
    terminal: terminal!,
    seq: Number(seq),
    hlc,
    at: "2026-12-04T15:00:00.000Z",
    businessDay: "2026-12-04",
    timeZone: "America/Argentina/Buenos_Aires",
    epoch: 1,
    offline: true,
    cashier: null,
    requestId: null,
    lines: [{ sku: "779", barcode: null, name: "Yerba", qty: 1, unitPrice: 100, taxCode: "IVA21", taxRateBp: 2100, base: 83, tax: 17, total: 100, stockBefore: 1, refLine: null, soldQty: null }],
    tenders: [{ type: "cash", amount: 100 }],
    total: 100,
    tax: 17,
    cashRounding: 0,
    change: 0,
    stock: [{ sku: "779", delta: -1 }],
    cashAmount: 0,
    reason: null,
    refundOf: null,
    authorizedBy: null,
    deviceAt: null,
    folio: null,
    folioNumber: null,
    provisionalFolio: null,
    prevHash: "",
    hash: "",
    signature: "",
    ...fields,
  };
}

/** A merged conflict as `reviewConflicts` returns it, resolved when `covered` is given. */
function conflict(detection: Detection, covered?: string[]): Conflict {
  const resolution: AuditEntry | null = covered
    ? {
        id: "T1:000001",
        conflictId: detection.id,
        conflictKind: detection.kind,
        action: "accept-backorder",
        reason: "waits",
        quantity: null,
        value: null,
        manager: "gerente",
        managerName: "Ana Gerente",
        at: "2026-12-04T16:00:00.000Z",
        hlc: "0000000000005000.0000.T1",
        replica: "T1",
        outcome: "standing",
        records: [],
        tickets: covered,
      }
    : null;
  return {
    ...detection,
    status: covered ? "resolved" : "open",
    detectedByAll: [detection.detectedBy],
    resolution,
    actions: actionsFor(detection),
    audit: resolution ? [resolution] : [],
  };
}

describe("resolved conflicts stay resolved", function () {
  const a = record("A-T1-00000001", "0000000000001000.0000.T1", {});
  const b = record("A-T2-00000001", "0000000000002000.0000.T2", {});
  const later = record("A-T1-00000002", "0000000000006000.0000.T1", { lines: [{ ...a.lines[0]!, stockBefore: -1 }] });
  const input = { replica: "relay", now: "0000000000009000.0000.relay", windowApplied: {}, own: new Map<string, Detection>() };
  const first = reconcileOversells({ ...input, stock: { "779": -1 }, records: [a, b], merged: [] })[0]!;

  it("writes nothing for covered tickets", function () {
    const writes = reconcileOversells({ ...input, stock: { "779": -1 }, records: [a, b], merged: [conflict(first, [a.id, b.id])] });
    expect(writes).to.deep.equal([]);
  });

  it("opens a new conflict for new tickets", function () {
    const writes = reconcileOversells({ ...input, stock: { "779": -2 }, records: [a, b, later], merged: [conflict(first, [a.id, b.id])] });
    expect(writes).to.have.length(1);
    expect(writes[0]!.id).to.equal(oversellId("779", 2));
    expect(writes[0]!.id).to.equal("oversell:779:2");
    expect(writes[0]!.tickets).to.deep.equal([later.id]);
    expect(writes[0]!.shortfall).to.equal(1);
  });

  it("adds to the open generation", function () {
    const second = { ...first, id: "oversell:779:2", tickets: [later.id] };
    const target = targetConflict("oversell:779", [a.id, b.id, later.id, "A-T3-00000001"], [conflict(first, [a.id, b.id]), conflict(second)]);
    expect(target).to.deep.equal({ id: "oversell:779:2", tickets: [later.id, "A-T3-00000001"] });
  });

  it("moves tickets named after resolving", function () {
    // T2 named ticket c while apart from the manager who resolved with a and b.
    const named = { ...first, tickets: [a.id, b.id, "A-T2-00000002"] };
    expect(targetConflict("oversell:779", named.tickets, [conflict(named, [a.id, b.id])])).to.deep.equal({
      id: "oversell:779:2",
      tickets: ["A-T2-00000002"],
    });
  });

  it("ignores ids of other subjects", function () {
    expect(targetConflict("oversell:77", ["x"], [conflict({ ...first, id: "oversell:779" }, [])])).to.deep.equal({ id: "oversell:77", tickets: ["x"] });
  });
});

describe("void conflicts", function () {
  const ticket = record("A-T1-00000001", "0000000000001000.0000.T1", { offline: false });
  const voided = record("A-T2-00000001", "0000000000002000.0000.T2", { kind: "void", voidOf: ticket.id, stock: [{ sku: "779", delta: 1 }] });
  const refund = record("A-T3-00000001", "0000000000001500.0000.T3", { kind: "refund", refundOf: ticket.id, stock: [{ sku: "779", delta: 1 }] });
  const input = { replica: "relay", now: "0000000000009000.0000.relay", own: new Map<string, Detection>(), merged: [] };

  it("flags a void and a refund made apart", function () {
    const writes = reconcileVoids({ ...input, records: [ticket, voided, refund] });
    expect(writes.map((d) => [d.id, d.kind])).to.deep.equal([[`void-refund:${ticket.id}`, "void-refund"]]);
    expect(writes[0]!.tickets).to.deep.equal([ticket.id, refund.id, voided.id]);
  });

  it("flags two voids of one ticket", function () {
    const again = { ...voided, id: "A-T3-00000002", hlc: "0000000000003000.0000.T3" };
    const writes = reconcileVoids({ ...input, records: [ticket, voided, again] });
    expect(writes.map((d) => d.id)).to.deep.equal([`double-void:${ticket.id}`]);
  });

  it("leaves a plain void alone", function () {
    expect(reconcileVoids({ ...input, records: [ticket, voided] })).to.deep.equal([]);
  });
});
