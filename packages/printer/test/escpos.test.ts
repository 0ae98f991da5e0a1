import { expect } from "chai";
import { createTextMapper, parseReceiptQrData, receiptQrData, renderReceiptEscPos } from "@mercora/printer";
import type { EscPosReceiptOptions, PrinterProfile } from "@mercora/printer";
import { decodeEscPos, hex } from "./helpers/escpos-decoder.ts";
import type { DecodedJob } from "./helpers/escpos-decoder.ts";
import { BAKERY, PROFILE_58, PROFILE_80, saleLine, saleRecord } from "./helpers/records.ts";

const WPC1252: PrinterProfile = { ...PROFILE_58, codePage: "windows1252" };

/** Index of `needle` in `bytes`, or -1. */
function indexOfBytes(bytes: Uint8Array, needle: number[]): number {
  return Buffer.from(bytes).indexOf(Buffer.from(needle));
}

function bytesOf(hexPairs: string): number[] {
  return hexPairs.split(" ").map((pair) => Number.parseInt(pair, 16));
}

/** Offset of the first valid multi-byte UTF-8 sequence in `bytes`, or -1. */
function findUtf8Sequence(bytes: Uint8Array): number {
  const continuation = (index: number) => (bytes[index] ?? 0) >= 0x80 && (bytes[index] ?? 0) <= 0xbf;
  const continuationCount = (lead: number): number => {
    if (lead >= 0xc2 && lead <= 0xdf) return 1;
    if (lead >= 0xe0 && lead <= 0xef) return 2;
    if (lead >= 0xf0 && lead <= 0xf4) return 3;
    return 0;
  };
  for (let index = 0; index < bytes.length; index++) {
    const extra = continuationCount(bytes[index]!);
    if (extra === 0) continue;
    let valid = true;
    for (let next = 1; next <= extra; next++) valid &&= continuation(index + next);
    if (valid) return index;
  }
  return -1;
}

function render(overrides: Partial<EscPosReceiptOptions> = {}, record = saleRecord()): { bytes: Uint8Array; job: DecodedJob } {
  const bytes = renderReceiptEscPos(record, { ...BAKERY, ...overrides });
  return { bytes, job: decodeEscPos(bytes) };
}

function commandNames(job: DecodedJob): string[] {
  return job.commands.filter((command) => command.name !== "text").map((command) => command.name);
}

const WORDS = ["Piña", "CAFÉ", "ÚNICO", "¿Sí?", "¡Gracias!"];
const WORDS_RECORD = saleRecord({ lines: WORDS.map((name, index) => saleLine({ name, sku: `sku-${index}` })) });

describe("renderReceiptEscPos", () => {
  describe("code page PC850", () => {
    const { bytes, job } = render({}, WORDS_RECORD);

    it("starts with reset and ESC t 2", () => {
      expect(hex(bytes.subarray(0, 5))).to.equal("1B 40 1B 74 02");
    });

    const expected: [string, string][] = [
      ["Piña", "50 69 A4 61"],
      ["CAFÉ", "43 41 46 90"],
      ["ÚNICO", "E9 4E 49 43 4F"],
      ["¿Sí?", "A8 53 A1 3F"],
      ["¡Gracias!", "AD 47 72 61 63 69 61 73 21"],
    ];
    for (const [word, pairs] of expected) {
      it(`encodes ${word} as ${pairs}`, () => {
        expect(indexOfBytes(bytes, bytesOf(pairs)), `${word} bytes`).to.be.greaterThan(-1);
        expect(job.lines, `${word} decoded by npos and iconv-lite`).to.include(word);
      });
    }

    it("contains no UTF-8 sequences", () => {
      expect(findUtf8Sequence(bytes), "offset of a UTF-8 sequence").to.equal(-1);
      for (const word of [...WORDS, "Panadería", "María", "¡Gracias por su compra!"]) {
        const utf8 = [...Buffer.from(word, "utf8")];
        expect(indexOfBytes(bytes, utf8), `UTF-8 of ${word}`).to.equal(-1);
      }
    });

    it("selects the code page after every reset", () => {
      const names = commandNames(job);
      const resets = names.flatMap((name, index) => (name === "ESC @" ? [index] : []));
      expect(resets, "ESC @ positions").to.have.length.greaterThan(0);
      for (const index of resets) expect(names[index + 1], `command after ESC @ at ${index}`).to.equal("ESC t");
    });
  });

  describe("code page WPC1252", () => {
    it("starts with reset and ESC t 16", () => {
      const { bytes } = render({ printer: WPC1252 }, WORDS_RECORD);
      expect(hex(bytes.subarray(0, 5))).to.equal("1B 40 1B 74 10");
    });

    const expected: [string, string][] = [
      ["CAFÉ", "43 41 46 C9"],
      ["ÚNICO", "DA 4E 49 43 4F"],
      ["¿Sí?", "BF 53 ED 3F"],
      ["¡Gracias!", "A1 47 72 61 63 69 61 73 21"],
    ];
    for (const [word, pairs] of expected) {
      it(`encodes ${word} as ${pairs}`, () => {
        const { bytes, job } = render({ printer: WPC1252 }, WORDS_RECORD);
        expect(indexOfBytes(bytes, bytesOf(pairs)), `${word} bytes`).to.be.greaterThan(-1);
        expect(job.lines, `${word} decoded by npos and iconv-lite`).to.include(word);
      });
    }

    it("encodes ñ as F1", () => {
      const { bytes, job } = render({ printer: WPC1252 }, WORDS_RECORD);
      expect(indexOfBytes(bytes, [0x50, 0x69, 0xf1, 0x61]), "Piña bytes").to.be.greaterThan(-1);
      expect(job.lines).to.include("Piña");
      expect(findUtf8Sequence(bytes), "offset of a UTF-8 sequence").to.equal(-1);
    });
  });

  describe("58 mm layout", () => {
    const longNames = saleRecord({
      cashier: "María José Fernández de Córdoba y Ñáñez",
      lines: [
        saleLine({ name: "Dulce de leche repostero San Ignacio Doña Clementina Cremosísimo 1 Kg", qty: 12, unitPrice: 9999999, total: 119999988, tax: 20826444 }),
        saleLine({ name: "Supercalifragilísticoespialidosoextralargo…", sku: "2" }),
      ],
    });

    it("keeps every line within 32 columns", () => {
      const { job } = render({}, longNames);
      job.lineWidths.forEach((width, index) => {
        expect(width, `line ${index} ${JSON.stringify(job.lines[index])}`).to.be.at.most(32);
      });
    });

    it("breaks the double-width name at a word", () => {
      const { job } = render();
      const header = job.blocks.filter((block) => block.kind === "text").slice(0, 2);
      const texts = header.map((block) => block.segments.filter((segment) => segment.width === 2).map((s) => s.text).join(""));
      expect(texts).to.deep.equal(["Panadería La", "Espiga"]);
      expect(job.lineWidths[0], "first header line width").to.equal(4 + 2 * "Panadería La".length);
      expect(job.lineWidths[1], "second header line width").to.be.at.most(32);
    });

    it("prints the total exactly 32 wide", () => {
      const { job } = render();
      const index = job.lines.findIndex((line) => line.startsWith("TOTAL"));
      expect(job.lines[index]).to.equal("TOTAL                  $5,950.00");
      expect(job.lineWidths[index], "TOTAL line width").to.equal(32);
    });

    it("ends with a feed and partial cut", () => {
      const { job } = render();
      const last = job.commands.slice(-2);
      expect(last.map((command) => command.name)).to.deep.equal(["ESC d", "GS V"]);
      expect(last[0]!.bytes[2], "lines fed").to.be.greaterThan(0);
      expect(hex(last[1]!.bytes)).to.equal("1D 56 01");
    });

    it("only feeds without a cutter", () => {
      const { job } = render({ printer: { ...PROFILE_58, cutter: "none" } });
      expect(commandNames(job).at(-1)).to.equal("ESC d");
      expect(commandNames(job)).not.to.include("GS V");
    });
  });

  describe("80 mm layout", () => {
    it("prints the total exactly 48 wide", () => {
      const { job } = render({ printer: PROFILE_80 });
      const index = job.lines.findIndex((line) => line.startsWith("TOTAL"));
      expect(job.lineWidths[index], "TOTAL line width").to.equal(48);
      expect(Math.max(...job.lineWidths), "widest line").to.be.at.most(48);
    });

    it("keeps the store name on one line", () => {
      const { job } = render({ printer: PROFILE_80 });
      expect(job.lines[0]).to.equal(`${" ".repeat(5)}Panadería La Espiga`);
      expect(job.lineWidths[0]).to.equal(5 + 38);
    });
  });

  describe("ticket content", () => {
    it("prints time in the record's zone", () => {
      const record = saleRecord({ at: "2022-07-15T17:05:09.000Z", timeZone: "America/Costa_Rica" });
      expect(render({}, record).job.lines).to.include("Fecha: 15/07/2022 11:05:09");
    });

    it("prints cashier, taxes, tenders and change", () => {
      const { lines } = render().job;
      expect(lines).to.include("Cajero: María");
      expect(lines).to.include("Base IVA 10.5%         $2,262.44");
      expect(lines).to.include("IVA 10.5%                $237.56");
      expect(lines).to.include("Base IVA 21%           $2,851.24");
      expect(lines).to.include("IVA 21%                  $598.76");
      expect(lines).to.include("TARJETA                $4,000.00");
      expect(lines).to.include("EFECTIVO               $2,000.00");
      expect(lines).to.include("CAMBIO                    $50.00");
    });

    it("prints the folio above the ticket", () => {
      const { lines } = render({ folio: { number: "0001-00000042", provisional: false } }).job;
      const index = lines.indexOf("Folio: 0001-00000042");
      expect(index, "folio line").to.be.greaterThan(-1);
      expect(lines[index + 1]).to.equal("Ticket: suc01-caja01-00000042");
      expect(lines.some((line) => line.includes("PROVISIONAL"))).to.equal(false);
    });

    it("marks a provisional folio", () => {
      const { lines } = render({ folio: { number: "0001-00000042", provisional: true } }).job;
      expect(lines).to.include("          PROVISIONAL");
    });

    it("prints a cash refund", () => {
      const record = saleRecord({
        id: "suc01-caja01-00000043",
        kind: "refund",
        refundOf: "suc01-caja01-00000042",
        reason: "Producto vencido",
        lines: [saleLine({ name: "Yerba Mate Playadito 1 Kg", unitPrice: 345000, total: 345000, tax: 59876 })],
        tenders: [{ type: "cash", amount: 345000 }],
        total: 345000,
        tax: 59876,
        change: 0,
      });
      const { job } = render({}, record);
      expect(job.lines).to.include("           DEVOLUCIÓN");
      expect(job.lines).to.include("Ticket original:");
      expect(job.lines).to.include("suc01-caja01-00000042");
      expect(job.lines).to.include("Motivo: Producto vencido");
      expect(job.lines).to.include("TOTAL                  $3,450.00");
      expect(job.blocks.filter((block) => block.kind === "pulse"), "drawer kick").to.have.length(1);
      expect(job.qrCodes, "QR codes").to.have.length(0);
    });

    it("prints the cash rounding", () => {
      const record = saleRecord({ total: 595003, cashRounding: -3, tenders: [{ type: "cash", amount: 595000 }], change: 0 });
      const { job } = render({}, record);
      const total = job.lines.indexOf("TOTAL                  $5,950.03");
      expect(total, "TOTAL line").to.be.greaterThan(-1);
      expect(job.lines[total + 1]).to.equal("REDONDEO                  -$0.03");
    });

    it("marks reprints COPIA", () => {
      const { job } = render({ copy: true });
      expect(job.lines.filter((line) => line === "         *** COPIA ***")).to.have.length(2);
    });
  });

  describe("QR code", () => {
    it("carries folio, total, terminal and hash", () => {
      const { job } = render({ folio: { number: "0001-00000042", provisional: true }, hash: "9f2c61a0" });
      expect(job.qrCodes).to.have.length(1);
      const qr = job.qrCodes[0]!;
      expect(qr.data).to.equal("MRC1|F=0001-00000042|P=1|TOT=5950.00|CUR=ARS|TRM=suc01/caja01|H=9f2c61a0");
      expect(qr.model, "QR model").to.equal(2);
      expect(qr.errorLevel, "QR error level").to.equal("M");
      expect(qr.align, "QR alignment").to.equal("center");
    });

    it("uses the ticket id without a folio", () => {
      const { job } = render();
      const fields = parseReceiptQrData(job.qrCodes[0]!.data);
      expect(fields).to.deep.equal({
        folio: null,
        provisional: false,
        ticketId: "suc01-caja01-00000042",
        total: "5950.00",
        currency: "ARS",
        branch: "suc01",
        terminal: "caja01",
        hash: null,
      });
    });

    it("escapes separators in values", () => {
      const options = { ...BAKERY, folio: { number: "A|B=1 ñ", provisional: false }, hash: "h/1" };
      const data = receiptQrData(saleRecord(), options);
      expect(/^[\x21-\x7e]+$/u.test(data), `ASCII only: ${data}`).to.equal(true);
      const fields = parseReceiptQrData(data);
      expect(fields.folio).to.equal("A|B=1 ñ");
      expect(fields.hash).to.equal("h/1");
    });

    it("is left out of cash movements", () => {
      const record = saleRecord({ kind: "cash-movement", lines: [], tenders: [], total: 0, cashAmount: 100000, reason: "cash-in" });
      expect(render({}, record).job.qrCodes).to.have.length(0);
    });
  });

  describe("cash drawer", () => {
    const pulses = (job: DecodedJob) => job.blocks.filter((block) => block.kind === "pulse");

    it("kicks after a cash sale", () => {
      const { job } = render();
      expect(pulses(job)).to.deep.equal([{ kind: "pulse", pin: 0, onMs: 100, offMs: 500 }]);
      const names = commandNames(job);
      expect(names.indexOf("ESC p"), "kick before the feed").to.equal(names.length - 3);
    });

    it("stays shut for card sales", () => {
      const record = saleRecord({ tenders: [{ type: "card", amount: 595000 }], change: 0 });
      expect(pulses(render({}, record).job)).to.have.length(0);
    });

    it("stays shut on reprints", () => {
      expect(pulses(render({ copy: true }).job)).to.have.length(0);
    });

    it("stays shut without a drawer", () => {
      expect(pulses(render({ printer: { ...PROFILE_58, cashDrawer: false } }).job)).to.have.length(0);
      expect(pulses(render({ kickDrawer: false }).job)).to.have.length(0);
    });
  });

  describe("character mapping", () => {
    const punctuation = "“Dulce” ‘de’ leche – 1 Kg…";

    it("maps quotes and dashes in cp850", () => {
      const record = saleRecord({ lines: [saleLine({ name: punctuation })] });
      expect(render({}, record).job.lines).to.include(`"Dulce" 'de' leche - 1 Kg...`);
    });

    it("keeps them in WPC1252", () => {
      const record = saleRecord({ lines: [saleLine({ name: punctuation })] });
      const { bytes, job } = render({ printer: WPC1252 }, record);
      expect(job.lines).to.include(punctuation);
      expect(indexOfBytes(bytes, [0x93, 0x44]), "“ as 93").to.be.greaterThan(-1);
      expect(indexOfBytes(bytes, [0x4b, 0x67, 0x85]), "… as 85").to.be.greaterThan(-1);
    });

    it("prints the colón as CRC", () => {
      const { bytes, job } = render({ currency: "CRC" });
      const index = job.lines.findIndex((line) => line.startsWith("TOTAL"));
      expect(job.lines[index]).to.equal(`TOTAL${" ".repeat(15)}CRC 5,950.00`);
      expect(job.lineWidths[index]).to.equal(32);
      expect(indexOfBytes(bytes, [0x3f]), "no ? in the job").to.equal(-1);
    });

    it("strips accents only when missing", () => {
      const map850 = createTextMapper("cp850");
      const map1252 = createTextMapper("windows1252");
      expect(map850("Őrség café")).to.equal("Orség café");
      expect(map850("Œuvre Łódź")).to.equal("OEuvre Lódz");
      expect(map1252("Œuvre Łódź")).to.equal("Œuvre Lódz");
      expect(map850("€ 5")).to.equal("EUR 5");
      expect(map1252("€ 5")).to.equal("€ 5");
      expect(map850("水")).to.equal("?");
    });

    it("prints Intl spaces as plain spaces", () => {
      const record = saleRecord({ lines: [saleLine({ name: "Café\u00a0Molido\u202f500\u2009Gr" })] });
      for (const printer of [PROFILE_58, WPC1252]) {
        const { bytes, job } = render({ printer }, record);
        expect(job.lines, printer.codePage).to.include("Café Molido 500 Gr");
        const noBreakSpace = printer.codePage === "cp850" ? 0xff : 0xa0;
        expect(bytes.includes(noBreakSpace), `${printer.codePage} no-break space byte`).to.equal(false);
      }
    });

    it("keeps control bytes out of text", () => {
      // "←" is byte 0x1B (ESC) in the CP437 glyph table behind cp850.
      const record = saleRecord({ lines: [saleLine({ name: "Queso\u001b@ ← Light\u001d" })] });
      const { job } = render({}, record);
      expect(commandNames(job).filter((name) => name === "ESC @")).to.have.length(1);
      expect(job.lines).to.include("Queso @ ? Light");
    });
  });

  describe("options", () => {
    it("rejects an unknown paper width", () => {
      const printer = { ...PROFILE_58, paperWidth: 57 } as unknown as PrinterProfile;
      expect(() => render({ printer })).to.throw(RangeError, /paperWidth 57/);
    });

    it("rejects an unknown code page", () => {
      const printer = { ...PROFILE_58, codePage: "cp437" } as unknown as PrinterProfile;
      expect(() => render({ printer })).to.throw(RangeError, /codePage "cp437"/);
    });

    it("rejects a malformed folio", () => {
      const folio = { number: 42 } as unknown as EscPosReceiptOptions["folio"];
      expect(() => render({ folio })).to.throw(TypeError, /folio is invalid/);
    });
  });
});
