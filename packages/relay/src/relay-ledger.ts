import type { DocHandle, DocumentId, Repo } from "@automerge/automerge-repo";
import {
  LEDGER_PART_CAP,
  appendRecord,
  businessDayOf,
  countRecords,
  findDocument,
  genesisHash,
  initLedger,
  isFiscal,
  isLedgerV1,
  listRecords,
  listTerminals,
  nextFolio,
  recordId,
  registerLedger,
  sealRecordJson,
  str,
  taxProfile,
  transmissionDeadline,
} from "@mercora/crdt-model";
import type { AnyLedgerDoc, CatalogDoc, HybridLogicalClock, LedgerDoc, LedgerRecord, RecordKind } from "@mercora/crdt-model";
import type { RecordWriter, Signer } from "@mercora/terminal";
import type { Logger } from "pino";
import type { RelayBranch } from "./branch.ts";
import { RELAY_REPLICA } from "./branch.ts";

interface OwnLedger {
  handle: DocHandle<AnyLedgerDoc>;
  businessDay: string;
  part: number;
}

/**
 * The relay's own ledger of a branch, for the records HQ's conflict
 * actions write (a refund, a stock adjustment). The relay is a writer of
 * the branch like a terminal, under the id "relay". Its records are
 * numbered, hash-chained and signed by the manager who acted. They are
 * listed in the directory and ingested like any terminal's, and their
 * stock deltas are folded into the stock baseline like any terminal's.
 */
export class RelayLedger {
  #own: OwnLedger[] = [];
  #records = new Map<number, LedgerRecord>();
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly branch: RelayBranch,
    private readonly repo: Repo,
    private readonly clock: HybridLogicalClock,
    private readonly log: Logger,
    private readonly onDocument: (documentId: string) => void,
    private readonly catalog: () => DocHandle<CatalogDoc> | null,
  ) {}

  /** Loads the relay's ledgers of the branch. */
  async open(): Promise<void> {
    const entry = listTerminals(this.branch.directory.doc()).find((t) => t.id === RELAY_REPLICA);
    for (const ref of entry?.ledgers ?? []) {
      const handle = await findDocument<AnyLedgerDoc>(this.repo, ref.url as DocumentId, { timeoutMs: 30_000 });
      this.onDocument(handle.documentId);
      this.#own.push({ handle, businessDay: ref.businessDay, part: ref.part });
      for (const record of listRecords(handle.doc())) this.#records.set(record.seq, record);
    }
  }

  get #seq(): number {
    return Math.max(0, ...this.#records.keys());
  }

  /** Lists the relay's records of the branch, in sequence order. */
  records(): LedgerRecord[] {
    return [...this.#records.values()].sort((a, b) => a.seq - b.seq);
  }

  /** Runs `task` in this ledger's write queue with a writer whose records `signer` signs. */
  run<T>(signer: Signer, task: (write: RecordWriter) => Promise<T>): Promise<T> {
    const next = this.#queue.then(() => task((kind, fields) => this.#write(kind, fields, signer)));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #write(kind: RecordKind, fields: Partial<LedgerRecord>, signer: Signer): Promise<LedgerRecord> {
    const now = new Date();
    const timeZone = str(this.branch.directory.doc().timeZone);
    const businessDay = businessDayOf(now, timeZone);
    const ledger = await this.#ledgerFor(businessDay);
    const seq = this.#seq + 1;
    const unsealed = {
      id: recordId(this.branch.id, RELAY_REPLICA, seq),
      kind,
      branch: this.branch.id,
      terminal: RELAY_REPLICA,
      seq,
      hlc: this.clock.now(),
      at: now.toISOString(),
      businessDay,
      timeZone,
      epoch: this.branch.stockPublisher.epoch,
      offline: false,
      requestId: null,
      lines: [],
      tenders: [],
      total: 0,
      tax: 0,
      cashRounding: 0,
      change: 0,
      stock: [],
      cashAmount: 0,
      reason: null,
      refundOf: null,
      authorizedBy: null,
      deviceAt: now.toISOString(),
      ...fields,
      cashier: signer.userId,
    };
    const folio = isFiscal(kind)
      ? nextFolio(this.branch.folios.doc(), RELAY_REPLICA, kind, this.records())
      : { folio: null, folioNumber: null, provisionalFolio: null };
    const country = this.#country();
    const transmitBy = country ? transmissionDeadline(taxProfile(country).transmissionDeadline, unsealed, timeZone) : null;
    const previous = this.#records.get(seq - 1);
    const prevHash = previous ? previous.hash : genesisHash(this.branch.id, RELAY_REPLICA);
    const { record, json } = sealRecordJson({ ...unsealed, ...folio, ...(transmitBy ? { transmitBy } : {}) }, prevHash, signer.key);
    ledger.handle.change((doc) => appendRecord(doc, record, json));
    this.#records.set(seq, record);
    await this.repo.flush([ledger.handle.documentId]);
    this.log.info({ record: record.id, kind, folio: record.folio ?? record.provisionalFolio }, "relay record written");
    return record;
  }

  #country(): string | null {
    const catalog = this.catalog();
    return catalog ? str(catalog.doc().country) : null;
  }

  async #ledgerFor(businessDay: string): Promise<OwnLedger> {
    const current = this.#own.at(-1);
    // A version 1 ledger is read-only, so a relay upgraded mid-day starts a new part.
    const writable = current && !isLedgerV1(current.handle.doc());
    if (current && writable && current.businessDay === businessDay && countRecords(current.handle.doc()) < LEDGER_PART_CAP) return current;
    const part = current && current.businessDay === businessDay ? current.part + 1 : 1;
    const firstSeq = this.#seq + 1;
    const handle = this.repo.create<LedgerDoc>(initLedger({ branch: this.branch.id, terminal: RELAY_REPLICA, businessDay, part, firstSeq }));
    this.onDocument(handle.documentId);
    await this.repo.flush([handle.documentId]);
    this.branch.directory.change((doc) =>
      registerLedger(doc, RELAY_REPLICA, { documentId: handle.documentId, url: handle.url, businessDay, part, firstSeq }),
    );
    await this.repo.flush([this.branch.directory.documentId]);
    const ledger = { handle: handle as DocHandle<AnyLedgerDoc>, businessDay, part };
    this.#own.push(ledger);
    return ledger;
  }
}
