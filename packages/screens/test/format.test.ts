import { expect } from "chai";
import { amountForInput, formatMoney, instantOf, parseAmount } from "../src/app/shared/format.ts";

describe("amount entry", function () {
  const cases: [string, number | null][] = [
    ["1500", 150000],
    ["1500,5", 150050],
    ["1500.50", 150050],
    ["1.500", 150000],
    ["1.500,50", 150050],
    ["1,500.50", 150050],
    ["1.234.567", 123456700],
    ["$ 89,99", 8999],
    ["0,01", 1],
    ["12,345", 1234500],
    ["1,2,3", null],
    ["12.34.56", null],
    ["abc", null],
    ["", null],
    ["1500,505", null],
  ];
  for (const [text, minor] of cases) {
    it(`parses ${JSON.stringify(text)}`, function () {
      expect(parseAmount(text, 2)).to.equal(minor);
    });
  }

  it("parses whole units without decimals", function () {
    expect(parseAmount("1500", 0)).to.equal(1500);
    expect(parseAmount("1.500", 0)).to.equal(1500);
  });

  it("writes amounts back for the field", function () {
    expect(amountForInput(8999, 2)).to.equal("89.99");
    expect(parseAmount(amountForInput(8999, 2), 2)).to.equal(8999);
    expect(amountForInput(5, 2)).to.equal("0.05");
  });
});

describe("money and times", function () {
  it("formats minor units in es-419", function () {
    expect(formatMoney(123450, { currency: "ARS", minorUnitDigits: 2 })).to.equal("$1,234.50");
  });

  it("reads ISO and HLC instants", function () {
    expect(instantOf("2025-03-10T13:00:00.000Z")!.toISOString()).to.equal("2025-03-10T13:00:00.000Z");
    expect(instantOf("0001741611600000.0003.T2")!.toISOString()).to.equal("2025-03-10T13:00:00.000Z");
    expect(instantOf("not a time")).to.equal(null);
    expect(instantOf(null)).to.equal(null);
  });
});
