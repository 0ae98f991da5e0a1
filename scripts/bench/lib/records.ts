import { generateKeyPairSync } from "node:crypto";
import type { KeyObject } from "node:crypto";
import {
  businessDayOf,
  documentType,
  encodeHlc,
  formatConsecutive,
  genesisHash,
  priceLines,
  recordId,
  sealRecord,
  settleTenders,
  taxProfile,
} from "@mercora/crdt-model";
import type { IssuedFolio, LedgerRecord, ProductInput, SaleLine } from "@mercora/crdt-model";
import { BRANCH, CASHIER, OPENING_STOCK, TIME_ZONE, ticket } from "./fixture.ts";

/** Tax rules of the bundled catalog, which the relay imports with the Argentine profile. */
const PROFILE = taxProfile("AR");

/** Signs records that no Mercora process verifies (the PouchDB side and the fsync limit), one key per process. */
let benchKey: KeyObject | null = null;

function defaultKey(): KeyObject {
  benchKey ??= generateKeyPairSync("ed25519").privateKey;
  return benchKey;
}

/**
 * Folio of the self-numbered scheme (the Argentine default) for a
 * terminal's `sequence`-th sale, with branch code 001 and the terminal
 * code the relay gives T1, T2, ... (1, 2, ...), as `nextFolio` issues it.
 */
function selfNumbered(terminal: string, sequence: number): IssuedFolio {
  const terminalCode = Number(terminal.replace(/\D/g, "")) || 1;
  return { folio: formatConsecutive("001", terminalCode, documentType("sale"), sequence), folioNumber: sequence, provisionalFolio: null };
}

export interface ChainOptions {
  branch?: string;
  /** Key of the signing cashier; by default a key generated in this process, which no Mercora process verifies. */
  key?: KeyObject;
  cashier?: string;
  /** Sequence number of the last record already in the chain, 0 for none. */
  lastSeq?: number;
  /** Hash of that last record, or the genesis hash when `lastSeq` is 0. */
  lastHash?: string;
  /** Folio of the next sale, given the chain's previous record (self-numbered by default). */
  folio?: (terminal: string, seq: number, previous: LedgerRecord | null) => IssuedFolio;
}

/**
 * One terminal's chain of sale records, built as `Terminal.recordSale`
 * builds them: lines priced by the product's `priceLines` under the
 * catalog's tax rules, tenders settled by `settleTenders`, each record
 * linked to the previous one's hash and signed by `sealRecord`. It lets
 * generators and simulated terminals write records that the relay and
 * other terminals verify, and gives the PouchDB side the same bytes.
 */
export class RecordChain {
  readonly branch: string;
  readonly terminal: string;
  #seq: number;
  #lastHash: string;
  #previous: LedgerRecord | null = null;
  readonly #key: KeyObject;
  readonly #cashier: string;
  readonly #folio: NonNullable<ChainOptions["folio"]>;

  constructor(terminal: string, options: ChainOptions = {}) {
    this.branch = options.branch ?? BRANCH;
    this.terminal = terminal;
    this.#seq = options.lastSeq ?? 0;
    this.#lastHash = options.lastHash ?? genesisHash(this.branch, terminal);
    this.#key = options.key ?? defaultKey();
    this.#cashier = options.cashier ?? CASHIER.id;
    this.#folio = options.folio ?? ((id, seq) => selfNumbered(id, seq));
  }

  get seq(): number {
    return this.#seq;
  }

  /** Builds, seals and returns the next sale, recorded at `at`, of the ticket `ticket(products, n)` (the sequence number by default). */
  next(products: ProductInput[], at: Date, n = this.#seq + 1): LedgerRecord {
    const seq = this.#seq + 1;
    const sale = pricedSale(products, n, seq);
    const unsealed = {
      id: recordId(this.branch, this.terminal, seq),
      kind: "sale" as const,
      branch: this.branch,
      terminal: this.terminal,
      seq,
      hlc: encodeHlc({ wallMs: at.getTime(), counter: 0, node: this.terminal }),
      at: at.toISOString(),
      businessDay: businessDayOf(at, TIME_ZONE),
      timeZone: TIME_ZONE,
      epoch: 1,
      offline: false,
      cashier: this.#cashier,
      requestId: null,
      ...sale,
      cashAmount: 0,
      reason: null,
      refundOf: null,
      authorizedBy: null,
      deviceAt: at.toISOString(),
      ...this.#folio(this.terminal, seq, this.#previous),
    };
    const record = sealRecord(unsealed, this.#lastHash, this.#key);
    this.#seq = seq;
    this.#lastHash = record.hash;
    this.#previous = record;
    return record;
  }
}

/** Products by SKU, one map per catalog array. */
const indexes = new WeakMap<ProductInput[], Map<string, ProductInput>>();

function bySkuOf(products: ProductInput[]): Map<string, ProductInput> {
  let index = indexes.get(products);
  if (!index) {
    index = new Map(products.map((p) => [p.sku, p]));
    indexes.set(products, index);
  }
  return index;
}

/** Prices the ticket `ticket(products, n)` as a terminal does, with `seq` setting the stock known before the sale. */
function pricedSale(products: ProductInput[], n: number, seq: number) {
  const request = ticket(products, n);
  const bySku = bySkuOf(products);
  const resolved = request.lines.map((line) => {
    const product = bySku.get(line.sku)!;
    const tax = PROFILE.taxes.find((t) => t.code === product.taxCode) ?? PROFILE.taxes[0]!;
    return { product, tax, qty: line.qty };
  });
  const priced = priceLines(
    resolved.map(({ product, tax, qty }) => ({ unitPrice: product.price, qty, rateBp: tax.rateBp })),
    { pricesIncludeTax: PROFILE.pricesIncludeTax, rounding: PROFILE.rounding },
  );
  const lines: SaleLine[] = resolved.map(({ product, tax, qty }, index) => ({
    sku: product.sku,
    barcode: product.barcode,
    name: product.name,
    qty,
    unitPrice: product.price,
    taxCode: tax.code,
    taxRateBp: tax.rateBp,
    base: priced[index]!.base,
    tax: priced[index]!.tax,
    total: priced[index]!.total,
    stockBefore: OPENING_STOCK - seq,
    refLine: null,
    soldQty: null,
  }));
  const total = lines.reduce((sum, line) => sum + line.total, 0);
  const settlement = settleTenders(request.tenders, total, { currency: PROFILE.currency, cashRoundingIncrement: PROFILE.cashRoundingIncrement });
  return {
    lines,
    tenders: request.tenders,
    total,
    tax: lines.reduce((sum, line) => sum + line.tax, 0),
    cashRounding: settlement.cashRounding,
    change: settlement.change,
    stock: lines.map((line) => ({ sku: line.sku, delta: -line.qty })),
  };
}

/**
 * Builds one sealed sale record with an `_id` for PouchDB: the fields,
 * hash, signature and folio a Mercora terminal stores, so the PouchDB side
 * and the raw fsync limit store the same bytes. It is the first link of a
 * chain of its own, so its `prevHash` is a genesis hash.
 */
export function saleRecord(products: ProductInput[], terminal: string, seq: number, at: Date): LedgerRecord & { _id: string } {
  const record = new RecordChain(terminal, { lastSeq: seq - 1 }).next(products, at);
  return { _id: record.id, ...record };
}
