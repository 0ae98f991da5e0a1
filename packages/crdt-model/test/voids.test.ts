import { expect } from "chai";
import {
  RuleError,
  ValidationError,
  buildZReport,
  draftActionRecords,
  mirrorPayout,
  parseResolutionRequest,
  parseVoidRequest,
  priceRefund,
  priceVoid,
} from "../src/index.ts";
import type { Conflict, LedgerRecord } from "../src/index.ts";

/** Builds a sale of 3 units at ₡3,450.00 (13% VAT included), ₡5,000.00 by card and the rest in cash with ₡3,700.00 change. */
function sale(overrides: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    id: "A-T1-00000001",
    kind: "sale",
    branch: "A",
    terminal: "T1",
    seq: 1,
    hlc: "0000000000001000.0000.T1",
    at: "2026-12-04T15:00:00.000Z",
    businessDay: "2026-12-04",
    timeZone: "America/Costa_Rica",
    epoch: 1,
    offline: false,
    cashier: "cajero",
    requestId: null,
    lines: [
      { sku: "7791", barcode: null, name: "Café", qty: 3, unitPrice: 345000, taxCode: "IVA13", taxRateBp: 1300, base: 915929, tax: 119071, total: 1035000, stockBefore: 10, refLine: null, soldQty: null },
    ],
    tenders: [
      { type: "card", amount: 500000 },
      { type: "cash", amount: 905000 },
    ],
    total: 1035000,
    tax: 119071,
    cashRounding: 0,
    change: 370000,
    stock: [{ sku: "7791", delta: -3 }],
    cashAmount: 0,
    reason: null,
    refundOf: null,
    authorizedBy: null,
    deviceAt: null,
    folio: "00100001040000000001",
    folioNumber: 1,
    provisionalFolio: null,
    prevHash: "",
    hash: "",
    signature: "",
    ...overrides,
  };
}

const STORE = { currency: "CRC", cashRoundingIncrement: 500 };

function voidOf(original: LedgerRecord, id = "A-T2-00000001"): LedgerRecord {
  const priced = priceVoid(original, []);
  return sale({ id, kind: "void", terminal: "T2", voidOf: original.id, folio: null, folioNumber: null, change: 0, ...priced });
}

describe("voids", function () {
  it("mirrors the whole sale", function () {
    const priced = priceVoid(sale(), []);
    expect(priced.total).to.equal(1035000);
    expect(priced.tax).to.equal(119071);
    expect(priced.tenders).to.deep.equal([
      { type: "card", amount: 500000 },
      { type: "cash", amount: 535000 },
    ]);
    expect(priced.stock).to.deep.equal([{ sku: "7791", delta: 3 }]);
  });

  it("rejects a partly refunded ticket", function () {
    const refund = sale({ id: "A-T1-00000002", kind: "refund", refundOf: "A-T1-00000001" });
    expect(() => priceVoid(sale(), [refund]))
      .to.throw(RuleError, /refund what is left of it instead/)
      .with.property("code", "TICKET_REFUNDED");
  });

  it("rejects a second void", function () {
    expect(() => priceVoid(sale(), [voidOf(sale())]))
      .to.throw(RuleError)
      .with.property("code", "TICKET_VOIDED");
  });

  it("blocks refunds of a voided ticket", function () {
    const request = { original: "A-T1-00000001", lines: null, tenders: [{ type: "cash" as const, amount: 1035000 }], manager: "gerente", pin: "2468", reason: null, requestId: null };
    expect(() => priceRefund(sale(), [voidOf(sale())], request, STORE))
      .to.throw(RuleError)
      .with.property("code", "TICKET_VOIDED");
  });

  it("requires a reason", function () {
    expect(() => parseVoidRequest({ original: "A-T1-00000001", manager: "gerente", pin: "2468" }))
      .to.throw(ValidationError)
      .with.property("code", "REASON_MISSING");
  });

  it("shows in the Z report", function () {
    const report = buildZReport([sale(), voidOf(sale())], "2026-12-04");
    expect(report.sales.count).to.equal(1);
    expect(report.voids).to.deep.equal({ count: 1, total: 1035000, tax: 119071, cashRounding: 0, tickets: ["A-T1-00000001"] });
    expect(report.net).to.deep.equal({ total: 0, tax: 0 });
    expect(report.tenders.cash).to.deep.equal({ sales: 535000, refunds: 0, voids: 535000 });
    expect(report.taxes).to.deep.equal([{ rateBp: 1300, base: 0, tax: 0 }]);
  });
});

describe("records of conflict actions", function () {
  const conflict = { id: "oversell:7791", kind: "oversell", sku: "7791", shortfall: 1, tickets: ["A-T1-00000001"] } as Conflict;
  const context = { ticket: sale(), related: [], ...STORE, requestId: "resolution:T1:000001", manager: "gerente" };
  const request = (fields: Record<string, unknown>) => parseResolutionRequest({ manager: "gerente", pin: "2468", reason: "two found in the back", ...fields });

  it("adds found stock", function () {
    const [draft] = draftActionRecords(conflict, request({ action: "record-found-stock", quantity: 2 }), context);
    expect(draft!.kind).to.equal("stock-adjustment");
    expect(draft!.fields.stock).to.deep.equal([{ sku: "7791", delta: 2 }]);
    expect(draft!.fields.requestId).to.equal("resolution:T1:000001");
    expect(draft!.fields.authorizedBy).to.equal("gerente");
  });

  it("refunds the shortfall the way it was paid", function () {
    const [draft] = draftActionRecords(conflict, request({ action: "refund-customer", value: "A-T1-00000001" }), context);
    expect(draft!.kind).to.equal("refund");
    expect(draft!.fields.refundOf).to.equal("A-T1-00000001");
    expect(draft!.fields.total).to.equal(345000);
    expect(draft!.fields.lines!.map((l) => l.qty)).to.deep.equal([1]);
    expect(draft!.fields.tenders).to.deep.equal([{ type: "card", amount: 345000 }]);
    expect(draft!.fields.stock).to.deep.equal([{ sku: "7791", delta: 1 }]);
  });

  it("writes nothing to accept a backorder", function () {
    expect(draftActionRecords(conflict, request({ action: "accept-backorder" }), context)).to.deep.equal([]);
  });

  it("pays cash rounded to the increment", function () {
    expect(mirrorPayout(sale({ tenders: [{ type: "cash", amount: 1035000 }] }), 345002, 500)).to.deep.equal([{ type: "cash", amount: 345000 }]);
    expect(mirrorPayout(sale({ tenders: [{ type: "cash", amount: 1035000 }] }), 2, 500)).to.deep.equal([{ type: "other", amount: 2 }]);
  });
});
