/**
 * Cuts the small data copies under data/ from the full source files.
 *
 * Usage: node --import tsx scripts/make-data.ts [source-dir]
 *
 * source-dir must contain the two source CSV files named below. A relative path is
 * resolved against the repository root, and DEFAULT_SOURCE_DIR is used without an
 * argument. Rows are copied byte for byte, so the copies keep the source quoting and line
 * endings. The script prints the row count, size and SHA-256 of each copy for data/README.md.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse, type Info } from "csv-parse/sync";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEFAULT_SOURCE_DIR = "../shared/data";

const CATALOG_SOURCE = "precios-claros-ar-catalogo-2020-04-26.csv";
const CATALOG_COPY = "catalog/precios-claros-25-1-1.csv";
const STORE_PRICE_COLUMN = "precio_sucursal_25_1_1";

const TRACE_SOURCE = "online-retail-uci-2011-09-01_2011-12-09.csv";
// Monday to Friday of the week of 2011-10-06, the day with the most invoices in the source
// (218, counting cancellations).
const TRACE_FIRST_DAY = "2011-10-03";
const TRACE_LAST_DAY = "2011-10-07";
const TRACE_COPY = `trace/online-retail-uci-${TRACE_FIRST_DAY}_${TRACE_LAST_DAY}.csv`;

/** One parsed CSV record with the byte range it occupies in the source file. */
interface SourceRecord {
  fields: string[];
  start: number;
  end: number;
}

/**
 * Parses a CSV buffer and returns each record with its byte range.
 *
 * The range starts after any blank lines that precede the record and ends after its
 * record delimiter, so concatenating ranges copies the rows unchanged.
 */
function readRecords(buffer: Buffer): SourceRecord[] {
  // csv-parse 7 types the result as string[][] even when `info: true` wraps each record.
  const parsed = parse(buffer, { info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as {
    record: string[];
    info: Info;
  }[];
  const records: SourceRecord[] = [];
  let previousEnd = 0;
  for (const { record, info } of parsed) {
    let start = previousEnd;
    while (start < info.bytes && (buffer[start] === 0x0a || buffer[start] === 0x0d)) {
      start += 1;
    }
    records.push({ fields: record, start, end: info.bytes });
    previousEnd = info.bytes;
  }
  return records;
}

function columnIndex(header: string[], column: string, file: string): number {
  const index = header.indexOf(column);
  if (index < 0) {
    throw new Error(`Column "${column}" is missing from the header of ${file}; check that the source file is the expected one.`);
  }
  return index;
}

function copyRows(buffer: Buffer, header: SourceRecord, rows: SourceRecord[]): Buffer {
  const parts = [buffer.subarray(0, header.end), ...rows.map((row) => buffer.subarray(row.start, row.end))];
  return Buffer.concat(parts);
}

/** Keeps the catalog rows whose store price column is filled. */
function cutCatalog(source: Buffer, file: string): { copy: Buffer; rows: number } {
  const [header, ...rows] = readRecords(source);
  if (!header) {
    throw new Error(`${file} is empty; expected a header row and catalog rows.`);
  }
  const priceIndex = columnIndex(header.fields, STORE_PRICE_COLUMN, file);
  const storeRows = rows.filter((row) => (row.fields[priceIndex] ?? "") !== "");
  return { copy: copyRows(source, header, storeRows), rows: storeRows.length };
}

/**
 * Keeps the trace rows whose InvoiceDate falls on TRACE_FIRST_DAY..TRACE_LAST_DAY.
 * Throws unless those rows form one contiguous block, because the copy must be a slice.
 */
function cutTrace(source: Buffer, file: string): { copy: Buffer; rows: number } {
  const [header, ...rows] = readRecords(source);
  if (!header) {
    throw new Error(`${file} is empty; expected a header row and invoice lines.`);
  }
  const dateIndex = columnIndex(header.fields, "InvoiceDate", file);
  const inRange = (row: SourceRecord): boolean => {
    const day = (row.fields[dateIndex] ?? "").slice(0, 10);
    return day >= TRACE_FIRST_DAY && day <= TRACE_LAST_DAY;
  };
  const first = rows.findIndex(inRange);
  if (first < 0) {
    throw new Error(`${file} has no rows dated ${TRACE_FIRST_DAY} to ${TRACE_LAST_DAY}; pick days that the trace covers.`);
  }
  let last = first;
  while (last + 1 < rows.length && inRange(rows[last + 1]!)) {
    last += 1;
  }
  const strayIndex = rows.slice(last + 1).findIndex(inRange);
  if (strayIndex >= 0) {
    const strayRecord = rows[last + 1 + strayIndex]!;
    throw new Error(
      `${file} is not sorted by InvoiceDate: a row dated ${strayRecord.fields[dateIndex]} follows the slice; sort the trace first.`,
    );
  }
  const sliceRows = rows.slice(first, last + 1);
  return { copy: copyRows(source, header, sliceRows), rows: sliceRows.length };
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function writeCopy(relativePath: string, copy: Buffer, rows: number): void {
  const target = path.join(REPO_ROOT, "data", relativePath);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, copy);
  console.log(`data/${relativePath}: ${rows} rows without header, ${copy.length} bytes, SHA-256 ${sha256(copy)}`);
}

function main(): void {
  const sourceDir = path.resolve(REPO_ROOT, process.argv[2] ?? DEFAULT_SOURCE_DIR);

  const catalogFile = path.join(sourceDir, CATALOG_SOURCE);
  const catalogSource = readFileSync(catalogFile);
  console.log(`${catalogFile}: ${catalogSource.length} bytes, SHA-256 ${sha256(catalogSource)}`);
  const catalog = cutCatalog(catalogSource, catalogFile);
  writeCopy(CATALOG_COPY, catalog.copy, catalog.rows);

  const traceFile = path.join(sourceDir, TRACE_SOURCE);
  const traceSource = readFileSync(traceFile);
  console.log(`${traceFile}: ${traceSource.length} bytes, SHA-256 ${sha256(traceSource)}`);
  const trace = cutTrace(traceSource, traceFile);
  writeCopy(TRACE_COPY, trace.copy, trace.rows);
}

main();
