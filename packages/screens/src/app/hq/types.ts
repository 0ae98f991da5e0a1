import type { Conflict } from "../manager/types.ts";

/** Shapes the HQ dashboard reads from the relay. */

export interface BranchSummary {
  branch: string;
  name: string;
  timeZone: string;
  inventoryEpoch: number;
  terminals: {
    id: string;
    name: string;
    ackedSeq: number;
    lastRecordAt: string | null;
    lastContact: string | null;
    connected: boolean;
  }[];
  days: { businessDay: string; tickets: number; sales: number; tax: number; offlineTickets: number }[];
  folios: { scheme: string; poolLeft: number; alerts: string[] };
  conflicts: Conflict[];
  [extra: string]: unknown;
}

export interface Overview {
  generatedAt: string;
  currency: string | null;
  minorUnitDigits: number;
  skus: number;
  branches: BranchSummary[];
}

export interface FeedRecord {
  id: string;
  branch: string;
  terminal: string;
  seq: number;
  kind: string;
  at: string;
  businessDay: string;
  total: number;
  offline: boolean;
  refundOf: string | null;
}

export interface BranchEvent {
  summary: BranchSummary;
  records: FeedRecord[];
  more: number;
}

export interface StockPage {
  total: number;
  offset: number;
  limit: number;
  branches: string[];
  items: { sku: string; barcode: string | null; name: string; price: number | null; stockBuffer: number; stock: Record<string, number | null> }[];
}
