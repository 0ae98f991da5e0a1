/** Plain, read-side types that the readers in this package return. */

export interface Tax {
  code: string;
  name: string;
  rateBp: number;
}

export interface Product {
  sku: string;
  barcode: string | null;
  name: string;
  brand: string;
  presentation: string;
  price: number;
  taxCode: string;
  active: boolean;
  stockBuffer: number;
}

export const TENDER_TYPES = ["cash", "card", "transfer", "other"] as const;
export type TenderType = (typeof TENDER_TYPES)[number];

export interface Tender {
  type: TenderType;
  amount: number;
  /** ISO 4217 code; when given it must be the store's currency. */
  currency?: string;
}

export interface SaleLine {
  sku: string;
  barcode: string | null;
  name: string;
  qty: number;
  unitPrice: number;
  taxCode: string;
  taxRateBp: number;
  /** Line amount without tax, in minor units. */
  base: number;
  tax: number;
  /** Line amount the customer pays, tax included: base plus tax. */
  total: number;
  stockBefore: number;
  /** On a refund: the 1-based line of the original ticket it returns. */
  refLine: number | null;
  /** On a refund: the quantity the original line sold. */
  soldQty: number | null;
}

export interface StockLine {
  sku: string;
  delta: number;
}

export const RECORD_KINDS = ["sale", "refund", "cash-movement", "stock-receipt", "stock-adjustment", "void"] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export const CASH_MOVEMENT_REASONS = ["opening-float", "cash-in", "cash-out", "closing-count"] as const;
export type CashMovementReason = (typeof CASH_MOVEMENT_REASONS)[number];

export interface LedgerRecord {
  id: string;
  kind: RecordKind;
  branch: string;
  terminal: string;
  seq: number;
  hlc: string;
  at: string;
  businessDay: string;
  timeZone: string;
  epoch: number;
  offline: boolean;
  cashier: string | null;
  requestId: string | null;
  lines: SaleLine[];
  tenders: Tender[];
  /** Sum of line totals; on a refund, the amount refunded. */
  total: number;
  tax: number;
  /** Cash rounding adjustment, recorded once: the cash due was rounded by this much. */
  cashRounding: number;
  change: number;
  stock: StockLine[];
  cashAmount: number;
  reason: string | null;
  /** On a refund: id of the original ticket. */
  refundOf: string | null;
  /** Manager who authorized a refund or an override, by user id. */
  authorizedBy: string | null;
  /** The terminal's own clock reading, before any correction from the relay or LAN peers. */
  deviceAt: string | null;
  /** Final fiscal folio issued by the terminal itself, or null while it is provisional. */
  folio: string | null;
  /** Number of `folio` within its scheme, for the terminal to know what it used. */
  folioNumber: number | null;
  /** Provisional folio, scoped to the terminal, that the relay replaces with a final one. */
  provisionalFolio: string | null;
  /**
   * On a void: id of the voided ticket. Other kinds leave it out rather
   * than set it to null, so records made before voids existed keep their hash.
   */
  voidOf?: string;
  /**
   * Fiscal transmission deadline (UTC instant, ISO 8601) from the country
   * profile; left out on records that have none. See `transmissionDeadline`.
   */
  transmitBy?: string;
  /** SHA-256 (hex) of the terminal's previous record, chaining the terminal's records across ledgers. */
  prevHash: string;
  /** SHA-256 (hex) of this record's canonical encoding, `prevHash` included. */
  hash: string;
  /** Ed25519 signature (base64) of `hash` by the signed-in cashier (`cashier`). */
  signature: string;
}

export interface LedgerRef {
  documentId: string;
  url: string;
  terminal: string;
  businessDay: string;
  part: number;
  firstSeq: number;
}

export interface TerminalEntry {
  id: string;
  name: string;
  lanUrl: string | null;
  ledgers: LedgerRef[];
}

export interface Detection {
  id: string;
  kind: string;
  sku: string;
  shortfall: number;
  stock: number;
  tickets: string[];
  subject: string;
  detail: string;
  firstDetectedAt: string;
  detectedAt: string;
  detectedBy: string;
  /** For a catalog-edit conflict: each concurrent value and who set it. Absent on other kinds. */
  candidates?: CatalogCandidate[];
  /** Candidate values a manager chooses from (the `choose-value` action of catalog edits); left out by other kinds. */
  values?: string[];
}

/** One of the concurrent values of a catalog field, with who set it. */
export interface CatalogCandidate {
  /** The value as text: a price in minor units, "true"/"false", a name. */
  value: string;
  /** HQ user id, "csv-import", or "unknown" when the value carries no stamp. */
  setBy: string;
  setByName: string;
  /** Replica that wrote it: "relay" or an editor's peer id such as "hq:ana". */
  source: string;
  /** When the writer stamped it, by its own clock; "" when unknown. */
  setAt: string;
}

export const CONFLICT_STATUSES = ["open", "resolved"] as const;
export type ConflictStatus = (typeof CONFLICT_STATUSES)[number];

/** What a manager may do about a conflict, and what the request must carry for it. */
export interface ActionSpec {
  action: string;
  /** Request fields this action needs besides the manager, PIN and reason. */
  needs: ("quantity" | "value")[];
  /** The values `value` may take, when the action needs one. */
  values?: string[];
  /** True when only HQ (the relay) can carry the action out, such as a catalog edit. */
  hqOnly?: boolean;
}

/** One manager action on a conflict, as the audit trail shows it. */
export interface AuditEntry {
  /** `REPLICA:SEQUENCE`, unique because each replica numbers its own actions. */
  id: string;
  conflictId: string;
  conflictKind: string;
  action: string;
  reason: string;
  quantity: number | null;
  value: string | null;
  /** User id of the manager whose PIN unlocked the signing key. */
  manager: string;
  managerName: string;
  /** UTC instant, ISO 8601, of the replica that took the action. */
  at: string;
  hlc: string;
  /** Terminal id, or "relay" for an action taken at HQ. */
  replica: string;
  /** "standing" for the action that resolves the conflict, "superseded" for every other. */
  outcome: "standing" | "superseded";
  /** Ids of the records the action wrote (a refund, a stock adjustment). */
  records: string[];
  /** The conflict's tickets when the action was taken: the ones this action covers. */
  tickets: string[];
}

/** One conflict, merged from the detections of every replica that saw it, with its resolution. */
export interface Conflict extends Detection {
  status: ConflictStatus;
  /** Replicas that detected it, in the order they first did. */
  detectedByAll: string[];
  /** The action that resolves it, by the merge rule of `resolutions.ts`; null while open. */
  resolution: AuditEntry | null;
  /** What a manager may do about it. */
  actions: ActionSpec[];
  /** Every verified action on it, oldest first. */
  audit: AuditEntry[];
}
