/** Shapes the cashier screen reads from the terminal's API. */

export interface StoreInfo {
  branch: string;
  storeName: string;
  terminal: string;
  terminalName: string;
  timeZone: string;
  cashRoundingIncrement: number;
  currency: string;
  minorUnitDigits: number;
}

export interface UserEntry {
  id: string;
  name: string;
  role: "cashier" | "manager";
}

export interface Session {
  userId: string;
  name: string;
  since: string;
}

export interface Product {
  sku: string;
  barcode: string | null;
  name: string;
  brand: string;
  presentation: string;
  price: number;
  active: boolean;
  stock: number | null;
}

/** A cart line as the cashier built it. */
export interface CartLine {
  sku: string;
  name: string;
  qty: number;
  unitPrice: number;
}

export type TenderType = "cash" | "card" | "transfer";

export interface TenderEntry {
  type: TenderType;
  amount: number;
}

export interface SaleQuote {
  lines: { sku: string; name: string; qty: number; unitPrice: number; total: number; tax: number; stockBefore: number }[];
  total: number;
  tax: number;
  tendered: number;
  due: number;
  dueInCash: number;
  change: number;
  cashRounding: number;
  nonCashOver: number;
  complete: boolean;
}

export interface LedgerRecord {
  id: string;
  kind: string;
  seq: number;
  at: string;
  total: number;
  tax: number;
  change: number;
  cashRounding: number;
  offline: boolean;
  folio: string | null;
  provisionalFolio: string | null;
  lines: { sku: string; name: string; qty: number; total: number }[];
  tenders: { type: string; amount: number }[];
  cashAmount: number;
  reason: string | null;
}

export interface RecordResponse {
  record: LedgerRecord;
  duplicate?: boolean;
  receipt?: string;
}

export interface RefundQuote {
  original: { id: string; at: string; terminal: string; total: number };
  refundable: { line: number; sku: string; name: string; qty: number; unitPrice: number; total: number; refunded: number }[];
  lines: { line: number; sku: string; name: string; qty: number; total: number }[];
  total: number;
  tax: number;
  cashPayout: number;
}

export interface TerminalStatus {
  mode: "online" | "lan-only" | "offline";
  pending: number;
  manualOffline: boolean;
  lanPeers: string[];
  session: Session | null;
  offlineMs: number;
  conflicts: { open: number };
  [extra: string]: unknown;
}

export const TENDER_TYPES: TenderType[] = ["cash", "card", "transfer"];
