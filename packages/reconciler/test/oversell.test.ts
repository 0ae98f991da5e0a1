import { expect } from "chai";
import type { LedgerRecord } from "@mercora/crdt-model";
import { involvedTickets, oversellId, reconcileOversells } from "../src/index.ts";

function sale(id: string, terminal: string, seq: number, hlc: string, sku: string, qty: number, stockBefore: number): LedgerRecord {
  return {
    id,
    kind: "sale",
    branch: "A",
    terminal,
    seq,
    hlc,
    at: "2026-12-04T15:00:00.000Z",
    businessDay: "2026-12-04",
    timeZone: "America/Argentina/Buenos_Aires",
    epoch: 1,
    offline: true,
    cashier: null,
    requestId: null,
    lines: [{ sku, barcode: null, name: "Yerba", qty, unitPrice: 100, taxCode: "IVA21", taxRateBp: 2100, base: 83 * qty, tax: 17 * qty, total: 100 * qty, stockBefore, refLine: null, soldQty: null }],
    tenders: [{ type: "cash", amount: 100 * qty }],
    total: 100 * qty,
    tax: 17 * qty,
    cashRounding: 0,
    change: 0,
    stock: [{ sku, delta: -qty }],
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
  };
}

describe("oversell reconciler", function () {
  const a = sale("A-T1-1", "T1", 1, "0000000000002000.0000.T1", "779", 1, 1);
  const b = sale("A-T2-1", "T2", 1, "0000000000001000.0000.T2", "779", 1, 1);
  const c = sale("A-T3-1", "T3", 1, "0000000000003000.0000.T3", "779", 1, 1);

  it("names concurrent claims in HLC order", function () {
    const sales = [a, b].map((record) => ({ record, qty: 1, stockBefore: 1 }));
    expect(involvedTickets(sales)).to.deep.equal(["A-T2-1", "A-T1-1"]);
  });

  it("leaves sequential sales out", function () {
    const first = sale("A-T1-1", "T1", 1, "0000000000001000.0000.T1", "779", 1, 2);
    const second = sale("A-T2-1", "T2", 1, "0000000000002000.0000.T2", "779", 1, 1);
    const override = sale("A-T2-2", "T2", 2, "0000000000003000.0000.T2", "779", 1, 0);
    const sales = [first, second, override].map((record) => ({ record, qty: 1, stockBefore: record.lines[0]!.stockBefore }));
    expect(involvedTickets(sales)).to.deep.equal(["A-T2-2"]);
  });

  it("detects one conflict with shortfall", function () {
    const writes = reconcileOversells({
      replica: "relay",
      now: "0000000000009000.0000.relay",
      windowApplied: { T1: 0, T2: 0, T3: 0 },
      stock: { "779": -2 },
      records: [a, b, c],
      own: new Map(),
      merged: [],
    });
    expect(writes).to.have.length(1);
    expect(writes[0]).to.include({ id: oversellId("779"), kind: "oversell", shortfall: 2, stock: -2, detectedBy: "relay" });
    expect(writes[0]!.tickets).to.deep.equal(["A-T2-1", "A-T1-1", "A-T3-1"]);
  });

  it("writes nothing the second time", function () {
    const input = {
      replica: "relay",
      now: "0000000000009000.0000.relay",
      windowApplied: { T1: 0, T2: 0, T3: 0 },
      stock: { "779": -2 },
      records: [a, b, c],
      merged: [],
    };
    const first = reconcileOversells({ ...input, own: new Map() });
    const again = reconcileOversells({ ...input, now: "0000000000010000.0000.relay", own: new Map(first.map((d) => [d.id, d])) });
    expect(again).to.deep.equal([]);
  });

  it("ignores sales before the window", function () {
    const writes = reconcileOversells({
      replica: "relay",
      now: "0000000000009000.0000.relay",
      windowApplied: { T1: 1, T2: 1, T3: 0 },
      stock: { "779": -1 },
      records: [a, b, c],
      own: new Map(),
      merged: [],
    });
    expect(writes[0]!.tickets).to.deep.equal(["A-T3-1"]);
  });
});
