import { expect } from "chai";
import { buildZReport } from "@mercora/crdt-model";
import { renderZReportEscPos, renderZReportText } from "../src/index.ts";
import { decodeEscPos, hex } from "./helpers/escpos-decoder.ts";
import { BAKERY, PROFILE_58, saleRecord } from "./helpers/records.ts";

function report() {
  const opening = saleRecord({ id: "A-T1-00000001", seq: 1, kind: "cash-movement", reason: "opening-float", cashAmount: 500000, lines: [], tenders: [], total: 0, tax: 0, change: 0 });
  const sale = saleRecord({ id: "A-T1-00000002", seq: 2 });
  const closing = saleRecord({ id: "A-T1-00000003", seq: 3, kind: "cash-movement", reason: "closing-count", cashAmount: 695000, lines: [], tenders: [], total: 0, tax: 0, change: 0 });
  return buildZReport([opening, sale, closing], sale.businessDay);
}

describe("Z report printing", function () {
  it("prints totals, taxes and the drawer", function () {
    const text = renderZReportText(report(), { ...BAKERY, columns: 32 });
    expect(text).to.include("REPORTE Z");
    expect(text).to.match(/Ventas \(1\)\s+\$5,950\.00/);
    expect(text).to.match(/Esperado\s+\$6,950\.00/);
    // 5,000.00 float + 2,000.00 cash - 50.00 change = 6,950.00 expected; 6,950.00 counted.
    expect(text).to.match(/Contado\s+\$6,950\.00/);
    expect(text).to.match(/Diferencia\s+\$0\.00/);
    for (const line of text.trimEnd().split("\n")) expect(line.length, line).to.be.at.most(32);
  });

  it("encodes for a 58 mm printer", function () {
    const bytes = renderZReportEscPos(report(), { ...BAKERY, printer: PROFILE_58 });
    expect(hex(bytes.subarray(0, 5))).to.equal("1B 40 1B 74 02");
    const job = decodeEscPos(bytes);
    expect(job.lines.some((line) => line.includes("REPORTE Z"))).to.equal(true);
    for (const width of job.lineWidths) expect(width).to.be.at.most(32);
    expect(job.blocks.at(-1)).to.deep.equal({ kind: "cut", partial: true });
  });
});
