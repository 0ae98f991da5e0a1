import { randomUUID } from "node:crypto";
import type { KeyObject } from "node:crypto";
import type { DocHandle, DocumentId, Repo } from "@automerge/automerge-repo";
import {
  HybridLogicalClock,
  compareHlc,
  buildZReport,
  priceLines,
  readPricingRules,
  roundToIncrement,
  findDocument,
  ingestRecords,
  listConflicts,
  listTerminals,
  readAcked,
  readDays,
  readDetections,
  readDirectoryUrls,
  readSigningKeys,
  readStoredRecord,
  storedJson,
  storedRecord,
  storedRecords,
  touchedRecordIds,
  RecordFormatError,
  recordId,
  genesisHash,
  canonicalJson,
  describeRecordEdit,
  verifyRecordIntegrity,
  putDetection,
  imm,
  readScheme,
  readBlocks,
  readRanges,
  formatRangeFolio,
  folioNumbersLeft,
  highestBlockFolio,
  str,
} from "@mercora/crdt-model";
import type {
  FolioRange,
  FoliosDoc,
  CatalogDoc,
  PermissionsDoc,
  PricingRules,
  ConflictsDoc,
  Detection,
  DirectoryDoc,
  IngestDoc,
  AnyLedgerDoc,
  LedgerRecord,
} from "@mercora/crdt-model";
import { reconcileDoubleRefunds, reconcileDuplicateProvisionals, reconcileOversells, reconcileVoids } from "@mercora/reconciler";
import type { ConflictReview } from "@mercora/terminal";
import type { Logger } from "pino";
import { fiscalSummary, voidedFolios } from "./fiscal.ts";
import type { SignatureChecks } from "./signature-checks.ts";
import { StockPublisher } from "./stock-publisher.ts";

export const RELAY_REPLICA = "relay";

/** Quiet time after the last provisional folio arrives before the relay assigns final ones. */
export const PROVISIONAL_SETTLE_MS = 1500;


/** Relay-side document URLs of one branch, kept in the relay's state file. */
export interface BranchUrls {
  directoryUrl: string;
  conflictsUrl: string;
  ingestUrl: string;
}

/**
 * Checks a record as the relay receives it: it belongs to the ledger's
 * branch and terminal, its line amounts follow from unit price, quantity
 * and rate under the catalog's tax rules, line totals and taxes add up to
 * the ticket, and tenders cover the total with the stated cash rounding
 * and change. Returns what failed, or null. The relay never restates a
 * record; a failure becomes a conflict for review.
 */
export function verifyRecord(
  record: LedgerRecord,
  branch: string,
  terminal: string,
  rules: PricingRules | null,
  cashRoundingIncrement: number,
): string | null {
  if (record.branch !== branch) return `record branch ${record.branch} is not ${branch}`;
  if (record.terminal !== terminal) return `record terminal ${record.terminal} is not ledger owner ${terminal}`;
  if (record.kind === "void" && !record.voidOf) return "void names no ticket (voidOf is missing)";
  if (record.kind !== "sale" && record.kind !== "refund" && record.kind !== "void") return null;
  const linesTotal = record.lines.reduce((sum, line) => sum + line.total, 0);
  if (linesTotal !== record.total) return `line totals add up to ${linesTotal}, ticket total is ${record.total}`;
  const linesTax = record.lines.reduce((sum, line) => sum + line.tax, 0);
  if (linesTax !== record.tax) return `line taxes add up to ${linesTax}, ticket tax is ${record.tax}`;
  for (const line of record.lines) {
    if (line.base + line.tax !== line.total) return `line ${line.sku}: base ${line.base} plus tax ${line.tax} is not ${line.total}`;
  }
  if (record.kind === "sale" && rules) {
    const expected = priceLines(
      record.lines.map((line) => ({ unitPrice: line.unitPrice, qty: line.qty, rateBp: line.taxRateBp })),
      rules,
    );
    for (const [index, line] of record.lines.entries()) {
      const want = expected[index]!;
      if (want.total !== line.total || want.tax !== line.tax) {
        return (
          `line ${index + 1} (${line.sku}): the relay computes total ${want.total} and tax ${want.tax}, ` +
          `the terminal recorded ${line.total} and ${line.tax}`
        );
      }
    }
  }
  const cash = record.tenders.filter((t) => t.type === "cash").reduce((sum, t) => sum + t.amount, 0);
  const tendered = record.tenders.reduce((sum, tender) => sum + tender.amount, 0);
  if (record.kind === "sale") {
    const cashDue = record.total - (tendered - cash);
    const rounded = cash > 0 ? roundToIncrement(cashDue, cashRoundingIncrement) : cashDue;
    if (rounded - cashDue !== record.cashRounding) {
      return `cash rounding: the relay computes ${rounded - cashDue}, the terminal recorded ${record.cashRounding}`;
    }
    if (tendered - record.change !== record.total + record.cashRounding) {
      return `tenders ${tendered} minus change ${record.change} is not the total ${record.total} plus rounding ${record.cashRounding}`;
    }
  } else if (tendered !== record.total + record.cashRounding) {
    return `${record.kind} payouts ${tendered} are not the ${record.kind} ${record.total} plus rounding ${record.cashRounding}`;
  }
  return null;
}

/**
 * The relay's view of one branch: follows the directory and every ledger
 * it lists, ingests each terminal's records in sequence order exactly once,
 * and runs the reconciler on the merged state.
 */
export class RelayBranch {
  readonly id: string;
  directory!: DocHandle<DirectoryDoc>;
  conflicts!: DocHandle<ConflictsDoc>;
  ingest!: DocHandle<IngestDoc>;
  stockPublisher!: StockPublisher;
  permissions!: DocHandle<PermissionsDoc>;
  folios!: DocHandle<FoliosDoc>;
  /** Conflict review at HQ, set by the relay before `open()`; the reconciler reads resolutions through it. */
  review: ConflictReview | null = null;
  readonly ledgers = new Map<string, DocHandle<AnyLedgerDoc>>();
  readonly #records = new Map<string, LedgerRecord>();
  /** Stored JSON of each version 2 record as first seen, to tell an edit from a repeat. */
  readonly #storedJson = new Map<string, string>();
  /** Final folio to the record that carries it. */
  readonly #folioOwners = new Map<string, string>();
  #poolAlerted = 0;
  #lastProvisionalAt = 0;
  /** Records above each terminal's acknowledgement mark, by sequence number. */
  readonly #waiting = new Map<string, Map<number, LedgerRecord>>();
  /** The terminal that writes each ledger of the branch, by document id. */
  readonly #ledgerOwners = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(
    id: string,
    readonly urls: BranchUrls,
    private readonly repo: Repo,
    private readonly clock: HybridLogicalClock,
    private readonly log: Logger,
    private readonly onDocument: (documentId: string, branch: string) => void,
    private readonly catalog: () => DocHandle<CatalogDoc> | null,
    private readonly signatures: SignatureChecks,
  ) {
    this.id = id;
  }

  async open(): Promise<void> {
    const timeoutMs = 30_000;
    this.directory = await findDocument<DirectoryDoc>(this.repo, this.urls.directoryUrl as DocumentId, { timeoutMs });
    this.conflicts = await findDocument<ConflictsDoc>(this.repo, this.urls.conflictsUrl as DocumentId, { timeoutMs });
    this.ingest = await findDocument<IngestDoc>(this.repo, this.urls.ingestUrl as DocumentId, { timeoutMs });
    const { baselineUrl, permissionsUrl, foliosUrl } = readDirectoryUrls(this.directory.doc());
    this.stockPublisher = new StockPublisher({
      branch: this.id,
      repo: this.repo,
      log: this.log,
      directory: () => this.directory,
      onDocument: (documentId) => this.onDocument(documentId, this.id),
      onPublished: () => this.schedule(),
    });
    await this.stockPublisher.open(baselineUrl);
    this.permissions = await findDocument<PermissionsDoc>(this.repo, permissionsUrl as DocumentId, { timeoutMs });
    this.folios = await findDocument<FoliosDoc>(this.repo, foliosUrl as DocumentId, { timeoutMs });
    for (const handle of [this.directory, this.conflicts, this.ingest, this.permissions, this.folios]) {
      this.onDocument(handle.documentId, this.id);
    }
    this.directory.on("change", () => void this.#followDirectory());
    await this.#followDirectory();
    this.schedule();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.stockPublisher?.close();
  }

  async #followDirectory(): Promise<void> {
    for (const terminal of listTerminals(this.directory.doc())) {
      for (const ref of terminal.ledgers) {
        if (this.ledgers.has(ref.documentId)) continue;
        this.onDocument(ref.documentId, this.id);
        this.ledgers.set(ref.documentId, null as unknown as DocHandle<AnyLedgerDoc>);
        this.#ledgerOwners.set(ref.documentId, terminal.id);
        findDocument<AnyLedgerDoc>(this.repo, ref.url as DocumentId, { timeoutMs: 3_600_000, retryMs: 1000 })
          .then((handle) => {
            this.ledgers.set(ref.documentId, handle);
            this.#index(handle, terminal.id, null);
            handle.on("change", ({ doc, patches }) => this.#index(handle, terminal.id, touchedRecordIds(doc, patches)));
          })
          .catch((error) => {
            this.ledgers.delete(ref.documentId);
            this.log.warn({ err: error, documentId: ref.documentId }, "ledger not available from any peer yet");
          });
      }
    }
  }

  /**
   * Indexes the records a change touched, or every record of the ledger
   * when `touched` is null (when the ledger is first opened). A record seen
   * before whose stored form changed is raised as an edit.
   */
  #index(handle: DocHandle<AnyLedgerDoc>, owner: string, touched: Set<string> | null): void {
    const doc = handle.doc();
    if (!doc?.records) return;
    const acked = readAcked(this.ingest.doc(), owner);
    const entries = touched === null ? storedRecords(doc) : [...touched].map((id) => storedRecord(doc, id)).filter((e) => e !== null);
    let added = false;
    for (const { id, stored } of entries) {
      const original = this.#records.get(id);
      const json = storedJson(stored);
      if (original && json !== null && json === this.#storedJson.get(id)) continue;
      let record: LedgerRecord;
      try {
        record = readStoredRecord(id, stored);
      } catch (error) {
        if (!(error instanceof RecordFormatError)) throw error;
        if (original) void this.#flagEdit(original, null, error.message);
        else this.log.error({ record: id, ledger: handle.documentId, err: error }, "unreadable record");
        continue;
      }
      if (original) {
        if (canonicalJson(record) !== canonicalJson(original)) void this.#flagEdit(original, record);
        continue;
      }
      this.#records.set(id, record);
      if (json !== null) this.#storedJson.set(id, json);
      this.clock.observe(record.hlc);
      this.stockPublisher.hold(record);
      if (record.provisionalFolio) this.#lastProvisionalAt = Date.now();
      if (record.seq > acked) {
        const waiting = this.#waiting.get(owner) ?? new Map<number, LedgerRecord>();
        waiting.set(record.seq, record);
        this.#waiting.set(owner, waiting);
      }
      if (record.seq > this.stockPublisher.applied(owner)) added = true;
    }
    if (added) this.schedule();
  }

  /** Returns the terminal that writes ledger `documentId`, or undefined when the directory lists no such ledger. */
  ledgerOwner(documentId: string): string | undefined {
    return this.#ledgerOwners.get(documentId);
  }

  /** Runs ingest and reconciliation soon, once for a burst of changes. */
  schedule(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#running
        .then(() => this.#process())
        .catch((error) => this.log.error({ err: error, branch: this.id }, "ingest failed"));
    }, 50);
  }

  /** Waits for the ingest run in progress, if any. */
  async idle(): Promise<void> {
    await this.#running;
    await this.stockPublisher.idle();
  }

  async #process(): Promise<void> {
    const batch: { record: LedgerRecord; failure: string | null; terminal: string }[] = [];
    const ingestDoc = this.ingest.doc();
    const catalog = this.catalog();
    const rules = catalog ? readPricingRules(catalog.doc()) : null;
    const increment = readDirectoryUrls(this.directory.doc()).cashRoundingIncrement;
    const queued: { record: LedgerRecord; terminal: string; arithmetic: string | null; keys: KeyObject[] }[] = [];
    for (const [terminal, waiting] of this.#waiting) {
      let next = readAcked(ingestDoc, terminal) + 1;
      for (;;) {
        const record = waiting.get(next);
        if (!record) break;
        const keys = record.cashier ? readSigningKeys(this.permissions.doc(), record.cashier) : [];
        queued.push({ record, terminal, arithmetic: verifyRecord(record, this.id, terminal, rules, increment), keys });
        waiting.delete(next);
        next += 1;
      }
    }
    // Signatures are checked first, on two threads. The other checks follow in order, because
    // each record's chain link needs the one before it and each folio check claims its folio.
    const checked = queued.filter((entry) => entry.arithmetic === null && entry.keys.length > 0);
    const valid = this.signatures.checkAll(checked.map(({ record, keys }) => ({ keys, hash: record.hash, signature: record.signature })));
    const signatureOf = new Map(checked.map((entry, index) => [entry.record.id, valid[index]!]));
    for (const { record, terminal, arithmetic, keys } of queued) {
      const failure = arithmetic ?? this.#verifyIntegrity(record, keys, signatureOf.get(record.id)) ?? this.#verifyFolio(record);
      batch.push({ record, failure, terminal });
    }
    // Every provisional folio the relay knows of, ingested or not, waits for a
    // final one. Assignment waits until no new provisional folio has arrived
    // for a moment, so terminals that reconnect together are numbered in one
    // batch in HLC order.
    const quietFor = Date.now() - this.#lastProvisionalAt;
    if (quietFor >= PROVISIONAL_SETTLE_MS) await this.#assignFinalFolios([...this.#records.values()]);
    else setTimeout(() => this.schedule(), PROVISIONAL_SETTLE_MS - quietFor + 10);
    if (batch.length > 0) {
      const failures: Detection[] = [];
      this.ingest.change((doc) => {
        // A record that fails verification is acknowledged, so the queue
        // drains, but is kept out of the totals and raised as a conflict.
        ingestRecords(doc, batch.map(({ record, failure, terminal }) => ({ record, countTotals: failure === null, writer: terminal })));
        for (const { record, failure } of batch) {
          if (failure) {
            const now = this.clock.now();
            failures.push({
              id: `integrity:${record.id}`,
              kind: "integrity",
              sku: "",
              shortfall: 0,
              stock: 0,
              tickets: [record.id],
              subject: record.id,
              detail: failure,
              firstDetectedAt: now,
              detectedAt: now,
              detectedBy: RELAY_REPLICA,
            });
          }
        }
      });
      if (failures.length > 0) {
        const own = readDetections(this.conflicts.doc(), RELAY_REPLICA);
        this.conflicts.change((doc) => {
          for (const detection of failures) if (!own.has(detection.id)) putDetection(doc, RELAY_REPLICA, detection);
        });
        for (const detection of failures) {
          this.log.error({ conflict: detection.id, reason: detection.detail }, "record failed verification");
        }
      }
      await this.repo.flush([this.ingest.documentId, this.conflicts.documentId]);
      this.log.info({ branch: this.id, records: batch.length }, "ingested records");
    }
    this.#foldIngested();
    await this.#reconcile();
    await this.topUpFolioBlocks();
  }

  /**
   * Checks a final folio a terminal issued: under an authority range it
   * must lie in one of the terminal's blocks, and no other record may
   * carry it. Returns what failed, or null.
   */
  #verifyFolio(record: LedgerRecord): string | null {
    if (!record.folio) return null;
    const other = this.#folioOwners.get(record.folio);
    if (other && other !== record.id) return `folio ${record.folio} is already used by ${other}`;
    if (readScheme(this.folios.doc()) === "authority-range") {
      const inBlock = readBlocks(this.folios.doc(), record.terminal).some(
        (b) => record.folioNumber !== null && record.folioNumber >= b.from && record.folioNumber <= b.to && formatRangeFolio(b.prefix, record.folioNumber) === record.folio,
      );
      if (!inBlock) return `folio ${record.folio} is outside the blocks handed to terminal ${record.terminal}`;
    }
    this.#folioOwners.set(record.folio, record.id);
    return null;
  }

  /**
   * Gives a final folio to every provisional one not yet assigned, in HLC
   * order: the next numbers of the authority range's pool, or a UUID under
   * validation at the relay. Assignments are written to the folios
   * document before the records are acknowledged, and a record already
   * assigned keeps its folio, so a crash between the two changes nothing.
   */
  async #assignFinalFolios(records: LedgerRecord[]): Promise<void> {
    const doc = this.folios.doc();
    const scheme = readScheme(doc);
    const waiting = records
      .filter((r) => r.provisionalFolio && !r.folio && !doc.finals[r.id])
      .sort((a, b) => compareHlc(a.hlc, b.hlc));
    if (waiting.length === 0 || scheme === "self-numbered") return;
    const assignedAt = new Date().toISOString();
    const assigned: string[] = [];
    this.folios.change((folios) => {
      for (const record of waiting) {
        let folio: string | null = null;
        if (scheme === "assigned-at-validation") {
          folio = randomUUID().toUpperCase();
        } else {
          const number = takeFromPool(folios, 1)[0];
          if (number) folio = formatRangeFolio(number.prefix, number.from);
        }
        if (!folio) break;
        folios.finals[record.id] = { folio: imm(folio), provisional: imm(record.provisionalFolio!), assignedAt: imm(assignedAt) };
        this.#folioOwners.set(folio, record.id);
        assigned.push(`${record.provisionalFolio} -> ${folio}`);
      }
    });
    await this.repo.flush([this.folios.documentId]);
    if (assigned.length < waiting.length && this.#poolAlerted !== waiting.length - assigned.length) {
      this.#poolAlerted = waiting.length - assigned.length;
      this.log.error({ branch: this.id, waiting: waiting.length - assigned.length }, "folio range used up: provisional folios wait for a new range");
    }
    if (assigned.length > 0) this.log.info({ branch: this.id, assigned }, "final folios assigned");
  }

  /**
   * Hands a new block to every activated terminal whose numbers left fell
   * below the low-water mark, from the pool of the authority's ranges.
   */
  async topUpFolioBlocks(): Promise<void> {
    if (readScheme(this.folios.doc()) !== "authority-range") return;
    const devices = Object.keys(this.permissions.doc().devices ?? {}).sort();
    const records = [...this.#records.values()];
    const used = new Map(devices.map((terminal) => [terminal, highestBlockFolio(this.folios.doc(), terminal, records)]));
    const handed: string[] = [];
    this.folios.change((doc) => {
      for (const terminal of devices) {
        if (!doc.blocks[terminal]) continue;
        const first = doc.blocks[terminal]!.length === 0;
        if (!first && folioNumbersLeft(doc, terminal, used.get(terminal) ?? 0) >= doc.lowWater) continue;
        const block = takeFromPool(doc, doc.blockSize)[0];
        if (!block) continue;
        doc.blocks[terminal]!.push({ prefix: imm(block.prefix), from: block.from, to: block.to });
        handed.push(`${terminal} ${block.from}-${block.to}`);
      }
    });
    if (handed.length === 0) return;
    await this.repo.flush([this.folios.documentId]);
    this.log.info({ branch: this.id, handed }, "folio blocks handed out");
  }

  /** Adds an authority range (a numbering resolution, a CAF) to the pool. */
  async addFolioRange(range: FolioRange): Promise<void> {
    this.folios.change((doc) => {
      doc.ranges.push({ prefix: imm(range.prefix), from: range.from, to: range.to, validUntil: imm(range.validUntil) });
      if (doc.poolNext < range.from && doc.ranges.length === 1) doc.poolNext = range.from;
    });
    await this.repo.flush([this.folios.documentId]);
    this.log.info({ branch: this.id, ...range }, "folio range added");
    // Provisional folios waiting for numbers take them first, then terminals get blocks.
    this.schedule();
  }

  /** Numbers left in the pool, days to each range's expiry, and alerts for HQ. */
  folioSummary() {
    const doc = this.folios.doc();
    const today = Date.now();
    const ranges = readRanges(doc).map((r) => ({
      ...r,
      daysToExpiry: Math.floor((Date.parse(`${r.validUntil}T23:59:59Z`) - today) / 86_400_000),
    }));
    const poolLeft = ranges.reduce((sum, r) => sum + Math.max(0, r.to - Math.max(r.from - 1, doc.poolNext - 1)), 0);
    const alerts: string[] = [];
    if (readScheme(doc) === "authority-range") {
      if (poolLeft < doc.blockSize) alerts.push(`only ${poolLeft} folio numbers left in the authorized ranges; load a new range`);
      for (const range of ranges) {
        if (range.daysToExpiry < 30) alerts.push(`range ${range.prefix}${range.from}-${range.to} expires in ${range.daysToExpiry} days`);
      }
    }
    const voided = voidedFolios(this.#records.values(), (id) => this.#records.get(id) ?? null, doc);
    return { scheme: readScheme(doc), poolLeft, ranges, alerts, finals: Object.keys(doc.finals).length, voided };
  }

  /** Checks a record's hash, signature (unless `signatureValid` gives its result) and link to the terminal's previous record. */
  #verifyIntegrity(record: LedgerRecord, signer: KeyObject[], signatureValid?: boolean): string | null {
    const previous = record.seq === 1 ? null : this.#records.get(recordId(this.id, record.terminal, record.seq - 1));
    const expected = record.seq === 1 ? genesisHash(this.id, record.terminal) : (previous?.hash ?? null);
    return verifyRecordIntegrity(record, expected, signer, this.#storedJson.get(record.id) ?? null, signatureValid);
  }

  /**
   * Raises an integrity conflict for a record whose stored content changed
   * after it was first seen. The first-seen version stays in memory and its
   * values go into the conflict, where they still verify against the hash.
   */
  async #flagEdit(original: LedgerRecord, edited: LedgerRecord | null, unreadable = ""): Promise<void> {
    const changes = edited ? describeRecordEdit(original, edited) : [unreadable];
    const id = `integrity:${original.id}`;
    if (readDetections(this.conflicts.doc(), RELAY_REPLICA).has(id)) return;
    const now = this.clock.now();
    const detection: Detection = {
      id,
      kind: "integrity",
      sku: "",
      shortfall: 0,
      stock: 0,
      tickets: [original.id],
      subject: `${original.terminal} ${original.id}`,
      detail: `final record edited after it was recorded: ${changes.join("; ")}; the original values match hash ${original.hash.slice(0, 16)}…`,
      firstDetectedAt: now,
      detectedAt: now,
      detectedBy: RELAY_REPLICA,
    };
    this.conflicts.change((doc) => putDetection(doc, RELAY_REPLICA, detection));
    await this.repo.flush([this.conflicts.documentId]);
    this.log.error({ conflict: id, changes }, "final record edited");
  }

  /** Flags a revoked device that tried to connect, once per device. */
  async flagRevokedDevice(terminal: string): Promise<void> {
    const id = `revoked-device:${terminal}`;
    if (readDetections(this.conflicts.doc(), RELAY_REPLICA).has(id)) return;
    const now = this.clock.now();
    this.conflicts.change((doc) =>
      putDetection(doc, RELAY_REPLICA, {
        id,
        kind: "revoked-device",
        sku: "",
        shortfall: 0,
        stock: 0,
        tickets: [],
        subject: terminal,
        detail: `revoked device of terminal ${terminal} tried to connect`,
        firstDetectedAt: now,
        detectedAt: now,
        detectedBy: RELAY_REPLICA,
      }),
    );
    await this.repo.flush([this.conflicts.documentId]);
    this.log.warn({ terminal }, "revoked device tried to connect");
  }

  /** Folds every ingested record into the branch's stock, in each terminal's sequence order. */
  #foldIngested(): void {
    const ingest = this.ingest.doc();
    const terminals = listTerminals(this.directory.doc()).map((t) => t.id);
    this.stockPublisher.foldIngested(
      terminals,
      (terminal) => readAcked(ingest, terminal),
      (terminal, seq) => this.#records.get(recordId(this.id, terminal, seq)),
    );
  }

  async #reconcile(): Promise<void> {
    const stock = this.stockPublisher.negative();
    const conflicts = this.conflicts.doc();
    const records = [...this.#records.values()];
    const own = readDetections(conflicts, RELAY_REPLICA);
    const merged = this.review?.review().conflicts ?? listConflicts(conflicts);
    const now = this.clock.now();
    const writes = [
      ...reconcileOversells({ replica: RELAY_REPLICA, now, windowApplied: this.stockPublisher.windowApplied(), stock, records, own, merged }),
      ...reconcileDoubleRefunds({ replica: RELAY_REPLICA, now, records, own, merged }),
      ...reconcileDuplicateProvisionals({ replica: RELAY_REPLICA, now, records, own, merged }),
      ...reconcileVoids({ replica: RELAY_REPLICA, now, records, own, merged }),
      ...(this.review?.auditDetections(now, own) ?? []),
    ];
    if (writes.length === 0) return;
    this.conflicts.change((doc) => {
      for (const detection of writes) putDetection(doc, RELAY_REPLICA, detection);
    });
    await this.repo.flush([this.conflicts.documentId]);
    for (const detection of writes) {
      this.log.warn(
        { branch: this.id, conflict: detection.id, shortfall: detection.shortfall, tickets: detection.tickets },
        "conflict detected",
      );
    }
  }

  /** Opens a new stock baseline document now, on HQ's request (see `StockPublisher.roll`). */
  rollInventory(): Promise<{ epoch: number; url: string }> {
    return this.stockPublisher.rollNow();
  }

  /** Branch summary for HQ. */
  summary(contacts: Map<string, { lastContact: string; connected: boolean }>) {
    const directory = this.directory.doc();
    const ingest = this.ingest.doc();
    const urls = readDirectoryUrls(directory);
    return {
      branch: this.id,
      name: urls.name,
      timeZone: urls.timeZone,
      inventoryEpoch: this.stockPublisher.epoch,
      terminals: listTerminals(directory).filter((t) => t.id !== RELAY_REPLICA).map((terminal) => {
        const contact = contacts.get(`terminal:${this.id}:${terminal.id}`);
        const lastRecordAt = ingest.lastRecordAt[terminal.id];
        return {
          id: terminal.id,
          name: terminal.name,
          lanUrl: terminal.lanUrl,
          ackedSeq: readAcked(ingest, terminal.id),
          lastRecordAt: lastRecordAt ? str(lastRecordAt) : null,
          lastContact: contact?.lastContact ?? null,
          connected: contact?.connected ?? false,
          ledgers: terminal.ledgers.length,
        };
      }),
      days: readDays(ingest),
      folios: this.folioSummary(),
      fiscal: fiscalSummary(this.#records.values(), ingest, this.folios.doc(), 50),
      conflicts: this.review?.list("all") ?? listConflicts(this.conflicts.doc()),
    };
  }

  /** Z report of the branch for a business day, from every record the relay holds. */
  zReport(businessDay: string) {
    return buildZReport([...this.#records.values()], businessDay);
  }

  /** Stock per SKU as the relay folded it, plus the records it holds that wait to be folded. */
  stock(): Record<string, number> {
    return this.stockPublisher.stock();
  }

  /** Heads of every branch document the relay holds. */
  heads(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const handle of [this.directory, this.stockPublisher.handle, this.conflicts, this.ingest, this.permissions, this.folios]) {
      out[handle.documentId] = handle.heads();
    }
    for (const handle of this.ledgers.values()) if (handle) out[handle.documentId] = handle.heads();
    return out;
  }

  /** Reads one record of the branch by id, or null when the relay does not hold it. */
  record(id: string): LedgerRecord | null {
    return this.#records.get(id) ?? null;
  }

  /** Lists the branch's fiscal records whose transmission debt the relay has not settled, most urgent first. */
  fiscalDebt() {
    return fiscalSummary(this.#records.values(), this.ingest.doc(), this.folios.doc(), Number.MAX_SAFE_INTEGER);
  }

  /** Lists every record of the branch the relay has, in HLC order. */
  records(): LedgerRecord[] {
    return [...this.#records.values()].sort((a, b) => compareHlc(a.hlc, b.hlc));
  }
}

/**
 * Takes `count` consecutive numbers from the pool of a folios document
 * inside a `change()` callback, within one range and skipping expired
 * ranges. Returns the block taken, or nothing when the pool is used up.
 */
export function takeFromPool(doc: FoliosDoc, count: number): { prefix: string; from: number; to: number }[] {
  const today = new Date().toISOString().slice(0, 10);
  for (const range of doc.ranges) {
    if (str(range.validUntil) < today) continue;
    const start = Math.max(doc.poolNext, range.from);
    if (start > range.to) continue;
    const end = Math.min(range.to, start + count - 1);
    doc.poolNext = end + 1;
    return [{ prefix: str(range.prefix), from: start, to: end }];
  }
  return [];
}
