import type { ImmutableString } from "@automerge/automerge";

/**
 * Stored shapes of every Mercora document. Every string that is an id, a SKU,
 * a name or a status is an `ImmutableString`. Readers in this package turn
 * these into the plain types of `types.ts`, so callers rarely touch the
 * stored shapes.
 *
 * Version 2 stores each ledger record as one `ImmutableString` of its
 * canonical JSON in buckets by sequence number, each directory ledger
 * reference as one `ImmutableString` of JSON, and stock as a relay-written
 * baseline plus the deltas of the records. Version 1 stored records and
 * ledger references as nested objects and stock as one shared `Counter`
 * per SKU; the ledger and directory readers still read version 1.
 */
export const SCHEMA_VERSION = 2;

/** The first schema version with bucketed JSON records and stock baselines. */
export const SCHEMA_V2 = 2;

export type Imm = ImmutableString;

export interface TaxDoc {
  name: Imm;
  /** Rate in basis points: 2100 is 21%. */
  rateBp: number;
}

export interface ProductDoc {
  sku: Imm;
  barcode: Imm | null;
  name: Imm;
  brand: Imm;
  presentation: Imm;
  /** Shelf price in minor units, tax included. */
  price: number;
  taxCode: Imm;
  active: boolean;
  /** Units that must remain after an offline sale; see `checkStockBuffer`. */
  stockBuffer: number;
}

/**
 * Stamp of one editable field of a product: who set it, written in the
 * same change as the value. When two replicas set the field concurrently, the two stamps
 * conflict too, and each stamp pairs with the value of the same Automerge
 * actor (see `readFieldConflicts`).
 */
export interface FieldEditDoc {
  /** "edit" (HQ API or catalog editor), "import" (catalog CSV) or "choice" (a manager chose among concurrent values). */
  kind: Imm;
  /** HQ user id, or "csv-import". */
  user: Imm;
  userName: Imm;
  /** Replica that wrote it: "relay", or the catalog editor's peer id such as "hq:ana". */
  source: Imm;
  /** UTC instant, ISO 8601, by the writer's clock. */
  at: Imm;
  /** For a choice: the manager's reason and the conflict it resolved. */
  reason: Imm | null;
  conflictId: Imm | null;
}

/** Corporate catalog: one document, written by the relay (HQ) and by enrolled catalog editors. */
export interface CatalogDoc {
  schema: number;
  type: Imm;
  country: Imm;
  currency: Imm;
  minorUnitDigits: number;
  pricesIncludeTax: boolean;
  /** "per-line" or "per-rate-group". */
  taxRounding: Imm;
  taxes: Record<string, TaxDoc>;
  products: Record<string, ProductDoc>;
  /** Barcode to SKU. */
  barcodes: Record<string, Imm>;
  /**
   * Latest stamp of each edited field, keyed "SKU/field". Created by the
   * relay with the catalog (or when it first starts on an older catalog),
   * before any editor writes to it.
   */
  fieldEdits?: Record<string, FieldEditDoc>;
}

export interface TerminalEntryDoc {
  name: Imm;
  /** Websocket URL where the terminal accepts LAN peers; written by that terminal. */
  lanUrl: Imm | null;
  /**
   * The terminal's ledger documents by document id; written by that
   * terminal. Version 2 stores each reference as the JSON of a
   * `LedgerRefDoc` with plain strings, version 1 as the nested object.
   */
  ledgers: Record<string, Imm | LedgerRefDoc>;
  /**
   * The terminal's offline periods, published for the branch dashboards;
   * written by that terminal only, and absent until its first report.
   */
  connectivity?: TerminalConnectivityDoc;
}

/** One period during which a terminal could not reach the relay. */
export interface OfflinePeriodDoc {
  start: Imm;
  /** Null while the period is still open. */
  end: Imm | null;
  /** True when a manager switched the terminal offline by hand. */
  manual: boolean;
  /** Manager who switched it offline by hand, by user id. */
  by: Imm | null;
  reason: Imm | null;
}

/**
 * A terminal's connectivity report in its directory entry. It is bounded:
 * `periods` holds the periods that overlap the current month, and `months`
 * the closed offline time of the last 12 months.
 */
export interface TerminalConnectivityDoc {
  /** When the terminal last wrote this report. */
  updatedAt: Imm;
  /** Offline periods keyed by their start instant. */
  periods: Record<string, OfflinePeriodDoc>;
  /** Closed offline time per month (YYYY-MM in the branch time zone). */
  months: Record<string, { offlineMs: number; periods: number }>;
}

/** A ledger reference of a version 1 directory. */
export interface LedgerRefDoc {
  url: Imm;
  businessDay: Imm;
  part: number;
  firstSeq: number;
}

/**
 * Branch directory: the terminals of one branch and the documents that
 * exist. The relay creates it with one entry per terminal; each terminal
 * then writes only inside its own entry.
 */
export interface DirectoryDoc {
  schema: number;
  type: Imm;
  branch: Imm;
  name: Imm;
  timeZone: Imm;
  /** Cash rounding increment of this store in minor units; 0 for none. */
  cashRoundingIncrement: number;
  catalogUrl: Imm;
  conflictsUrl: Imm;
  permissionsUrl: Imm;
  foliosUrl: Imm;
  ingestUrl: Imm;
  /** Current stock baseline document; written by the relay when it rolls the baseline. */
  baselineUrl: Imm;
  terminals: Record<string, TerminalEntryDoc>;
}

/**
 * Stock of a branch as the relay folded it, written by the relay only.
 * Available stock on any replica is `stock` plus the deltas of every record
 * it holds above `applied[record.terminal]`. The relay writes the new stock
 * values and the new `applied` marks in one change, so a replica never sees
 * a record counted twice or not at all. A baseline document is a full
 * snapshot when it opens, and the relay opens a new one (a new epoch) at a
 * new business day or when this one's history grows past a threshold.
 */
/**
 * One bucket of a baseline's stock: an `ImmutableString` of the JSON object
 * of units per SKU, or a map of units per SKU. The bucket of moved SKUs
 * (`MOVED_BUCKET`) is a map, and so is every bucket of baselines written
 * before buckets were strings. Read it with `readStockBucket`.
 */
export type StockBucketDoc = Imm | Record<string, number>;

export interface StockBaselineDoc {
  schema: number;
  type: Imm;
  branch: Imm;
  epoch: number;
  previousUrl: Imm | null;
  openedAt: Imm;
  /** Business day of the branch when this document opened. */
  businessDay: Imm;
  /**
   * Units per SKU, in buckets keyed by `stockBucket(sku)`, and the units of SKUs moved since the document opened
   * in the bucket `MOVED_BUCKET`, which overrides them. In baselines opened before that bucket existed, a publish
   * rewrites the buckets it touches.
   */
  stock: Record<string, StockBucketDoc>;
  /** Per terminal, the highest contiguous sequence number folded into `stock`. */
  applied: Record<string, number>;
  /**
   * Per terminal, the sequence number after which sales count for oversell
   * detection: the `applied` marks at the start of the previous business day.
   */
  windowApplied: Record<string, number>;
  /** The `applied` marks when the branch's current business day began. */
  dayStartApplied: Record<string, number>;
}

export interface SaleLineDoc {
  sku: Imm;
  barcode: Imm | null;
  name: Imm;
  qty: number;
  unitPrice: number;
  taxCode: Imm;
  taxRateBp: number;
  base: number;
  tax: number;
  /** Line amount, tax included, in minor units. */
  total: number;
  /** Available stock the terminal knew before this sale. */
  stockBefore: number;
  refLine: number | null;
  soldQty: number | null;
}

export interface TenderDoc {
  type: Imm;
  amount: number;
}

export interface StockLineDoc {
  sku: Imm;
  /** Units added (positive) or removed (negative). */
  delta: number;
}

/** One record of a version 1 ledger, as a nested object. Records are written once and never edited. */
export interface LedgerRecordDoc {
  id: Imm;
  kind: Imm;
  branch: Imm;
  terminal: Imm;
  seq: number;
  hlc: Imm;
  /** UTC instant, ISO 8601. */
  at: Imm;
  businessDay: Imm;
  timeZone: Imm;
  /** Stock baseline epoch the terminal knew when it recorded the record. */
  epoch: number;
  offline: boolean;
  cashier: Imm | null;
  requestId: Imm | null;
  lines: SaleLineDoc[];
  tenders: TenderDoc[];
  total: number;
  tax: number;
  cashRounding: number;
  change: number;
  stock: StockLineDoc[];
  cashAmount: number;
  reason: Imm | null;
  refundOf: Imm | null;
  authorizedBy: Imm | null;
  deviceAt: Imm | null;
  folio: Imm | null;
  folioNumber: number | null;
  provisionalFolio: Imm | null;
  /** On a void only: id of the voided ticket. */
  voidOf?: Imm;
  /** On fiscal records with a deadline only: the transmission deadline. */
  transmitBy?: Imm;
  prevHash: Imm;
  hash: Imm;
  signature: Imm;
}

/**
 * One terminal's records for one business day, capped at `LEDGER_PART_CAP`
 * records. `records[bucket][id]` is the record's canonical JSON, hash and
 * signature included, where `bucket` is `ledgerBucket(seq)`: no map holds
 * more than `LEDGER_BUCKET_SIZE` records, so appending stays cheap.
 */
export interface LedgerDoc {
  schema: number;
  type: Imm;
  branch: Imm;
  terminal: Imm;
  businessDay: Imm;
  part: number;
  firstSeq: number;
  records: Record<string, Record<string, Imm>>;
}

/** A version 1 ledger: `records[id]` is the record as a nested object. */
export interface LedgerDocV1 extends Omit<LedgerDoc, "records"> {
  records: Record<string, LedgerRecordDoc>;
}

/** A ledger of either schema version. */
export type AnyLedgerDoc = LedgerDoc | LedgerDocV1;

export interface IngestDayDoc {
  tickets: number;
  sales: number;
  tax: number;
  offlineTickets: number;
}

/**
 * What the relay has ingested from each terminal of a branch, written by the
 * relay only: `acked[terminal]` is the highest contiguous sequence number
 * ingested, and `days` holds the branch's totals per business day.
 */
export interface IngestDoc {
  schema: number;
  type: Imm;
  branch: Imm;
  acked: Record<string, number>;
  days: Record<string, IngestDayDoc>;
  lastRecordAt: Record<string, Imm>;
}

export interface DetectionDoc {
  id: Imm;
  kind: Imm;
  sku: Imm;
  shortfall: number;
  stock: number;
  tickets: Imm[];
  /** What the conflict is about, for kinds without a SKU: a terminal, a ticket line. */
  subject: Imm;
  detail: Imm;
  firstDetectedAt: Imm;
  detectedAt: Imm;
  detectedBy: Imm;
  /** For a catalog-edit conflict: each concurrent value and who set it. Absent on other kinds. */
  candidates?: CandidateDoc[];
  /** Candidate values of a `choose-value` action; only kinds that have one store it. */
  values?: Imm[];
}

export interface CandidateDoc {
  /** The value as text: a price in minor units, "true"/"false", a name. */
  value: Imm;
  setBy: Imm;
  setByName: Imm;
  source: Imm;
  setAt: Imm;
}

/**
 * One manager action on a conflict, sealed like a ledger record: hashed,
 * chained to the previous action of the same replica and signed with the
 * manager's key. Written once and never edited.
 */
export interface ResolutionDoc {
  id: Imm;
  /** Position in the replica's chain of actions, from 1. */
  seq: number;
  branch: Imm;
  conflictId: Imm;
  conflictKind: Imm;
  action: Imm;
  reason: Imm;
  quantity: number | null;
  value: Imm | null;
  manager: Imm;
  managerName: Imm;
  at: Imm;
  hlc: Imm;
  replica: Imm;
  records: Imm[];
  tickets: Imm[];
  prevHash: Imm;
  hash: Imm;
  signature: Imm;
}

/**
 * Branch conflicts. `detections[replica]` and `resolutions[replica]` are
 * written by that replica only (a terminal or the relay), and the relay
 * creates one map of each per replica up front. `listConflicts` merges the
 * detections into one conflict per id; `reviewConflicts` adds the actions.
 */
export interface ConflictsDoc {
  schema: number;
  type: Imm;
  branch: Imm;
  detections: Record<string, Record<string, DetectionDoc>>;
  /** Manager actions by action id, per replica. Branches created before actions existed get it from the relay. */
  resolutions?: Record<string, Record<string, ResolutionDoc>>;
}

export interface PinVerifierDoc {
  /** scrypt parameters and output, base64. */
  salt: Imm;
  hash: Imm;
  n: number;
  r: number;
  p: number;
}

export interface SigningKeyDoc {
  /** Ed25519 public key, base64 SPKI DER. */
  publicKey: Imm;
  /** The private key (PKCS8 DER), sealed with AES-256-GCM under a key derived from the PIN with scrypt. */
  sealedPrivateKey: Imm;
  salt: Imm;
  /** Public keys the user signed with before a PIN change, so older records still verify. */
  formerPublicKeys: Imm[];
}

export interface UserDoc {
  name: Imm;
  /** "cashier" or "manager". */
  role: Imm;
  pin: PinVerifierDoc;
  signing: SigningKeyDoc;
  active: boolean;
}

export interface DeviceDoc {
  /** Ed25519 public key of the terminal's device key, base64 SPKI DER. */
  publicKey: Imm;
  activatedAt: Imm;
  revoked: boolean;
}

/** Users of a branch with their PIN verifiers; written by HQ (the relay) only. */
export interface PermissionsDoc {
  schema: number;
  type: Imm;
  branch: Imm;
  users: Record<string, UserDoc>;
  /** Activated devices by terminal id. */
  devices: Record<string, DeviceDoc>;
}

export interface FolioRangeDoc {
  /** Printed before the number, e.g. "001-" or a DIAN prefix. */
  prefix: Imm;
  from: number;
  to: number;
  /** Last day the authority's resolution allows numbers of this range (ISO date). */
  validUntil: Imm;
}

export interface FolioBlockDoc {
  prefix: Imm;
  from: number;
  to: number;
}

export interface FinalFolioDoc {
  folio: Imm;
  provisional: Imm;
  assignedAt: Imm;
}

/**
 * Fiscal folios of a branch, written by the relay only: the scheme, the
 * authority's ranges, the blocks handed to each terminal, the next number
 * the relay itself may assign, and the final folio given to every
 * provisional one, kept for good.
 */
export interface FoliosDoc {
  schema: number;
  type: Imm;
  branch: Imm;
  /** "self-numbered", "authority-range" or "assigned-at-validation". */
  scheme: Imm;
  /** Three-digit branch code of the self-numbered scheme (Costa Rica's consecutive). */
  branchCode: Imm;
  /** Numeric terminal codes of the self-numbered scheme, by terminal id. */
  terminalCodes: Record<string, number>;
  ranges: FolioRangeDoc[];
  blocks: Record<string, FolioBlockDoc[]>;
  /** Next number of the ranges neither handed out in a block nor assigned. */
  poolNext: number;
  /** Numbers per block handed to a terminal, and the numbers left that trigger a new block. */
  blockSize: number;
  lowWater: number;
  finals: Record<string, FinalFolioDoc>;
}
