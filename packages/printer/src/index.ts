/**
 * @mercora/printer: plain-text receipts for 58 mm (32 columns) and 80 mm
 * (48 columns) thermal paper, rendered from ledger records.
 */
export { renderReceiptText } from "./receipt.ts";
export type { ReceiptOptions, StoreHeader } from "./receipt.ts";
export type { ReceiptLocale } from "./labels.ts";
export { formatAmount } from "./format.ts";
export { writeReceipt } from "./write.ts";
export type { ReceiptTarget } from "./write.ts";
