import { expect } from "chai";
import {
  ValidationError,
  buildZReport,
  businessDayOf,
  priceLines,
  priceRefund,
  settleTenders,
  taxProfile,
} from "../src/index.ts";
import type { LedgerRecord, SaleLine } from "../src/index.ts";

const included = { pricesIncludeTax: true, rounding: "per-line" as const };

function taxBy(lines: { tax: number }[]) {
  return lines.reduce((sum, line) => sum + line.tax, 0);
}

describe("line tax, Costa Rica", function () {
  it("splits 13% and 1% lines exactly", function () {
    const lines = priceLines(
      [
        { unitPrice: 125000, qty: 1, rateBp: 1300 },
        { unitPrice: 101000, qty: 1, rateBp: 100 },
      ],
      included,
    );
    expect(lines[0]).to.deep.equal({ base: 110619, tax: 14381, total: 125000 });
    expect(lines[1]).to.deep.equal({ base: 100000, tax: 1000, total: 101000 });
    expect(lines[0]!.total + lines[1]!.total).to.equal(226000);
    expect(lines[0]!.base + lines[1]!.base).to.equal(210619);
  });

  it("fails a base-first computation", function () {
    // Rounding the base first and taxing it gives 143.80 and a total of 2,259.99.
    const baseFirstTax = Math.round(110619 * 0.13);
    expect(baseFirstTax).to.equal(14380);
    const [line] = priceLines([{ unitPrice: 125000, qty: 1, rateBp: 1300 }], included);
    expect(line!.tax).to.not.equal(baseFirstTax);
    expect(line!.base + line!.tax).to.equal(125000);
  });

  it("rounds three lines per line", function () {
    const lines = priceLines(
      [35000, 47500, 59000].map((unitPrice) => ({ unitPrice, qty: 1, rateBp: 1300 })),
      included,
    );
    expect(lines.map((l) => l.tax)).to.deep.equal([4027, 5465, 6788]);
    expect(taxBy(lines)).to.equal(16280);
    expect(lines.reduce((sum, l) => sum + l.total, 0)).to.equal(141500);
  });

  it("rounds three lines per rate group", function () {
    const lines = priceLines(
      [35000, 47500, 59000].map((unitPrice) => ({ unitPrice, qty: 1, rateBp: 1300 })),
      { pricesIncludeTax: true, rounding: "per-rate-group" },
    );
    expect(taxBy(lines)).to.equal(16279);
    expect(lines.reduce((sum, l) => sum + l.total, 0)).to.equal(141500);
    for (const line of lines) expect(line.base + line.tax).to.equal(line.total);
  });
});

describe("line tax, Mexico before tax", function () {
  it("adds 16% to each base", function () {
    const lines = priceLines(
      [1035, 2041, 333].map((unitPrice) => ({ unitPrice, qty: 1, rateBp: 1600 })),
      { pricesIncludeTax: false, rounding: "per-line" },
    );
    expect(lines.map((l) => l.tax)).to.deep.equal([166, 327, 53]);
    expect(taxBy(lines)).to.equal(546);
    expect(lines.reduce((sum, l) => sum + l.total, 0)).to.equal(3955);
  });
});

describe("cash rounding to five colones", function () {
  const cr = taxProfile("CR");
  const total = 3 * 345000 + 95250;
  const options = { currency: "CRC", cashRoundingIncrement: cr.cashRoundingIncrement };

  it("rounds the cash due once", function () {
    expect(total).to.equal(1130250);
    const settled = settleTenders([{ type: "card", amount: 500000 }, { type: "cash", amount: 1000000 }], total, options);
    expect(settled.cashDue + settled.cashRounding).to.equal(630500);
    expect(settled.change).to.equal(369500);
    expect(settled.cashRounding).to.equal(250);
    expect(settled.cashIn).to.equal(630500);
  });

  it("forgets a tender added and removed", function () {
    const tenders = [{ type: "card" as const, amount: 500000 }, { type: "cash" as const, amount: 1000000 }];
    const before = settleTenders(tenders, total, options);
    const withExtra = [...tenders.slice(0, 1), { type: "card" as const, amount: 100000 }, ...tenders.slice(1)];
    settleTenders(withExtra, total, options);
    const removed = withExtra.filter((_, index) => index !== 1);
    expect(settleTenders(removed, total, options)).to.deep.equal(before);
  });

  it("rejects a tender in another currency", function () {
    expect(() => settleTenders([{ type: "cash", amount: 1000, currency: "USD" }], 1000, options)).to.throw(
      ValidationError,
      /"USD" but this store takes CRC only/,
    );
  });
});

describe("business day in the store zone", function () {
  it("follows Mexico City after DST", function () {
    expect(businessDayOf(new Date("2023-04-02T17:00:00Z"), "America/Mexico_City")).to.equal("2023-04-02");
    expect(businessDayOf(new Date("2023-04-03T05:30:00Z"), "America/Mexico_City")).to.equal("2023-04-02");
    expect(businessDayOf(new Date("2023-04-03T05:30:00Z"), "UTC")).to.equal("2023-04-03");
  });
});

function line(overrides: Partial<SaleLine>): SaleLine {
  return {
    sku: "7791",
    barcode: null,
    name: "Café",
    qty: 3,
    unitPrice: 345000,
    taxCode: "IVA13",
    taxRateBp: 1300,
    base: 915929,
    tax: 119071,
    total: 1035000,
    stockBefore: 10,
    refLine: null,
    soldQty: null,
    ...overrides,
  };
}

function record(overrides: Partial<LedgerRecord>): LedgerRecord {
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
    cashier: null,
    requestId: null,
    lines: [line({})],
    tenders: [{ type: "cash", amount: 1035000 }],
    total: 1035000,
    tax: 119071,
    cashRounding: 0,
    change: 0,
    stock: [{ sku: "7791", delta: -3 }],
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
    ...overrides,
  };
}

describe("refunds", function () {
  const store = { currency: "CRC", cashRoundingIncrement: 0 };
  const original = record({});
  const request = (qty: number, amount: number) => ({
    original: original.id,
    lines: [{ line: 1, qty }],
    tenders: [{ type: "card" as const, amount }],
    manager: "gerente",
    pin: "2468",
    reason: null,
    requestId: null,
  });

  it("adds partial refunds up to the line", function () {
    const first = priceRefund(original, [], request(1, 345000), store);
    expect(first.total).to.equal(345000);
    const firstRecord = record({ id: "A-T1-00000002", kind: "refund", refundOf: original.id, lines: first.lines, total: first.total, tax: first.tax });
    const second = priceRefund(original, [firstRecord], request(2, 690000), store);
    expect(first.total + second.total).to.equal(original.total);
    expect(first.tax + second.tax).to.equal(original.tax);
    expect(second.stock).to.deep.equal([{ sku: "7791", delta: 2 }]);
  });

  it("rejects more than is left", function () {
    const first = priceRefund(original, [], request(2, 690000), store);
    const refunded = record({ id: "A-T2-00000001", kind: "refund", refundOf: original.id, lines: first.lines, total: first.total, tax: first.tax });
    expect(() => priceRefund(original, [refunded], request(2, 690000), store)).to.throw(
      ValidationError,
      /sold 3, 2 already refunded, so at most 1 can be refunded, not 2/,
    );
  });
});

describe("Z report", function () {
  it("balances the cash drawer", function () {
    const records = [
      record({ id: "A-T1-00000001", seq: 1, kind: "cash-movement", reason: "opening-float", cashAmount: 5000000, lines: [], tenders: [], total: 0, tax: 0, stock: [] }),
      record({ id: "A-T1-00000002", seq: 2, tenders: [{ type: "card", amount: 500000 }, { type: "cash", amount: 1000000 }], total: 1035000, change: 465000 }),
      record({ id: "A-T1-00000003", seq: 3, kind: "refund", refundOf: "A-T1-00000002", lines: [line({ qty: 1, total: 345000, tax: 39690, base: 305310, refLine: 1, soldQty: 3 })], tenders: [{ type: "cash", amount: 345000 }], total: 345000, tax: 39690, stock: [] }),
      record({ id: "A-T1-00000004", seq: 4, kind: "cash-movement", reason: "cash-out", cashAmount: 100000, lines: [], tenders: [], total: 0, tax: 0, stock: [] }),
      record({ id: "A-T1-00000005", seq: 5, kind: "cash-movement", reason: "closing-count", cashAmount: 5090000, lines: [], tenders: [], total: 0, tax: 0, stock: [] }),
    ];
    const report = buildZReport(records, "2026-12-04");
    expect(report.sales).to.deep.equal({ count: 1, total: 1035000, tax: 119071, cashRounding: 0 });
    expect(report.refunds).to.deep.equal({ count: 1, total: 345000, tax: 39690, cashRounding: 0 });
    expect(report.net).to.deep.equal({ total: 690000, tax: 79381 });
    expect(report.taxes).to.deep.equal([{ rateBp: 1300, base: 915929 - 305310, tax: 119071 - 39690 }]);
    expect(report.tenders.cash).to.deep.equal({ sales: 535000, refunds: 345000, voids: 0 });
    expect(report.tenders.card).to.deep.equal({ sales: 500000, refunds: 0, voids: 0 });
    // 50,000.00 float + 5,350.00 cash sales - 3,450.00 refund - 1,000.00 cash out = 50,900.00.
    expect(report.sessions).to.have.length(1);
    expect(report.sessions[0]!.expected).to.equal(5090000);
    expect(report.cash).to.deep.equal({ expected: 5090000, counted: 5090000, difference: 0 });
  });
});
