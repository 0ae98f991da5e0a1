/**
 * Import of a supermarket catalog CSV (the Precios Claros layout: ean, marca, nombre,
 * presentacion and one or more price columns) into products for the catalog document.
 */
import { CsvError, parse, type Info } from "csv-parse/sync";
import { ValidationError } from "./errors.ts";

/** Product row ready to be written to the catalog document. */
export interface ProductInput {
  /** The 13-digit EAN for GS1 barcodes, or the store-internal code as given. */
  sku: string;
  /** The EAN-13 or the 8 digits of an EAN-8, or null for store-internal codes (PLUs). */
  barcode: string | null;
  /** Spanish product name, trimmed, with accents kept. */
  name: string;
  brand: string;
  presentation: string;
  /** Shelf price in integer minor units (centavos), tax included. */
  price: number;
  taxCode: string;
  active: boolean;
  /** Units held back from offline sales, an integer >= 0. */
  stockBuffer: number;
}

/** Problem with one catalog row, which was not imported. */
export interface CatalogImportError {
  /** 1-based physical line in the file where the row starts (the header is line 1). */
  line: number;
  /** Header name of the invalid field, or null when the whole row is invalid. */
  column: string | null;
  value: string;
  message: string;
}

/** Products imported from a catalog CSV and the rows that were rejected. */
export interface CatalogImportResult {
  products: ProductInput[];
  errors: CatalogImportError[];
  /** Number of data rows read, without the header and blank lines. */
  rows: number;
}

/** Options for {@link parseCatalogCsv}. */
export interface CatalogImportOptions {
  /** Column that contains the shelf price. Default `precio_sucursal_25_1_1`. */
  priceColumn?: string;
  /** Tax code given to every product. Default `IVA21`. */
  taxCode?: string;
  /** Stock buffer given to every product, an integer >= 0. Default 0. */
  stockBuffer?: number;
  /** Digits after the decimal point in the currency (ISO 4217 exponent, 0 to 4). Default 2. */
  minorUnitDigits?: number;
  /**
   * Skip rows with an empty price without reporting them. Default true when the price
   * column is a store column (`precio_sucursal_*`), because an empty store price means
   * that the store does not sell the product. Default false for any other column.
   */
  skipEmptyPrice?: boolean;
}

const DEFAULT_PRICE_COLUMN = "precio_sucursal_25_1_1";
const DEFAULT_TAX_CODE = "IVA21";
const STORE_PRICE_COLUMN_PREFIX = "precio_sucursal_";
const MAX_MINOR_UNIT_DIGITS = 4;

const CODE_COLUMN = "ean";
const BRAND_COLUMN = "marca";
const NAME_COLUMN = "nombre";
const PRESENTATION_COLUMN = "presentacion";

const GTIN_LENGTHS = new Set([8, 12, 13, 14]);
/** Store-internal code shaped comercio-bandera-código, e.g. `10-1-2300049000008`. */
const STORE_CODE_PATTERN = /^\d+-\d+-\d+$/;
const DECIMAL_PATTERN = /^(\d+)(?:\.(\d+))?$/;

/**
 * Checks the GS1 check digit of an EAN-8, UPC-A (12 digits), EAN-13 or GTIN-14.
 * Returns false for any other length or for a code with non-digit characters.
 */
export function isValidGtin(code: string): boolean {
  if (!GTIN_LENGTHS.has(code.length) || !/^\d+$/.test(code)) {
    return false;
  }
  return gtinCheckDigit(code.slice(0, -1)) === Number(code.slice(-1));
}

/** Computes the GS1 check digit: weights 3 and 1 alternate from the rightmost digit. */
function gtinCheckDigit(digitsWithoutCheck: string): number {
  let sum = 0;
  for (let i = 0; i < digitsWithoutCheck.length; i += 1) {
    const digit = Number(digitsWithoutCheck[digitsWithoutCheck.length - 1 - i]);
    sum += i % 2 === 0 ? digit * 3 : digit;
  }
  return (10 - (sum % 10)) % 10;
}

/**
 * Parses catalog CSV text into products, reporting invalid rows instead of importing them.
 *
 * Each row needs a code in `ean`, a name in `nombre` and a price in the price column.
 * The `marca` and `presentacion` columns are optional and give `brand` and `presentation`.
 * A code is either a GS1 barcode (EAN-13, UPC-A or EAN-8 with a valid check digit) or a
 * store-internal code shaped comercio-bandera-código, which becomes the SKU with no barcode.
 * The SKU of a GS1 barcode is its 13-digit EAN, so UPC-A and EAN-8 codes are zero-padded.
 *
 * Prices are decimal strings with a dot, such as `54` or `264.99`, and are converted to
 * integer minor units without floating point: `264.99` becomes 26499. A price with more
 * decimals than `minorUnitDigits` is rejected, because the currency cannot charge it;
 * trailing zeros beyond them (`54.990`) are accepted. A zero price is accepted.
 *
 * A row is reported in `errors` and not imported when its field count differs from the
 * header (one error) or when field checks fail (one error per field). The code must be a
 * valid barcode or store-internal code, the name must not be empty, and the price must be a
 * number >= 0. A valid row whose SKU repeats the SKU of an earlier imported row is reported too.
 * With `skipEmptyPrice`, a row with an empty price is skipped before any check. `rows`
 * counts every data row, skipped or not.
 *
 * @throws ValidationError when the text is empty or is not valid CSV, or when its header
 *   repeats a column or lacks `ean`, `nombre` or the price column.
 * @throws RangeError when an option is out of range.
 */
export function parseCatalogCsv(text: string, options: CatalogImportOptions = {}): CatalogImportResult {
  const settings = resolveOptions(options);
  const [headerRecord, ...dataRecords] = readCsvRecords(text);
  if (!headerRecord) {
    throw new ValidationError(
      "CSV_EMPTY",
      `Catalog CSV is empty; expected a header row with ${CODE_COLUMN}, ${NAME_COLUMN} and ${settings.priceColumn}`,
    );
  }
  const columns = readHeader(headerRecord.fields, settings.priceColumn);

  const products: ProductInput[] = [];
  const errors: CatalogImportError[] = [];
  const skuLines = new Map<string, number>();

  for (const record of dataRecords) {
    const outcome = readProductRow(record, columns, settings);
    if (outcome === null) {
      continue;
    }
    if ("errors" in outcome) {
      errors.push(...outcome.errors);
      continue;
    }
    const product = outcome.product;
    const firstLine = skuLines.get(product.sku);
    if (firstLine !== undefined) {
      errors.push({
        line: record.line,
        column: CODE_COLUMN,
        value: record.fields[columns.code] ?? "",
        message: `Line ${record.line}: SKU ${product.sku} was already imported from line ${firstLine}; remove or correct one of the two rows`,
      });
      continue;
    }
    skuLines.set(product.sku, record.line);
    products.push(product);
  }

  return { products, errors, rows: dataRecords.length };
}

interface ImportSettings {
  priceColumn: string;
  taxCode: string;
  stockBuffer: number;
  minorUnitDigits: number;
  skipEmptyPrice: boolean;
}

function resolveOptions(options: CatalogImportOptions): ImportSettings {
  const priceColumn = options.priceColumn ?? DEFAULT_PRICE_COLUMN;
  const taxCode = options.taxCode ?? DEFAULT_TAX_CODE;
  const stockBuffer = options.stockBuffer ?? 0;
  const minorUnitDigits = options.minorUnitDigits ?? 2;
  const skipEmptyPrice = options.skipEmptyPrice ?? priceColumn.startsWith(STORE_PRICE_COLUMN_PREFIX);

  if (priceColumn.trim() === "") {
    throw new RangeError("priceColumn is empty; pass the header name of the price column");
  }
  if (taxCode.trim() === "") {
    throw new RangeError("taxCode is empty; pass a tax code that exists in the catalog, such as IVA21");
  }
  if (!Number.isSafeInteger(stockBuffer) || stockBuffer < 0) {
    throw new RangeError(`stockBuffer ${stockBuffer} is invalid; pass an integer >= 0`);
  }
  if (!Number.isInteger(minorUnitDigits) || minorUnitDigits < 0 || minorUnitDigits > MAX_MINOR_UNIT_DIGITS) {
    throw new RangeError(`minorUnitDigits ${minorUnitDigits} is invalid; pass an integer from 0 to ${MAX_MINOR_UNIT_DIGITS}`);
  }
  return { priceColumn, taxCode, stockBuffer, minorUnitDigits, skipEmptyPrice };
}

/** Field indexes of the catalog columns, where -1 marks an absent optional column. */
interface ColumnIndexes {
  code: number;
  name: number;
  price: number;
  brand: number;
  presentation: number;
  count: number;
  priceColumn: string;
}

function readHeader(header: string[], priceColumn: string): ColumnIndexes {
  const names = header.map((name) => name.trim());
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) {
      throw new ValidationError(
        "CSV_COLUMN_DUPLICATE",
        `Catalog CSV header contains column "${name}" twice; rename or remove one of them`,
        name,
      );
    }
    seen.add(name);
  }

  const missing = [CODE_COLUMN, NAME_COLUMN, priceColumn].filter((name) => !seen.has(name));
  if (missing.length > 0) {
    const list = missing.map((name) => `"${name}"`).join(", ");
    throw new ValidationError(
      "CSV_COLUMN_MISSING",
      `Catalog CSV header is missing column ${list}; the header must contain ${CODE_COLUMN}, ${NAME_COLUMN} and ${priceColumn} (found: ${names.join(", ")})`,
      missing[0],
    );
  }

  return {
    code: names.indexOf(CODE_COLUMN),
    name: names.indexOf(NAME_COLUMN),
    price: names.indexOf(priceColumn),
    brand: names.indexOf(BRAND_COLUMN),
    presentation: names.indexOf(PRESENTATION_COLUMN),
    count: names.length,
    priceColumn,
  };
}

/**
 * Reads one data row. Returns null for a row that is skipped silently (empty price with
 * `skipEmptyPrice`), the product, or every error found in the row.
 */
function readProductRow(
  record: CsvRecord,
  columns: ColumnIndexes,
  settings: ImportSettings,
): { product: ProductInput } | { errors: CatalogImportError[] } | null {
  const { fields, line } = record;
  if (fields.length !== columns.count) {
    return {
      errors: [
        {
          line,
          column: null,
          value: fields.join(","),
          message: `Line ${line}: row has ${fields.length} fields but the header has ${columns.count}; quote any field that contains a comma and fill in missing fields`,
        },
      ],
    };
  }

  const rawPrice = (fields[columns.price] ?? "").trim();
  if (rawPrice === "" && settings.skipEmptyPrice) {
    return null;
  }

  const errors: CatalogImportError[] = [];
  const reject = (column: string, value: string, problem: string): void => {
    errors.push({ line, column, value, message: `Line ${line}: ${problem}` });
  };

  const rawCode = (fields[columns.code] ?? "").trim();
  const code = readProductCode(rawCode);
  if ("problem" in code) {
    reject(CODE_COLUMN, rawCode, code.problem);
  }

  const name = (fields[columns.name] ?? "").trim();
  if (name === "") {
    reject(NAME_COLUMN, fields[columns.name] ?? "", `${NAME_COLUMN} is empty; enter the product name`);
  }

  const price = parsePriceToMinorUnits(rawPrice, settings.minorUnitDigits);
  if (typeof price !== "number") {
    reject(columns.priceColumn, rawPrice, `${columns.priceColumn} ${price.problem}`);
  }

  if (errors.length > 0 || "problem" in code || typeof price !== "number") {
    return { errors };
  }

  return {
    product: {
      sku: code.sku,
      barcode: code.barcode,
      name,
      brand: optionalField(fields, columns.brand),
      presentation: optionalField(fields, columns.presentation),
      price,
      taxCode: settings.taxCode,
      active: true,
      stockBuffer: settings.stockBuffer,
    },
  };
}

function optionalField(fields: string[], index: number): string {
  return index < 0 ? "" : (fields[index] ?? "").trim();
}

/** Classifies a product code as a GS1 barcode or a store-internal code. */
function readProductCode(code: string): { sku: string; barcode: string | null } | { problem: string } {
  if (code === "") {
    return { problem: `${CODE_COLUMN} is empty; enter the product's barcode or store-internal code` };
  }
  if (STORE_CODE_PATTERN.test(code)) {
    return { sku: code, barcode: null };
  }
  if (/^\d+$/.test(code) && (code.length === 8 || code.length === 12 || code.length === 13)) {
    if (!isValidGtin(code)) {
      const expected = gtinCheckDigit(code.slice(0, -1));
      return {
        problem: `${CODE_COLUMN} ${code} has an invalid GS1 check digit (expected ${expected}, found ${code.slice(-1)}); copy the code again from the barcode`,
      };
    }
    // NOTE: EAN-13 codes starting with 2 are GS1 in-store numbers, often variable-measure
    // labels with the price or weight embedded. They are imported as fixed barcodes, so a
    // label whose embedded price or weight differs does not match them.
    const ean13 = code.padStart(13, "0");
    return { sku: ean13, barcode: code.length === 8 ? code : ean13 };
  }
  return {
    problem: `${CODE_COLUMN} "${code}" is neither an EAN-13, UPC-A or EAN-8 barcode nor a store-internal code shaped comercio-bandera-código (e.g. 10-1-2300049000008); correct the code`,
  };
}

/**
 * Converts a decimal price string to integer minor units exactly.
 * Returns the problem, phrased to follow the column name, when the string is not a price.
 */
export function parsePriceToMinorUnits(value: string, minorUnitDigits: number): number | { problem: string } {
  if (value === "") {
    return { problem: "is empty; enter the shelf price" };
  }
  if (/^-\d+(\.\d+)?$/.test(value)) {
    return { problem: `${value} is negative; enter the shelf price as a number >= 0` };
  }
  if (/^\d+,\d+$/.test(value)) {
    return { problem: `${value} uses a comma as decimal separator; write the price with a dot, e.g. 264.99` };
  }
  const match = DECIMAL_PATTERN.exec(value);
  if (!match) {
    return { problem: `"${value}" is not a number; write the price as digits with an optional dot, e.g. 54 or 264.99` };
  }

  const integerDigits = match[1] ?? "";
  const fractionDigits = match[2] ?? "";
  const dropped = fractionDigits.slice(minorUnitDigits);
  if (/[1-9]/.test(dropped)) {
    return {
      problem: `${value} has ${fractionDigits.length} decimals but the currency has ${minorUnitDigits}; correct the price`,
    };
  }
  const keptFraction = fractionDigits.slice(0, minorUnitDigits).padEnd(minorUnitDigits, "0");
  const minorUnits = BigInt(integerDigits + keptFraction);
  if (minorUnits > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { problem: `${value} is too large; check the price for extra digits` };
  }
  return Number(minorUnits);
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
 * A quoted field that contains line breaks makes later records start on later lines.
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
      throw new ValidationError(
        "CSV_MALFORMED",
        `Catalog CSV could not be parsed at line ${line} (${error.code}); close every quoted field and double each quote inside one ("")`,
      );
    }
    throw error;
  }

  const records: CsvRecord[] = [];
  let offset = 0;
  let line = 1;
  for (const { record, info } of parsed) {
    // Skip the blank lines that csv-parse dropped before this record.
    while (offset < info.bytes && isLineBreakByte(buffer[offset])) {
      offset += buffer[offset] === 0x0d && buffer[offset + 1] === 0x0a ? 2 : 1;
      line += 1;
    }
    records.push({ fields: record, line });
    line += countLineBreaks(buffer, offset, info.bytes);
    offset = info.bytes;
  }
  return records;
}

function isLineBreakByte(byte: number | undefined): boolean {
  return byte === 0x0a || byte === 0x0d;
}

/** Counts LF, CRLF and lone CR line breaks in buffer[start, end). */
function countLineBreaks(buffer: Buffer, start: number, end: number): number {
  let breaks = 0;
  for (let i = start; i < end; i += 1) {
    if (buffer[i] === 0x0a) {
      breaks += 1;
    } else if (buffer[i] === 0x0d && buffer[i + 1] !== 0x0a) {
      breaks += 1;
    }
  }
  return breaks;
}
