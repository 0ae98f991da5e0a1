import { expect } from "chai";
import { businessDayOf } from "@mercora/crdt-model";
import { renderReceiptText } from "../src/index.ts";
import { saleRecord } from "./helpers/records.ts";

const options = { columns: 48 as const, currency: "MXN", minorUnitDigits: 2, store: { name: "Abarrotes La Güera" } };

function printedAt(at: string, timeZone: string): string {
  const text = renderReceiptText(saleRecord({ at, timeZone, businessDay: businessDayOf(new Date(at), timeZone) }), options);
  return text.split("\n").find((line) => /\d\d\/\d\d\/\d{4}/.test(line)) ?? "";
}

describe("receipt time after DST", function () {
  it("prints Mexico City time", function () {
    expect(printedAt("2023-04-02T17:00:00Z", "America/Mexico_City")).to.include("02/04/2023 11:00");
  });

  it("prints late sales on the store's day", function () {
    expect(printedAt("2023-04-03T05:30:00Z", "America/Mexico_City")).to.include("02/04/2023 23:30");
    expect(businessDayOf(new Date("2023-04-03T05:30:00Z"), "America/Mexico_City")).to.equal("2023-04-02");
  });

  it("prints Tijuana time", function () {
    expect(printedAt("2023-04-02T17:00:00Z", "America/Tijuana")).to.include("02/04/2023 10:00");
  });
});
