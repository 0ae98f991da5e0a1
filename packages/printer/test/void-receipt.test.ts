import { expect } from "chai";
import { buildZReport, priceVoid } from "@mercora/crdt-model";
import { renderReceiptEscPos, renderReceiptText, renderZReportText } from "@mercora/printer";
import type { ReceiptOptions } from "@mercora/printer";
import { BAKERY, saleRecord } from "./helpers/records.ts";

const OPTIONS: ReceiptOptions = { columns: 32, currency: "ARS", minorUnitDigits: 2, store: { name: "Panadería La Espiga" } };

function voidRecord() {
  const sale = saleRecord();
  return saleRecord({
    id: "suc01-caja02-00000007",
    kind: "void",
    terminal: "caja02",
    voidOf: sale.id,
    reason: "cobro duplicado",
    change: 0,
    ...priceVoid(sale, []),
  });
}

describe("void receipt", function () {
  it("marks the receipt as void", function () {
    const text = renderReceiptText(voidRecord(), { ...OPTIONS, folio: { number: "001-00000121", provisional: false, voided: true } });
    const lines = text.split("\n");
    expect(lines.filter((line) => line.includes("*** ANULACIÓN ***"))).to.have.length(2);
    expect(text).to.include("Folio anulado: 001-00000121");
    expect(text).to.include("Ticket anulado:");
    expect(text).to.include("suc01-caja01-00000042");
    expect(text).to.include("Motivo: cobro duplicado");
    expect(lines.every((line) => [...line].length <= 32)).to.equal(true);
  });

  it("prints in English", function () {
    const text = renderReceiptText(voidRecord(), { ...OPTIONS, locale: "en", folio: { number: "001-00000121", provisional: false, voided: true } });
    expect(text).to.include("*** VOID ***");
    expect(text).to.include("Voided folio: 001-00000121");
  });

  it("renders as ESC/POS", function () {
    const bytes = renderReceiptEscPos(voidRecord(), BAKERY);
    expect(Buffer.from(bytes).toString("latin1")).to.include("ANULACI");
  });

  it("lists voids in the Z report", function () {
    const report = buildZReport([saleRecord(), voidRecord()], "2025-03-14");
    const text = renderZReportText(report, OPTIONS);
    expect(text).to.match(/Anulaciones \(1\) +-\$5,950\.00/);
    expect(text).to.match(/Neto +\$0\.00/);
    expect(text).to.include("Anulaciones en efectivo");
  });
});
