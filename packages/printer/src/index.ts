/**
 * @mercora/printer: receipts for 58 mm (32 columns) and 80 mm (48 columns)
 * thermal paper, rendered from ledger records as plain text or as ESC/POS
 * print jobs. A durable spool sends the jobs to a network printer, a
 * printer device file or a file. docs/printing.md describes the profiles,
 * code pages, QR data and fault handling.
 */
export { renderReceiptText } from "./receipt.ts";
export type { ReceiptFolio, ReceiptOptions, StoreHeader } from "./receipt.ts";
export type { ReceiptLocale } from "./labels.ts";
export { formatAmount } from "./format.ts";
export { writeReceipt } from "./write.ts";
export type { ReceiptTarget } from "./write.ts";
export { COLUMNS_BY_PAPER_WIDTH, renderLinesEscPos, renderReceiptEscPos } from "./escpos.ts";
export { renderZReportEscPos, renderZReportText, zReportLines } from "./z-report.ts";
export type { EscPosReceiptOptions, PrinterProfile } from "./escpos.ts";
export { CODE_PAGES, ESC_T_PAGE, createTextMapper } from "./codepage.ts";
export type { CodePage } from "./codepage.ts";
export { RECEIPT_QR_VERSION, parseReceiptQrData, receiptQrData } from "./qr.ts";
export type { ReceiptQrFields } from "./qr.ts";
export {
  DEFAULT_SEND_TIMEOUT_MS,
  PrinterFault,
  describePrinterTarget,
  parsePrinterTarget,
  sendToPrinter,
} from "./transport.ts";
export type { PrinterFaultKind, PrinterTarget, SendOptions } from "./transport.ts";
export { PrintSpool } from "./spool.ts";
export type { PrintSpoolOptions, PrintSpoolStatus, SpoolJob, SpoolLogger } from "./spool.ts";
