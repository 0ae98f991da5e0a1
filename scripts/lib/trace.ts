/**
 * Replay helpers for the UCI Online Retail trace (columns InvoiceNo, StockCode, Description,
 * Quantity, InvoiceDate, UnitPrice, CustomerID, Country): group invoice lines into tickets,
 * map the trace's stock codes onto catalog SKUs, and compress ticket times for a demo run.
 */
import { createHash } from "node:crypto";
import { CsvError, parse, type Info } from "csv-parse/sync";

/** Product line of a trace ticket. */
export interface TraceLine {
  stockCode: string;
  /** Description with surrounding spaces trimmed, which is empty in some trace rows. */
  description: string;
  /** Units sold, an integer > 0. */
  quantity: number;
  /** Unit price in GBP as written in the trace, e.g. "2.55". */
  unitPrice: string;
}

/** Sales invoice of the trace with its product lines. */
export interface TraceTicket {
  invoiceNo: string;
  /** InvoiceDate of the first kept line, read as UTC wall time. */
  at: Date;
  lines: TraceLine[];
  /** CustomerID without the ".0" float suffix, or null for walk-in customers. */
  customerId: string | null;
  country: string;
}

/** Trace line that {@link parseTraceCsv} did not put on a ticket. */
export interface SkippedTraceLine {
  /** 1-based physical line in the file (the header is line 1). */
  line: number;
  reason: string;
}

/** Tickets read from a trace CSV. */
export interface TraceParseResult {
  tickets: TraceTicket[];
  /** Number of distinct cancelled invoices (InvoiceNo starting with "C"). */
  cancellations: number;
  skippedLines: SkippedTraceLine[];
}

const COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"] as const;
type Column = (typeof COLUMNS)[number];

/** Stock codes for postage, fees, discounts and manual adjustments rather than products. */
const NON_PRODUCT_STOCK_CODES = new Set([
  "POST",
  "M",
  "DOT",
  "C2",
  "D",
  "CRUK",
  "BANK CHARGES",
  "AMAZONFEE",
  "S",
  "PADS",
  "DCGSSBOY",
  "DCGSSGIRL",
]);
const PRODUCT_STOCK_CODE_PATTERN = /^\d{5}/;
const INVOICE_DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})(?::(\d{2}))?$/;
const UNIT_PRICE_PATTERN = /^\d+(?:\.\d+)?$/;

/**
 * Parses a trace CSV into sales tickets, one per InvoiceNo in order of first appearance.
 *
 * Cancelled invoices are dropped and counted, and their lines are not listed in
 * `skippedLines`. Lines with a non-product stock code, a quantity <= 0 or an unreadable
 * field are listed in `skippedLines`. An invoice whose lines were all skipped gives no ticket.
 *
 * @throws Error when the text is empty, is not valid CSV, or lacks a trace column.
 */
export function parseTraceCsv(text: string): TraceParseResult {
  const [headerRecord, ...dataRecords] = readCsvRecords(text);
  if (!headerRecord) {
    throw new Error(`Trace CSV is empty; expected a header row with ${COLUMNS.join(", ")}`);
  }
  const columns = readHeader(headerRecord.fields);

  const tickets = new Map<string, TraceTicket>();
  const cancelledInvoices = new Set<string>();
  const skippedLines: SkippedTraceLine[] = [];

  for (const { fields, line } of dataRecords) {
    if (fields.length !== headerRecord.fields.length) {
      skippedLines.push({ line, reason: `row has ${fields.length} fields but the header has ${headerRecord.fields.length}` });
      continue;
    }
    const field = (column: Column): string => (fields[columns[column]] ?? "").trim();

    const invoiceNo = field("InvoiceNo");
    if (invoiceNo === "") {
      skippedLines.push({ line, reason: "InvoiceNo is empty" });
      continue;
    }
    if (invoiceNo.startsWith("C")) {
      cancelledInvoices.add(invoiceNo);
      continue;
    }

    const outcome = readTraceLine(field);
    if ("reason" in outcome) {
      skippedLines.push({ line, reason: outcome.reason });
      continue;
    }

    let ticket = tickets.get(invoiceNo);
    if (!ticket) {
      const customerId = field("CustomerID");
      ticket = {
        invoiceNo,
        at: outcome.at,
        lines: [],
        customerId: customerId === "" ? null : customerId.replace(/\.0$/, ""),
        country: field("Country"),
      };
      tickets.set(invoiceNo, ticket);
    }
    ticket.lines.push(outcome.line);
  }

  return { tickets: [...tickets.values()], cancellations: cancelledInvoices.size, skippedLines };
}

function readHeader(header: string[]): Record<Column, number> {
  const names = header.map((name) => name.trim());
  const missing = COLUMNS.filter((column) => !names.includes(column));
  if (missing.length > 0) {
    throw new Error(
      `Trace CSV header is missing column ${missing.join(", ")}; the header must contain ${COLUMNS.join(", ")} (found: ${names.join(", ")})`,
    );
  }
  const indexes = {} as Record<Column, number>;
  for (const column of COLUMNS) {
    indexes[column] = names.indexOf(column);
  }
  return indexes;
}

/** Reads the product line of a sales row, or the reason to skip it. */
function readTraceLine(field: (column: Column) => string): { line: TraceLine; at: Date } | { reason: string } {
  const stockCode = field("StockCode");
  if (NON_PRODUCT_STOCK_CODES.has(stockCode)) {
    return { reason: `StockCode ${stockCode} is a non-product code (postage, fee or adjustment)` };
  }
  if (!PRODUCT_STOCK_CODE_PATTERN.test(stockCode)) {
    return { reason: `StockCode "${stockCode}" does not start with a 5-digit product number` };
  }

  const rawQuantity = field("Quantity");
  if (!/^-?\d+$/.test(rawQuantity)) {
    return { reason: `Quantity "${rawQuantity}" is not an integer` };
  }
  const quantity = Number(rawQuantity);
  if (quantity <= 0) {
    return { reason: `Quantity ${rawQuantity} is not positive` };
  }

  const unitPrice = field("UnitPrice");
  if (!UNIT_PRICE_PATTERN.test(unitPrice)) {
    return { reason: `UnitPrice "${unitPrice}" is not a decimal number >= 0` };
  }

  const rawDate = field("InvoiceDate");
  const at = parseInvoiceDate(rawDate);
  if (!at) {
    return { reason: `InvoiceDate "${rawDate}" is not a valid date shaped YYYY-MM-DD HH:MM[:SS]` };
  }

  return { line: { stockCode, description: field("Description"), quantity, unitPrice }, at };
}

/** Reads "YYYY-MM-DD HH:MM[:SS]" as UTC wall time, or returns null for an impossible date. */
function parseInvoiceDate(value: string): Date | null {
  const match = INVOICE_DATE_PATTERN.exec(value);
  if (!match) {
    return null;
  }
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? "0")) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const at = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const roundTrip =
    at.getUTCFullYear() === year &&
    at.getUTCMonth() === month - 1 &&
    at.getUTCDate() === day &&
    at.getUTCHours() === hour &&
    at.getUTCMinutes() === minute &&
    at.getUTCSeconds() === second;
  return roundTrip ? at : null;
}

/**
 * Maps each distinct stock code to a catalog SKU, independently of input order.
 *
 * Stock codes and SKUs are deduplicated and sorted. In that order each code takes the SKU
 * at index (first 8 bytes of SHA-256 of the code, big-endian) modulo the SKU count, moving
 * on to the next free SKU (linear probing) when it is taken. Distinct codes get distinct
 * SKUs until every SKU is taken. After that the remaining codes take their hashed SKU,
 * which repeats an earlier mapping.
 *
 * @throws Error when stock codes are given but the SKU list is empty.
 */
export function mapStockCodesToSkus(stockCodes: string[], skus: string[]): Map<string, string> {
  const sortedCodes = [...new Set(stockCodes)].sort();
  const sortedSkus = [...new Set(skus)].sort();
  const mapping = new Map<string, string>();
  if (sortedCodes.length === 0) {
    return mapping;
  }
  if (sortedSkus.length === 0) {
    throw new Error(`Cannot map ${sortedCodes.length} stock codes onto an empty SKU list; pass at least one catalog SKU`);
  }

  const assigned = new Array<boolean>(sortedSkus.length).fill(false);
  let freeCount = sortedSkus.length;
  for (const code of sortedCodes) {
    let index = hashIndex(code, sortedSkus.length);
    if (freeCount > 0) {
      // Ends within sortedSkus.length steps because at least one SKU is free.
      while (assigned[index]) {
        index = (index + 1) % sortedSkus.length;
      }
      assigned[index] = true;
      freeCount -= 1;
    }
    mapping.set(code, sortedSkus[index]!);
  }
  return mapping;
}

function hashIndex(code: string, size: number): number {
  const digest = createHash("sha256").update(code, "utf8").digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(size));
}

/**
 * Schedules tickets for replay by mapping the first..last ticket time linearly onto
 * [0, durationMs], rounded to whole milliseconds.
 *
 * The result is sorted by ticket time. The sort is stable, so tickets with equal times
 * keep their input order. When all tickets share one time, every offset is 0.
 *
 * @throws RangeError when durationMs is negative or not finite, or a ticket time is invalid.
 */
export function compressTime(tickets: TraceTicket[], durationMs: number): { ticket: TraceTicket; offsetMs: number }[] {
  if (!Number.isFinite(durationMs) || durationMs < 0) {
    throw new RangeError(`durationMs ${durationMs} is invalid; pass a finite number of milliseconds >= 0`);
  }
  for (const ticket of tickets) {
    if (Number.isNaN(ticket.at.getTime())) {
      throw new RangeError(`Ticket ${ticket.invoiceNo} has an invalid time; parse it with parseTraceCsv`);
    }
  }

  const ordered = [...tickets].sort((a, b) => a.at.getTime() - b.at.getTime());
  const first = ordered[0]?.at.getTime() ?? 0;
  const last = ordered[ordered.length - 1]?.at.getTime() ?? 0;
  const span = last - first;
  return ordered.map((ticket) => ({
    ticket,
    offsetMs: span === 0 ? 0 : Math.round(((ticket.at.getTime() - first) * durationMs) / span),
  }));
}

/** Parsed CSV record with the physical line on which it starts. */
interface CsvRecord {
  fields: string[];
  line: number;
}

/**
 * Parses CSV text and returns its records with their starting line numbers.
 *
 * Line numbers are counted from the byte offsets that csv-parse reports, because its own
 * `info.lines` is off after blank lines and CRLF line breaks (seen with csv-parse 7.0.3).
 */
function readCsvRecords(text: string): CsvRecord[] {
  const buffer = Buffer.from(text, "utf8");
  let parsed: { record: string[]; info: Info }[];
  try {
    // csv-parse 7 types the result as string[][] even when `info: true` wraps each record.
    parsed = parse(buffer, {
      bom: true,
      info: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as unknown as { record: string[]; info: Info }[];
  } catch (error) {
    if (error instanceof CsvError) {
      // `bytes` is the offset at which the parser stopped, which lies on the faulty record.
      const stopOffset = typeof error.bytes === "number" ? error.bytes : 0;
      const line = countLineBreaks(buffer, 0, stopOffset) + 1;
      throw new Error(
        `Trace CSV could not be parsed at line ${line} (${error.code}); close every quoted field and double each quote inside one ("")`,
      );
    }
    throw error;
  }

  const records: CsvRecord[] = [];
  let offset = 0;
  let line = 1;
  for (const { record, info } of parsed) {
    // Skip the blank lines that csv-parse dropped before this record.
    while (offset < info.bytes && (buffer[offset] === 0x0a || buffer[offset] === 0x0d)) {
      offset += buffer[offset] === 0x0d && buffer[offset + 1] === 0x0a ? 2 : 1;
      line += 1;
    }
    records.push({ fields: record, line });
    line += countLineBreaks(buffer, offset, info.bytes);
    offset = info.bytes;
  }
  return records;
}

/** Counts LF, CRLF and lone CR line breaks in buffer[start, end). */
function countLineBreaks(buffer: Buffer, start: number, end: number): number {
  let breaks = 0;
  for (let i = start; i < end; i += 1) {
    if (buffer[i] === 0x0a || (buffer[i] === 0x0d && buffer[i + 1] !== 0x0a)) {
      breaks += 1;
    }
  }
  return breaks;
}
