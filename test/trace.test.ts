import { readFileSync } from "node:fs";
import { expect } from "chai";
import { compressTime, mapStockCodesToSkus, parseTraceCsv, type TraceTicket } from "../scripts/lib/trace.ts";

const HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country";
const TRACE_COPY = new URL("../data/trace/online-retail-uci-2011-10-03_2011-10-07.csv", import.meta.url);

/** Builds a trace CSV from lines, so that array index + 1 is the line number. */
function csv(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

const SMALL_TRACE = csv(
  HEADER,
  "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom",
  "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom",
  "536366,POST,POSTAGE,1,2010-12-01 08:28:00,18.0,12583.0,France",
  "C536379,22633,HAND WARMER UNION JACK,-6,2010-12-01 09:41:00,1.85,17548.0,United Kingdom",
  '536366,22633,"HAND WARMER, UNION JACK",6,2010-12-01 08:28:00,1.85,12583.0,France',
  "536367,gift_0001_20,Dotcomgiftshop Gift Voucher £20.00,1,2010-12-01 09:00:00,17.02,,United Kingdom",
  "536368,21730,GLASS STAR FROSTED T-LIGHT HOLDER,-2,2010-12-01 09:30:00,4.25,,United Kingdom",
  "536368,21730,GLASS STAR FROSTED T-LIGHT HOLDER,0,2010-12-01 09:30:00,4.25,,United Kingdom",
  "536368,22752,SET 7 BABUSHKA NESTING BOXES,2,2010-12-01 09:30:00,7.65,,United Kingdom",
  "C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom",
  "C536383,35004C,SET OF 3 COLOURED  FLYING DUCKS,-1,2010-12-01 09:49:00,4.65,15311.0,United Kingdom",
  "536365,22752,SET 7 BABUSHKA NESTING BOXES,2,2010-12-01 08:26:00,7.65,17850.0,United Kingdom",
);

function ticketAt(invoiceNo: string, isoTime: string): TraceTicket {
  return { invoiceNo, at: new Date(isoTime), lines: [], customerId: null, country: "United Kingdom" };
}

describe("parseTraceCsv", () => {
  const result = parseTraceCsv(SMALL_TRACE);

  it("groups lines by invoice", () => {
    expect(result.tickets.map((t) => t.invoiceNo)).to.deep.equal(["536365", "536366", "536368"]);
    expect(result.tickets[0]!.lines).to.deep.equal([
      { stockCode: "85123A", description: "WHITE HANGING HEART T-LIGHT HOLDER", quantity: 6, unitPrice: "2.55" },
      { stockCode: "71053", description: "WHITE METAL LANTERN", quantity: 6, unitPrice: "3.39" },
      { stockCode: "22752", description: "SET 7 BABUSHKA NESTING BOXES", quantity: 2, unitPrice: "7.65" },
    ]);
  });

  it("reads ticket header fields", () => {
    const [first, second, third] = result.tickets;
    expect(first!.at.toISOString()).to.equal("2010-12-01T08:26:00.000Z");
    expect(first!.customerId).to.equal("17850");
    expect(first!.country).to.equal("United Kingdom");
    expect(second!.country).to.equal("France");
    expect(third!.customerId).to.equal(null);
  });

  it("reads quoted description with comma", () => {
    expect(result.tickets[1]!.lines).to.deep.equal([
      { stockCode: "22633", description: "HAND WARMER, UNION JACK", quantity: 6, unitPrice: "1.85" },
    ]);
  });

  it("counts each cancelled invoice once", () => {
    expect(result.cancellations).to.equal(2);
    expect(result.tickets.some((t) => t.invoiceNo.startsWith("C"))).to.equal(false);
  });

  it("lists skipped lines with reasons", () => {
    expect(result.skippedLines).to.deep.equal([
      { line: 4, reason: "StockCode POST is a non-product code (postage, fee or adjustment)" },
      { line: 7, reason: 'StockCode "gift_0001_20" does not start with a 5-digit product number' },
      { line: 8, reason: "Quantity -2 is not positive" },
      { line: 9, reason: "Quantity 0 is not positive" },
    ]);
  });

  it("skips every non-product code", () => {
    const codes = ["POST", "M", "DOT", "C2", "D", "CRUK", "BANK CHARGES", "AMAZONFEE", "S", "PADS", "DCGSSBOY", "DCGSSGIRL", "B", "8512"];
    const rows = codes.map((code) => `540000,${code},FEE,1,2011-01-04 10:00:00,1.0,,United Kingdom`);
    const parsed = parseTraceCsv(csv(HEADER, ...rows));
    expect(parsed.tickets).to.deep.equal([]);
    expect(parsed.skippedLines.map((s) => s.line)).to.deep.equal(codes.map((_, index) => index + 2));
  });

  it("keeps codes with letter suffix", () => {
    const rows = ["15056BL", "79323W", "85099B"].map((code) => `540001,${code},BAG,1,2011-01-04 10:00:00,1.0,,United Kingdom`);
    const parsed = parseTraceCsv(csv(HEADER, ...rows));
    expect(parsed.skippedLines).to.deep.equal([]);
    expect(parsed.tickets[0]!.lines.map((l) => l.stockCode)).to.deep.equal(["15056BL", "79323W", "85099B"]);
  });

  it("skips unreadable fields", () => {
    const parsed = parseTraceCsv(
      csv(
        HEADER,
        "540002,22752,BOXES,1.5,2011-01-04 10:00:00,7.65,,United Kingdom",
        "540002,22752,BOXES,1,2011-02-30 10:00:00,7.65,,United Kingdom",
        "540002,22752,BOXES,1,2011-01-04,7.65,,United Kingdom",
        "540002,22752,BOXES,1,2011-01-04 10:00:00,-7.65,,United Kingdom",
        "540002,22752,BOXES,1,2011-01-04 10:00:00",
        ",22752,BOXES,1,2011-01-04 10:00:00,7.65,,United Kingdom",
      ),
    );
    expect(parsed.tickets).to.deep.equal([]);
    expect(parsed.skippedLines).to.deep.equal([
      { line: 2, reason: 'Quantity "1.5" is not an integer' },
      { line: 3, reason: 'InvoiceDate "2011-02-30 10:00:00" is not a valid date shaped YYYY-MM-DD HH:MM[:SS]' },
      { line: 4, reason: 'InvoiceDate "2011-01-04" is not a valid date shaped YYYY-MM-DD HH:MM[:SS]' },
      { line: 5, reason: 'UnitPrice "-7.65" is not a decimal number >= 0' },
      { line: 6, reason: "row has 5 fields but the header has 8" },
      { line: 7, reason: "InvoiceNo is empty" },
    ]);
  });

  it("reads dates without seconds", () => {
    const parsed = parseTraceCsv(csv(HEADER, "540003,22752,BOXES,1,2011-12-09 12:50,7.65,,France"));
    expect(parsed.tickets[0]!.at.toISOString()).to.equal("2011-12-09T12:50:00.000Z");
  });

  it("counts lines inside quoted fields", () => {
    const parsed = parseTraceCsv(
      csv(HEADER, '540004,22752,"BOXES\nSET",1,2011-01-04 10:00:00,7.65,,France', "540004,POST,POSTAGE,1,2011-01-04 10:00:00,18.0,,France"),
    );
    expect(parsed.tickets[0]!.lines[0]!.description).to.equal("BOXES\nSET");
    expect(parsed.skippedLines.map((s) => s.line)).to.deep.equal([4]);
  });

  it("throws on missing column", () => {
    const header = HEADER.replace(",Quantity", "");
    expect(() => parseTraceCsv(csv(header))).to.throw(Error, "missing column Quantity");
  });

  it("throws on empty text", () => {
    expect(() => parseTraceCsv("")).to.throw(Error, "Trace CSV is empty");
  });

  it("throws on unclosed quote", () => {
    const text = csv(HEADER, "540005,22752,BOXES,1,2011-01-04 10:00:00,7.65,,France", '540005,22633,"HAND WARMER,1,2011-01-04 10:00:00,1.85,,France');
    expect(() => parseTraceCsv(text)).to.throw(Error, "could not be parsed at line 3");
  });
});

describe("mapStockCodesToSkus", () => {
  const skus = ["7791376000208", "7795323002437", "0000026031101", "25-1-0000000000002"];

  it("maps codes by hash and probing", () => {
    // SHA-256 puts 21730 and 71053 on index 0 of the sorted SKUs and 85123A on index 1,
    // so 71053 probes on to index 1 and 85123A to index 2.
    const mapping = mapStockCodesToSkus(["85123A", "71053", "21730"], skus);
    expect([...mapping.entries()]).to.deep.equal([
      ["21730", "0000026031101"],
      ["71053", "25-1-0000000000002"],
      ["85123A", "7791376000208"],
    ]);
  });

  it("ignores input order and duplicates", () => {
    const forward = mapStockCodesToSkus(["85123A", "71053", "21730"], skus);
    const shuffled = mapStockCodesToSkus(["21730", "85123A", "21730", "71053"], [...skus].reverse().concat(skus[0]!));
    expect([...shuffled.entries()]).to.deep.equal([...forward.entries()]);
  });

  it("reuses SKUs once all are taken", () => {
    const mapping = mapStockCodesToSkus(["85123A", "71053", "22752", "21730", "22633"], ["SKU-B", "SKU-A"]);
    expect([...mapping.entries()]).to.deep.equal([
      ["21730", "SKU-A"],
      ["22633", "SKU-B"],
      ["22752", "SKU-B"],
      ["71053", "SKU-A"],
      ["85123A", "SKU-B"],
    ]);
  });

  it("gives distinct SKUs while they last", () => {
    const codes = Array.from({ length: 50 }, (_, index) => String(20000 + index));
    const pool = Array.from({ length: 50 }, (_, index) => `SKU-${index}`);
    const mapping = mapStockCodesToSkus(codes, pool);
    expect(mapping.size).to.equal(50);
    expect(new Set(mapping.values()).size).to.equal(50);
  });

  it("returns empty map without codes", () => {
    expect(mapStockCodesToSkus([], []).size).to.equal(0);
  });

  it("throws without SKUs", () => {
    expect(() => mapStockCodesToSkus(["85123A"], [])).to.throw(Error, "empty SKU list");
  });
});

describe("compressTime", () => {
  it("maps times linearly onto duration", () => {
    const tickets = [
      ticketAt("1", "2011-10-03T08:00:00Z"),
      ticketAt("2", "2011-10-03T08:30:00Z"),
      ticketAt("3", "2011-10-03T10:00:00Z"),
    ];
    const schedule = compressTime(tickets, 60_000);
    expect(schedule.map((s) => [s.ticket.invoiceNo, s.offsetMs])).to.deep.equal([
      ["1", 0],
      ["2", 15_000],
      ["3", 60_000],
    ]);
  });

  it("rounds offsets to whole milliseconds", () => {
    const tickets = [ticketAt("1", "2011-10-03T08:00:00Z"), ticketAt("2", "2011-10-03T08:01:00Z"), ticketAt("3", "2011-10-03T08:03:00Z")];
    expect(compressTime(tickets, 1000).map((s) => s.offsetMs)).to.deep.equal([0, 333, 1000]);
  });

  it("sorts by time keeping ties", () => {
    const tickets = [
      ticketAt("late", "2011-10-03T10:00:00Z"),
      ticketAt("tie-a", "2011-10-03T09:00:00Z"),
      ticketAt("early", "2011-10-03T08:00:00Z"),
      ticketAt("tie-b", "2011-10-03T09:00:00Z"),
    ];
    const schedule = compressTime(tickets, 2000);
    expect(schedule.map((s) => [s.ticket.invoiceNo, s.offsetMs])).to.deep.equal([
      ["early", 0],
      ["tie-a", 1000],
      ["tie-b", 1000],
      ["late", 2000],
    ]);
  });

  it("puts equal times at zero", () => {
    const tickets = [ticketAt("1", "2011-10-03T08:00:00Z"), ticketAt("2", "2011-10-03T08:00:00Z")];
    expect(compressTime(tickets, 5000).map((s) => s.offsetMs)).to.deep.equal([0, 0]);
    expect(compressTime([], 5000)).to.deep.equal([]);
  });

  it("rejects invalid duration", () => {
    expect(() => compressTime([], -1)).to.throw(RangeError, "durationMs -1");
    expect(() => compressTime([], Number.POSITIVE_INFINITY)).to.throw(RangeError, "durationMs Infinity");
  });
});

describe("trace copy replay", () => {
  const result = parseTraceCsv(readFileSync(TRACE_COPY, "utf8"));

  it("reads tickets and cancellations", () => {
    expect(result.tickets).to.have.length(478);
    expect(result.cancellations).to.equal(103);
    expect(result.skippedLines).to.have.length(92);
    expect(result.tickets.reduce((sum, t) => sum + t.lines.length, 0)).to.equal(12673);
  });

  it("reads first and last tickets", () => {
    const first = result.tickets[0]!;
    const last = result.tickets[result.tickets.length - 1]!;
    expect(first.invoiceNo).to.equal("569239");
    expect(first.at.toISOString()).to.equal("2011-10-03T08:30:00.000Z");
    expect(first.customerId).to.equal("14644");
    expect(first.lines).to.have.length(18);
    expect(first.lines[0]).to.deep.equal({ stockCode: "23247", description: "BISCUIT TIN 50'S CHRISTMAS", quantity: 36, unitPrice: "2.49" });
    expect(last.invoiceNo).to.equal("570201");
    expect(last.at.toISOString()).to.equal("2011-10-07T16:06:00.000Z");
  });

  it("lists first skipped lines", () => {
    expect(result.skippedLines.slice(0, 2)).to.deep.equal([
      { line: 408, reason: "StockCode DOT is a non-product code (postage, fee or adjustment)" },
      { line: 655, reason: "Quantity -14 is not positive" },
    ]);
  });

  it("compresses five days in order", () => {
    const schedule = compressTime(result.tickets, 600_000);
    expect(schedule).to.have.length(478);
    expect(schedule[0]!.offsetMs).to.equal(0);
    expect(schedule[schedule.length - 1]!.offsetMs).to.equal(600_000);
    const offsets = schedule.map((s) => s.offsetMs);
    expect(offsets).to.deep.equal([...offsets].sort((a, b) => a - b));
    expect(schedule.map((s) => s.ticket.invoiceNo)).to.deep.equal(result.tickets.map((t) => t.invoiceNo));
  });

  it("maps stock codes onto distinct SKUs", () => {
    const stockCodes = result.tickets.flatMap((t) => t.lines.map((l) => l.stockCode));
    const skus = Array.from({ length: 3000 }, (_, index) => `SKU-${String(index).padStart(4, "0")}`);
    const mapping = mapStockCodesToSkus(stockCodes, skus);
    expect(mapping.size).to.equal(2063);
    expect(new Set(mapping.values()).size).to.equal(2063);
  });
});
