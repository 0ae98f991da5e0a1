import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "chai";
import type { LedgerRecord, SaleLine } from "@mercora/crdt-model";
import { formatAmount, renderReceiptText, writeReceipt } from "@mercora/printer";
import type { ReceiptOptions } from "@mercora/printer";

const STORE = {
  name: "Autoservicio La Esquina de Ñuñoa",
  address: "Av. Corrientes 1234, C1043 CABA",
  taxId: "CUIT 30-71234567-9",
};

const ARS_32: ReceiptOptions = { columns: 32, currency: "ARS", minorUnitDigits: 2, store: STORE };

function saleLine(overrides: Partial<SaleLine>): SaleLine {
  return {
    sku: "7790000000001",
    barcode: null,
    name: "Producto",
    qty: 1,
    unitPrice: 100,
    taxCode: "IVA21",
    taxRateBp: 2100,
    base: 83,
    total: 100,
    tax: 17,
    stockBefore: 50,
    refLine: null,
    soldQty: null,
    ...overrides,
  };
}

/**
 * Builds a sale of two lines at two VAT rates, paid by card and cash with change.
 * Taxes are the tax-included splits of crdt-model's `splitTaxIncluded`:
 * 345000 at 21% is 285124 + 59876, 250000 at 10.5% is 226244 + 23756.
 */
function saleRecord(overrides: Partial<LedgerRecord> = {}): LedgerRecord {
  return {
    id: "suc01-caja01-00000042",
    kind: "sale",
    branch: "suc01",
    terminal: "caja01",
    seq: 42,
    hlc: "0000018f5a3c2b00-0000-caja01",
    at: "2025-03-14T18:45:30.000Z",
    businessDay: "2025-03-14",
    timeZone: "America/Argentina/Buenos_Aires",
    epoch: 1,
    offline: true,
    cashier: "María",
    requestId: null,
    lines: [
      saleLine({
        sku: "7790387000012",
        name: "Yerba Mate Playadito 1 Kg",
        qty: 1,
        unitPrice: 345000,
        total: 345000,
        tax: 59876,
      }),
      saleLine({
        sku: "7790040000023",
        name: "Galletitas Pepitas Rellenas Gold Mundo 200 Gr",
        qty: 2,
        unitPrice: 125000,
        taxCode: "IVA105",
        taxRateBp: 1050,
        total: 250000,
        tax: 23756,
      }),
    ],
    tenders: [
      { type: "card", amount: 400000 },
      { type: "cash", amount: 200000 },
    ],
    total: 595000,
    tax: 83632,
    cashRounding: 0,
    change: 5000,
    stock: [],
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

function cashMovementRecord(reason: string | null, cashAmount: number): LedgerRecord {
  return saleRecord({
    id: "suc01-caja01-00000001",
    kind: "cash-movement",
    seq: 1,
    offline: false,
    lines: [],
    tenders: [],
    total: 0,
    tax: 0,
    change: 0,
    cashAmount,
    reason,
  });
}

function printedLines(text: string): string[] {
  expect(text.endsWith("\n"), "receipt ends with a newline").to.equal(true);
  return text.slice(0, -1).split("\n");
}

function codePointWidth(line: string): number {
  return [...line.normalize("NFC")].length;
}

function expectWithinWidth(text: string, columns: number): void {
  for (const line of printedLines(text)) {
    expect(codePointWidth(line), `line ${JSON.stringify(line)}`).to.be.at.most(columns);
  }
}

/** Builds a label and an amount flush right, as the receipt prints totals. */
function alignedLine(label: string, amount: string, columns: number): string {
  return label + " ".repeat(columns - label.length - amount.length) + amount;
}

const EXPECTED_SALE_32 = [
  "Autoservicio La Esquina de Ñuñoa",
  "Av. Corrientes 1234, C1043 CABA",
  "       CUIT 30-71234567-9",
  "--------------------------------",
  "Ticket: suc01-caja01-00000042",
  "Terminal: caja01",
  "Cajero: María",
  "Fecha: 14/03/2025 15:45:30",
  "            OFFLINE",
  "--------------------------------",
  "Yerba Mate Playadito 1 Kg",
  "  1 x $3,450.00 ...... $3,450.00",
  "Galletitas Pepitas Rellenas Gold",
  "Mundo 200 Gr",
  "  2 x $1,250.00 ...... $2,500.00",
  "--------------------------------",
  "Base IVA 10.5%         $2,262.44",
  "IVA 10.5%                $237.56",
  "Base IVA 21%           $2,851.24",
  "IVA 21%                  $598.76",
  "--------------------------------",
  "TOTAL                  $5,950.00",
  "TARJETA                $4,000.00",
  "EFECTIVO               $2,000.00",
  "CAMBIO                    $50.00",
  "--------------------------------",
  "    ¡Gracias por su compra!",
  "",
].join("\n");

describe("renderReceiptText", () => {
  describe("sale with split tenders", () => {
    it("prints exact 32-column receipt", () => {
      expect(renderReceiptText(saleRecord(), ARS_32)).to.equal(EXPECTED_SALE_32);
    });

    it("fills 48-column lines", () => {
      const text = renderReceiptText(saleRecord(), { ...ARS_32, columns: 48 });
      const lines = printedLines(text);
      expectWithinWidth(text, 48);
      expect(lines).to.include("-".repeat(48));
      expect(lines).to.include("Galletitas Pepitas Rellenas Gold Mundo 200 Gr");
      expect(lines).to.include("  2 x $1,250.00 ...................... $2,500.00");
      expect(lines).to.include("TOTAL                                  $5,950.00");
      expect(lines).to.include("TARJETA                                $4,000.00");
      expect(lines).to.include("EFECTIVO                               $2,000.00");
      expect(lines).to.include("CAMBIO                                    $50.00");
      expect(lines).to.include("        Autoservicio La Esquina de Ñuñoa");
    });

    it("omits change when none", () => {
      const record = saleRecord({ tenders: [{ type: "transfer", amount: 595000 }], change: 0 });
      const lines = printedLines(renderReceiptText(record, ARS_32));
      expect(lines).to.include("TRANSFERENCIA          $5,950.00");
      expect(lines.some((line) => line.startsWith("CAMBIO"))).to.equal(false);
    });

    it("omits cashier and offline marker", () => {
      const lines = printedLines(renderReceiptText(saleRecord({ cashier: null, offline: false }), ARS_32));
      expect(lines.some((line) => line.startsWith("Cajero"))).to.equal(false);
      expect(lines.some((line) => line.includes("OFFLINE"))).to.equal(false);
    });

    it("prints English labels", () => {
      const text = renderReceiptText(saleRecord({ tenders: [{ type: "other", amount: 600000 }] }), {
        ...ARS_32,
        locale: "en",
        copy: true,
      });
      const lines = printedLines(text);
      expect(lines).to.include("Cashier: María");
      expect(lines).to.include("Date: 03/14/2025 15:45:30");
      expect(lines).to.include("VAT 21% base           $2,851.24");
      expect(lines).to.include("OTHER                  $6,000.00");
      expect(lines).to.include("CHANGE                    $50.00");
      expect(lines).to.include("  Thank you for your purchase!");
      expect(lines).to.include("          *** COPY ***");
    });
  });

  describe("long accented product names", () => {
    const names = [
      "Galletitas Pepitas Rellenas Gold Mundo 200 Gr",
      "Piña en almíbar Ñandú 820 Gr",
      // Decomposed (NFD) accents must be composed before measuring.
      "Piña en almíbar Ñandú 820 Gr Extra Grande Económica".normalize("NFD"),
      "Dulce de leche repostero San Ignacio Doña Clementina Cremosísimo 1 Kg",
      "Supercalifragilísticoespialidosoextralargo",
    ];

    for (const columns of [32, 48] as const) {
      it(`stay within ${columns} columns`, () => {
        const record = saleRecord({
          cashier: "María José Fernández de Córdoba y Ñáñez",
          lines: names.map((name, index) =>
            saleLine({ name, qty: 12, unitPrice: 9999999, total: 119999988, tax: 20826444, sku: `sku-${index}` }),
          ),
        });
        const text = renderReceiptText(record, { ...ARS_32, columns });
        expectWithinWidth(text, columns);
        expect(text, "text is NFC").to.equal(text.normalize("NFC"));
      });
    }

    it("wraps names without losing words", () => {
      const name = "Piña en almíbar Ñandú 820 Gr Extra Grande Económica";
      const record = saleRecord({ lines: [saleLine({ name })] });
      const lines = printedLines(renderReceiptText(record, ARS_32));
      const start = lines.indexOf("Piña en almíbar Ñandú 820 Gr");
      expect(start, "first name line").to.be.greaterThan(-1);
      expect(lines[start + 1]).to.equal("Extra Grande Económica");
      expect(lines[start + 2]).to.equal("  1 x $1.00 .............. $1.00");
    });

    it("moves wide totals below", () => {
      const record = saleRecord({
        lines: [saleLine({ qty: 1000, unitPrice: 999999999999, total: 999999999999000, tax: 0, taxRateBp: 0 })],
      });
      const text = renderReceiptText(record, ARS_32);
      const lines = printedLines(text);
      expectWithinWidth(text, 32);
      const index = lines.indexOf("  1000 x $9,999,999,999.99");
      expect(index, "quantity line").to.be.greaterThan(-1);
      expect(lines[index + 1]).to.equal("$9,999,999,999,990.00".padStart(32));
    });

    it("replaces control characters in names", () => {
      const record = saleRecord({ lines: [saleLine({ name: "Queso\tCremoso\n\u001b@Light\u200f 200 Gr" })] });
      const text = renderReceiptText(record, ARS_32);
      expect(printedLines(text)).to.include("Queso Cremoso @Light 200 Gr");
      expect(/[\u0000-\u0009\u000b-\u001f\u007f\u200f]/u.test(text)).to.equal(false);
    });
  });

  describe("date and time", () => {
    // Mexico City kept daylight saving time until October 2022 (UTC-5 in
    // July), while Costa Rica stays on UTC-6, so the zones differ then.
    const instant = "2022-07-15T17:05:09.000Z";

    it("uses Costa Rica time", () => {
      const record = saleRecord({ at: instant, timeZone: "America/Costa_Rica" });
      expect(printedLines(renderReceiptText(record, ARS_32))).to.include("Fecha: 15/07/2022 11:05:09");
    });

    it("uses Mexico City time", () => {
      const record = saleRecord({ at: instant, timeZone: "America/Mexico_City" });
      expect(printedLines(renderReceiptText(record, ARS_32))).to.include("Fecha: 15/07/2022 12:05:09");
    });

    it("prints the store's calendar date", () => {
      const record = saleRecord({ at: "2024-03-02T03:30:00.000Z", timeZone: "America/Costa_Rica" });
      expect(printedLines(renderReceiptText(record, ARS_32))).to.include("Fecha: 01/03/2024 21:30:00");
    });

    it("rejects an invalid time zone", () => {
      const record = saleRecord({ timeZone: "America/Atlantida" });
      expect(() => renderReceiptText(record, ARS_32)).to.throw(RangeError, /suc01-caja01-00000042.*America\/Atlantida/);
    });

    it("rejects an invalid timestamp", () => {
      const record = saleRecord({ at: "ayer a la tarde" });
      expect(() => renderReceiptText(record, ARS_32)).to.throw(RangeError, /ayer a la tarde/);
    });
  });

  describe("reprint copy marker", () => {
    it("prints COPIA at both ends", () => {
      const lines = printedLines(renderReceiptText(saleRecord(), { ...ARS_32, copy: true }));
      const markers = lines.filter((line) => line === "         *** COPIA ***");
      expect(markers).to.have.length(2);
      expect(lines[3], "marker below the store header").to.equal("         *** COPIA ***");
      expect(lines[lines.length - 1], "marker at the bottom").to.equal("         *** COPIA ***");
    });

    it("omits COPIA on originals", () => {
      const text = renderReceiptText(saleRecord(), { ...ARS_32, copy: false });
      expect(text.includes("COPIA")).to.equal(false);
    });
  });

  describe("cash movement receipt", () => {
    it("prints opening float exactly", () => {
      const text = renderReceiptText(cashMovementRecord("opening-float", 1000000), ARS_32);
      expect(text).to.equal(
        [
          "Autoservicio La Esquina de Ñuñoa",
          "Av. Corrientes 1234, C1043 CABA",
          "       CUIT 30-71234567-9",
          "--------------------------------",
          "Ticket: suc01-caja01-00000001",
          "Terminal: caja01",
          "Cajero: María",
          "Fecha: 14/03/2025 15:45:30",
          "--------------------------------",
          "       MOVIMIENTO DE CAJA",
          "Fondo inicial         $10,000.00",
          "",
        ].join("\n"),
      );
    });

    const reasons = [
      ["cash-in", "Entrada de efectivo", "Cash in"],
      ["cash-out", "Salida de efectivo", "Cash out"],
      ["closing-count", "Arqueo de cierre", "Closing count"],
    ] as const;

    for (const [reason, spanish, english] of reasons) {
      it(`labels ${reason} in both languages`, () => {
        const es = printedLines(renderReceiptText(cashMovementRecord(reason, 250050), ARS_32));
        const en = printedLines(renderReceiptText(cashMovementRecord(reason, 250050), { ...ARS_32, locale: "en" }));
        expect(es).to.include(alignedLine(spanish, "$2,500.50", 32));
        expect(en).to.include(alignedLine(english, "$2,500.50", 32));
      });
    }

    it("prints an unknown reason verbatim", () => {
      const lines = printedLines(renderReceiptText(cashMovementRecord("Pago a proveedor", 150000), ARS_32));
      expect(lines).to.include("Pago a proveedor       $1,500.00");
    });
  });

  describe("stock records", () => {
    it("lists SKUs with signed changes", () => {
      const record = saleRecord({
        kind: "stock-receipt",
        lines: [saleLine({ sku: "7790387000012", name: "Yerba Mate Playadito 1 Kg" })],
        tenders: [],
        stock: [
          { sku: "7790387000012", delta: 24 },
          { sku: "7790040000023", delta: -3 },
        ],
        reason: "Remito 0001-00004512",
      });
      const lines = printedLines(renderReceiptText(record, ARS_32));
      expect(lines).to.include("     INGRESO DE MERCADERÍA");
      expect(lines).to.include("Yerba Mate Playadito 1 Kg");
      expect(lines).to.include("  7790387000012 ............ +24");
      expect(lines).to.include("  7790040000023 ............. -3");
      expect(lines).to.include("Motivo: Remito 0001-00004512");
    });
  });

  describe("Intl spaces", () => {
    it("prints only plain spaces", () => {
      for (const locale of ["es-419", "en"] as const) {
        for (const currency of ["ARS", "CRC", "MXN"]) {
          // Names and store fields may carry no-break spaces too, e.g. pasted from a spreadsheet.
          const record = saleRecord({ lines: [saleLine({ name: "Café\u00a0Molido\u202f500\u2009Gr" })] });
          const store = { ...STORE, name: "Almacén\u00a0Don\u00a0Pepe" };
          const text = renderReceiptText(record, { ...ARS_32, locale, currency, store, copy: true });
          const whitespace = text.match(/\s/gu) ?? [];
          const unexpected = whitespace.filter((character) => character !== " " && character !== "\n");
          expect(unexpected, `${locale} ${currency}`).to.deep.equal([]);
        }
      }
    });
  });

  describe("options", () => {
    it("rejects unsupported column counts", () => {
      const options = { ...ARS_32, columns: 40 } as unknown as ReceiptOptions;
      expect(() => renderReceiptText(saleRecord(), options)).to.throw(RangeError, /columns 40/);
    });

    it("rejects unknown currency codes", () => {
      expect(() => renderReceiptText(saleRecord(), { ...ARS_32, currency: "PESOS" })).to.throw(RangeError);
    });
  });
});

describe("formatAmount", () => {
  it("replaces no-break spaces", () => {
    // es-AR separates the symbol with U+00A0 and fr groups digits with U+202F.
    expect(formatAmount(123450, "ARS", 2, "es-AR")).to.equal("$ 1.234,50");
    expect(formatAmount(123456789, "CRC", 2, "fr")).to.equal("1 234 567,89 ₡");
  });

  it("keeps large amounts exact", () => {
    expect(formatAmount(Number.MAX_SAFE_INTEGER, "ARS", 2, "es-419")).to.equal("$90,071,992,547,409.91");
  });

  it("formats negatives and zero digits", () => {
    expect(formatAmount(-5, "ARS", 2, "es-419")).to.equal("-$0.05");
    expect(formatAmount(0, "ARS", 2, "es-419")).to.equal("$0.00");
    expect(formatAmount(125000, "CRC", 0, "es-419")).to.equal("₡125,000");
    expect(formatAmount(1234567, "KWD", 3, "en")).to.equal("KWD 1,234.567");
  });

  it("rejects fractional minor units", () => {
    expect(() => formatAmount(12.5, "ARS", 2, "es-419")).to.throw(RangeError, /12.5/);
    expect(() => formatAmount(100, "ARS", -1, "es-419")).to.throw(RangeError, /minorUnitDigits -1/);
  });
});

describe("writeReceipt", () => {
  let folder = "";

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), "mercora-printer-"));
  });

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("appends receipts with separators", async () => {
    const path = join(folder, "caja01", "2025-03-14", "receipts.txt");
    const first = renderReceiptText(saleRecord(), ARS_32);
    const second = renderReceiptText(cashMovementRecord("cash-out", 20000), ARS_32);
    await writeReceipt(first, { kind: "file", path });
    await writeReceipt(second, { kind: "file", path });
    const separator = `${"=".repeat(32)}\n`;
    const written = await readFile(path, "utf8");
    expect(written).to.equal(first + separator + second + separator);
    expect(written.includes("\f"), "no form feed").to.equal(false);
  });

  it("writes receipts to stdout", async function () {
    this.timeout(20_000);
    const run = promisify(execFile);
    const entry = fileURLToPath(new URL("../src/index.ts", import.meta.url));
    const script = `import(${JSON.stringify(entry)}).then((m) => m.writeReceipt("TOTAL $1.00", { kind: "stdout" }))`;
    const { stdout } = await run(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      timeout: 15_000,
    });
    expect(stdout).to.equal("TOTAL $1.00\n");
  });
});
