import type { LedgerRecord } from "@mercora/crdt-model";
import ReceiptPrinterEncoder from "@point-of-sale/receipt-printer-encoder";
import { CODE_PAGES, ESC_T_PAGE, assertPrintable, createTextMapper } from "./codepage.ts";
import type { CodePage } from "./codepage.ts";
import { receiptQrData } from "./qr.ts";
import { createLayout, receiptSections, validateContentOptions } from "./receipt.ts";
import type { Layout, ReceiptContentOptions } from "./receipt.ts";
import { splitToWidth, textWidth, wrapWords } from "./text.ts";

/** Paper and hardware of one receipt printer. */
export interface PrinterProfile {
  /** Paper width in millimetres: 58 prints 32 columns of Font A, 80 prints 48. */
  paperWidth: 58 | 80;
  codePage: CodePage;
  /** Cutter: "partial" feeds and partially cuts after each job, and "none" only feeds, for tear-off printers. */
  cutter: "partial" | "none";
  /** Whether a cash drawer is on the printer's drawer port, to open after cash sales and cash refunds. */
  cashDrawer: boolean;
  /**
   * Lines fed before the cut (or the tear-off), so the last printed line
   * clears the cutter. Default 4 lines of Font A, about 12 mm.
   * NOTE: the distance from print head to cutter differs between models.
   * 4 lines is a common value, not a measured one.
   */
  feedLines?: number;
}

export interface EscPosReceiptOptions extends ReceiptContentOptions {
  printer: PrinterProfile;
  /**
   * Sends the drawer kick for a cash sale when the profile has a drawer.
   * Default true. A spooler sets it false for a receipt that prints long
   * after its sale, so the drawer does not open unattended.
   */
  kickDrawer?: boolean;
}

export const COLUMNS_BY_PAPER_WIDTH: Record<PrinterProfile["paperWidth"], 32 | 48> = { 58: 32, 80: 48 };

const ESC = 0x1b;
const GS = 0x1d;
const FS = 0x1c;
const DEFAULT_FEED_LINES = 4;
const MAX_FEED_LINES = 255;
/** QR module size in dots per paper width: a 45-module code (version 7) is 225 of 384 dots at 58 mm. */
const QR_MODULE_DOTS: Record<PrinterProfile["paperWidth"], number> = { 58: 5, 80: 6 };

function validateProfile(profile: PrinterProfile): void {
  if (profile === null || typeof profile !== "object") {
    throw new TypeError("printer is missing. Pass a printer profile with paperWidth, codePage, cutter and cashDrawer");
  }
  if (typeof profile.paperWidth !== "number" || !Object.hasOwn(COLUMNS_BY_PAPER_WIDTH, profile.paperWidth)) {
    throw new RangeError(`printer.paperWidth ${profile.paperWidth} is invalid. Use 58 or 80 (millimetres)`);
  }
  if (!CODE_PAGES.includes(profile.codePage)) {
    throw new RangeError(`printer.codePage ${JSON.stringify(profile.codePage)} is invalid. Use "cp850" or "windows1252"`);
  }
  if (profile.cutter !== "partial" && profile.cutter !== "none") {
    throw new RangeError(`printer.cutter ${JSON.stringify(profile.cutter)} is invalid. Use "partial" or "none"`);
  }
  if (typeof profile.cashDrawer !== "boolean") {
    throw new TypeError("printer.cashDrawer is missing. Pass true when a cash drawer is connected to the printer");
  }
  const feed = profile.feedLines;
  if (feed !== undefined && (!Number.isInteger(feed) || feed < 0 || feed > MAX_FEED_LINES)) {
    throw new RangeError(`printer.feedLines ${feed} is invalid. Use a whole number of lines from 0 to ${MAX_FEED_LINES}`);
  }
}

/**
 * Starts every job: ESC @ resets the printer, ESC t selects the code page
 * (a reset falls back to the printer's default page, so the selection always
 * follows it), and FS . leaves the Chinese double-byte mode that many 58 mm
 * printers start in, as the encoder's own initialize() also does.
 */
function jobPrefix(codePage: CodePage): number[] {
  return [ESC, 0x40, ESC, 0x74, ESC_T_PAGE[codePage], FS, 0x2e];
}

/**
 * Ends every job: ESC d n prints and feeds n lines, then GS V 1 (function A,
 * m = 1 in Epson's ESC/POS reference) cuts partially when there is a cutter.
 */
function jobSuffix(profile: PrinterProfile): number[] {
  const feed = [ESC, 0x64, profile.feedLines ?? DEFAULT_FEED_LINES];
  return profile.cutter === "partial" ? [...feed, GS, 0x56, 0x01] : feed;
}

/** Tells whether cash goes into or out of the drawer, as in a sale or a refund with a cash tender. */
function movesCash(record: LedgerRecord): boolean {
  const paysCash = record.tenders.some((tender) => tender.type === "cash" && tender.amount > 0);
  return (record.kind === "sale" || record.kind === "refund") && paysCash;
}

/** Prints one line, checking that its mapped text fits the width and the code page. */
function printLine(encoder: ReceiptPrinterEncoder, line: string, layout: Layout, codePage: CodePage): void {
  for (const chunk of splitToWidth(line.trimEnd(), layout.width)) {
    assertPrintable(chunk, codePage);
    encoder.line(chunk);
  }
}

/**
 * Prints the store name at double width, wrapped at word boundaries into
 * half the columns, and centered with normal-width spaces so an odd margin
 * splits evenly.
 */
function printStoreName(encoder: ReceiptPrinterEncoder, name: string, layout: Layout, codePage: CodePage): void {
  const half = Math.floor(layout.width / 2);
  for (const line of wrapWords(name, half)) {
    assertPrintable(line, codePage);
    const padding = Math.floor((layout.width - 2 * textWidth(line)) / 2);
    if (padding > 0) encoder.text(" ".repeat(padding));
    encoder.width(2).text(line).width(1).newline();
  }
}

function concatBytes(parts: (number[] | Uint8Array)[]): Uint8Array {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return bytes;
}

/**
 * Renders a ledger record as one ESC/POS print job for the printer profile.
 * The job starts with the reset and code page and the store name at double
 * width, then has the ticket lines of the plain-text receipt. A sale adds a
 * QR code (see `receiptQrData`), and cash adds the drawer kick. A feed with
 * a partial cut ends the job. Text is mapped to the code page before it is measured, so no
 * printed line is wider than 32 or 48 columns. Throws `RangeError` or
 * `TypeError` naming the invalid option or record field.
 */
export function renderReceiptEscPos(record: LedgerRecord, options: EscPosReceiptOptions): Uint8Array {
  validateProfile(options.printer);
  validateContentOptions(options);
  const { printer } = options;
  const columns = COLUMNS_BY_PAPER_WIDTH[printer.paperWidth];
  const layout = createLayout(options, columns, createTextMapper(printer.codePage));
  const sections = receiptSections(record, options, layout);
  const encoder = new ReceiptPrinterEncoder({
    columns,
    newline: "\n",
    codepageMapping: { [printer.codePage]: ESC_T_PAGE[printer.codePage] },
  });
  // The encoder selects the code page again before its first text, because
  // it does not read the raw prefix. The repeated ESC t is harmless.
  encoder.codepage(printer.codePage);
  const separator = "-".repeat(columns);
  const print = (lines: string[]) => lines.forEach((line) => printLine(encoder, line, layout, printer.codePage));

  printStoreName(encoder, sections.storeName, layout, printer.codePage);
  print([...sections.storeDetails, ...sections.copyMarker, separator, ...sections.ticket, separator, ...sections.body]);
  if (record.kind === "sale") {
    encoder.newline();
    encoder.align("center").qrcode(receiptQrData(record, options), {
      model: 2,
      size: QR_MODULE_DOTS[printer.paperWidth],
      errorlevel: "m",
    });
    encoder.align("left");
  }
  print(sections.copyMarker);
  // A reprint never opens the drawer.
  if (printer.cashDrawer && options.kickDrawer !== false && !options.copy && movesCash(record)) {
    encoder.pulse(0, 100, 500);
  }
  return concatBytes([jobPrefix(printer.codePage), encoder.encode(), jobSuffix(printer)]);
}


/**
 * Encodes lines already laid out to the printer's width (a Z report, say)
 * as one ESC/POS job: the same reset, code page, text mapping, feed and
 * cut as a receipt, with the store name in double width on top.
 */
export function renderLinesEscPos(storeName: string, lines: string[], options: EscPosReceiptOptions): Uint8Array {
  validateProfile(options.printer);
  const { printer } = options;
  const columns = COLUMNS_BY_PAPER_WIDTH[printer.paperWidth];
  const layout = createLayout(options, columns, createTextMapper(printer.codePage));
  const encoder = new ReceiptPrinterEncoder({
    columns,
    newline: "\n",
    codepageMapping: { [printer.codePage]: ESC_T_PAGE[printer.codePage] },
  });
  encoder.codepage(printer.codePage);
  printStoreName(encoder, storeName, layout, printer.codePage);
  lines.forEach((line) => printLine(encoder, layout.clean(line), layout, printer.codePage));
  return concatBytes([jobPrefix(printer.codePage), encoder.encode(), jobSuffix(printer)]);
}
