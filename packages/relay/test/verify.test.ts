import { expect } from "chai";
import type { LedgerRecord } from "@mercora/crdt-model";
import { verifyRecord } from "../src/index.ts";

const rules = { pricesIncludeTax: true, rounding: "per-line" as const };

function sale(): LedgerRecord {
  return {
    id: "CR1-T1-00000001",
    kind: "sale",
    branch: "CR1",
    terminal: "T1",
    seq: 1,
    hlc: "0000000000001000.0000.T1",
    at: "2026-12-04T15:00:00.000Z",
    businessDay: "2026-12-04",
    timeZone: "America/Costa_Rica",
    epoch: 1,
    offline: false,
    cashier: null,
    requestId: null,
    lines: [
      { sku: "7441001100017", barcode: null, name: "Leche", qty: 1, unitPrice: 125000, taxCode: "IVA13", taxRateBp: 1300, base: 110619, tax: 14381, total: 125000, stockBefore: 5, refLine: null, soldQty: null },
    ],
    tenders: [{ type: "cash", amount: 130000 }],
    total: 125000,
    tax: 14381,
    cashRounding: 0,
    change: 5000,
    stock: [{ sku: "7441001100017", delta: -1 }],
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

describe("relay record verification", function () {
  it("accepts a ticket computed alike", function () {
    expect(verifyRecord(sale(), "CR1", "T1", rules, 500)).to.equal(null);
  });

  it("flags a line tax computed differently", function () {
    const record = sale();
    // Base rounded first, then taxed: 1,106.19 x 13% = 143.80.
    record.lines[0] = { ...record.lines[0]!, tax: 14380, base: 110620 };
    record.tax = 14380;
    expect(verifyRecord(record, "CR1", "T1", rules, 500)).to.include("the relay computes total 125000 and tax 14381");
  });

  it("flags a wrong cash rounding", function () {
    const record = sale();
    record.cashRounding = 250;
    record.change = 4750;
    expect(verifyRecord(record, "CR1", "T1", rules, 500)).to.include("cash rounding: the relay computes 0");
  });

  it("flags a record of another terminal", function () {
    expect(verifyRecord(sale(), "CR1", "T2", rules, 500)).to.include("not ledger owner T2");
  });
});
