import type { KeyObject } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import { Repo } from "@automerge/automerge-repo";
import type { DocHandle, DocumentId, PeerId } from "@automerge/automerge-repo";
import {
  DurableFileStorageAdapter,
  HybridLogicalClock,
  LEDGER_PART_CAP,
  RuleError,
  ValidationError,
  appendRecord,
  applyStockMovement,
  businessDayOf,
  checkStockBuffer,
  countRecords,
  findDocument,
  findProduct,
  initLedger,
  listRecords,
  listTerminals,
  maxSeq,
  parseSaleRequest,
  priceSale,
  putDetection,
  readAcked,
  readAllStock,
  readApplied,
  readDetections,
  readDirectoryUrls,
  readJsonFile,
  readOpeningApplied,
  readProduct,
  readRecord,
  readStock,
  recordId,
  registerLedger,
  setLanUrl,
  str,
  writeJsonDurable,
  CASH_MOVEMENT_REASONS,
  buildZReport,
  genesisHash,
  canonicalJson,
  describeRecordEdit,
  readSigningKeys,
  verifyRecordIntegrity,
  makeDeviceToken,
  parseRefundRequest,
  priceRefund,
  readDeviceKey,
  readUser,
  sealRecord,
  unlockSigningKey,
  verifyDeviceToken,
  TOKEN_WINDOW_MS,
  compareHlc,
  folioNumbersLeft,
  highestBlockFolio,
  isFiscal,
  nextFolio,
  readFinalFolio,
  readScheme,
  pendingFiscalRecords,
  recordsAgainst,
  taxProfile,
  transmissionDeadline,
} from "@mercora/crdt-model";
import type {
  CashMovementReason,
  CatalogDoc,
  Detection,
  FoliosDoc,
  Keystore,
  PermissionsDoc,
  ConflictsDoc,
  DirectoryDoc,
  IngestDoc,
  InventoryDoc,
  LedgerDoc,
  LedgerRecord,
  RecordKind,
  StockLine,
} from "@mercora/crdt-model";
import { reconcileDoubleRefunds, reconcileDuplicateProvisionals, reconcileOversells, reconcileVoids } from "@mercora/reconciler";
import type { Logger } from "pino";
import type { ActivatedState } from "./activation.ts";
import { ClockWatch } from "./clock.ts";
import { ConflictReview } from "./conflict-review.ts";
import type { RecordWriter, Signer } from "./conflict-review.ts";
import { Connectivity } from "./connectivity.ts";
import type { ConnectivityOptions } from "./connectivity.ts";
import { HeadsJournal } from "./journal.ts";
import { LanNetwork } from "./lan.ts";
import { PinGuard } from "./pins.ts";
import type { LanPeer } from "./lan.ts";
import { ReceiptSpooler } from "./receipts.ts";
import type { ReceiptSettings } from "./receipts.ts";

export interface TerminalOptions {
  dataDir: string;
  branch: string;
  terminal: string;
  /** Relay base URL, e.g. http://127.0.0.1:7000; null runs LAN-only. */
  relayUrl: string | null;
  /** The keystore opened or created by `openOrActivate`. */
  keystore: Keystore;
  /** The activated state from `openOrActivate`. */
  activated: ActivatedState;
  lanListen: { host: string; port: number } | null;
  /** URL other terminals dial; defaults to the listen address. */
  lanAdvertise: string | null;
  lanPeers: LanPeer[];
  /** Also dial peers listed in the branch directory. */
  lanDiscovery: boolean;
  connectivity: ConnectivityOptions;
  receipts: ReceiptSettings;
  /** How long a first start waits for the relay or a LAN peer to provide the branch documents. */
  bootstrapTimeoutMs: number;
  /** Error added to this device's clock, to simulate a wrong clock in tests and demos; 0 in production. */
  clockOffsetMs: number;
  /** A clock this far from the store's time raises one clock-skew conflict. */
  clockSkewThresholdMs: number;
  log: Logger;
}

type TerminalState = ActivatedState;

/** The cashier signed in at this terminal, whose key signs every record. */
interface CashierSession {
  userId: string;
  name: string;
  key: KeyObject;
  since: string;
}

interface OwnLedger {
  handle: DocHandle<LedgerDoc>;
  businessDay: string;
  part: number;
  firstSeq: number;
}

/** A damaged or incomplete document, as the status endpoint reports it. */
export interface StorageProblem {
  documentId: string;
  problem: string;
  since: string;
  /** True while the problem stops the terminal from writing new records. */
  blocking: boolean;
}

const RELAY_PEER = "relay";

/**
 * One cashier terminal: its documents in an automerge-repo with durable
 * storage, LAN peers, the WAN link to the relay, and the operations the
 * HTTP API exposes. Writes are serialized, so sequence numbers are issued
 * one at a time and every acknowledgement follows an fsync.
 */
export class Terminal {
  readonly options: TerminalOptions;
  readonly log: Logger;
  readonly clock: HybridLogicalClock;
  readonly repo: Repo;
  readonly storage: DurableFileStorageAdapter;
  readonly journal: HeadsJournal;
  readonly connectivity: Connectivity;
  readonly lan: LanNetwork;
  readonly receipts: ReceiptSpooler;
  readonly clockWatch: ClockWatch;
  readonly pins: PinGuard;
  /** The branch's conflicts with their resolutions, and the way managers resolve them here. */
  readonly review: ConflictReview;

  #state!: TerminalState;
  #directory!: DocHandle<DirectoryDoc>;
  #catalog!: DocHandle<CatalogDoc>;
  #inventory!: DocHandle<InventoryDoc>;
  #conflicts!: DocHandle<ConflictsDoc>;
  #ingest!: DocHandle<IngestDoc>;
  #permissions!: DocHandle<PermissionsDoc>;
  #folios!: DocHandle<FoliosDoc>;
  /** Own records whose final folio arrived and whose receipt has not been reprinted with it. */
  readonly #reprintOffers = new Set<string>();
  readonly #reprinted = new Set<string>();
  #own: OwnLedger[] = [];
  #peerLedgers = new Map<string, DocHandle<LedgerDoc>>();
  #seq = 0;
  #deviceKey!: KeyObject;
  #lastHash = "";
  #session: CashierSession | null = null;
  readonly #seenNonces = new Map<string, number>();
  readonly #integrityFlagged = new Set<string>();
  #pendingIntegrity: { record: LedgerRecord; detail: string }[] = [];
  #writeQueue: Promise<unknown> = Promise.resolve();
  #requestIndex = new Map<string, string>();
  #records = new Map<string, LedgerRecord>();
  #storageProblems: StorageProblem[] = [];
  #reconcileTimer: NodeJS.Timeout | null = null;
  /** The relay's acknowledgement mark of this terminal as far as it is on disk. */
  #ackedOnDisk = 0;
  #closed = false;
  readonly #peers = new Set<string>();
  readonly #refetching = new Set<string>();

  constructor(options: TerminalOptions) {
    this.options = options;
    this.log = options.log;
    const deviceNow = () => Date.now() + options.clockOffsetMs;
    this.clockWatch = new ClockWatch(options.terminal, deviceNow, options.log);
    this.clock = new HybridLogicalClock(options.terminal, () => this.clockWatch.now());
    this.pins = new PinGuard(() => this.#permissions, options.dataDir, options.log);
    this.storage = new DurableFileStorageAdapter(join(options.dataDir, "automerge"), options.keystore.storageKey);
    this.storage.on("damaged", (chunk) => {
      this.log.error({ key: chunk.key, movedTo: chunk.movedTo, reason: chunk.reason }, "damaged chunk moved aside");
      this.#storageProblems.push({
        documentId: chunk.key[0] ?? "unknown",
        problem: `chunk ${chunk.key.join("/")} damaged (${chunk.reason}), moved to ${chunk.movedTo}`,
        since: chunk.at,
        blocking: false,
      });
    });
    this.journal = new HeadsJournal(join(options.dataDir, "acked-heads.jsonl"));
    this.repo = new Repo({
      storage: this.storage,
      network: [],
      peerId: `terminal:${options.branch}:${options.terminal}` as PeerId,
      // Terminals share every document they hold with their LAN peers and the relay.
      sharePolicy: async () => true,
    });
    this.repo.networkSubsystem.on("peer", ({ peerId }) => {
      this.#peers.add(peerId);
      this.log.info({ peerId }, "peer connected");
    });
    this.repo.networkSubsystem.on("peer-disconnected", ({ peerId }) => {
      this.#peers.delete(peerId);
      this.log.info({ peerId }, "peer disconnected");
    });
    this.connectivity = new Connectivity(
      this.repo,
      options.relayUrl,
      options.connectivity,
      join(options.dataDir, "connectivity.jsonl"),
      this.log,
      (relayMs, sentMs, receivedMs) => this.clockWatch.observeRelay(relayMs, sentMs, receivedMs),
      deviceNow,
      () => this.deviceToken(),
    );
    this.lan = new LanNetwork(this.repo, options.terminal, this.log, 1000, () => this.deviceToken(), (url) => this.verifyLanPeer(url));
    this.receipts = new ReceiptSpooler(options.receipts, join(options.dataDir, "spool"), this.log, options.keystore.storageKey);
    this.review = new ConflictReview({
      branch: options.branch,
      replica: options.terminal,
      conflicts: () => this.#conflicts,
      permissions: () => this.#permissions,
      pins: this.pins,
      clock: this.clock,
      now: () => this.clockWatch.now(),
      runWrites: (signer, task) => this.withWriter(task, signer),
      findRecord: (id) => this.findRecord(id),
      records: () => this.#records.values(),
      store: () => ({ currency: str(this.#catalog.doc().currency), cashRoundingIncrement: this.#cashRoundingIncrement }),
      flush: (ids) => this.repo.flush(ids as DocumentId[]),
      log: this.log.child({ component: "conflict-review" }),
    });
  }

  /** Starts networking, loads or fetches the branch documents, checks storage and repairs inventory. */
  async start(): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true });
    await this.journal.open();
    await this.pins.open();
    await this.#loadState();
    if (this.options.lanListen) await this.lan.listen(this.options.lanListen);
    for (const peer of this.options.lanPeers) this.lan.dial(peer);
    await this.connectivity.start();
    await this.#openBranchDocuments();
    await this.#checkAcknowledgedHeads();
    await this.#openOwnLedgers();
    this.#seq = Math.max(this.journal.maxSeq, ...this.#own.map((l) => maxSeq(l.handle.doc())), 0);
    // The last record may be missing after storage damage; writes stay blocked until a peer supplies it.
    const last = this.#records.get(recordId(this.options.branch, this.options.terminal, this.#seq));
    this.#lastHash = this.#seq === 0 ? genesisHash(this.options.branch, this.options.terminal) : (last?.hash ?? "");
    await this.#enqueue(() => this.#repairInventory());
    await this.#announceSelf();
    this.#watchDirectory();
    this.clockWatch.start(this.#directory as DocHandle<unknown>);
    this.#scheduleReconcile();
    this.receipts.setFolioSource((record) => this.folioOf(record));
    this.receipts.setContext(() => ({
      storeName: str(this.#directory.doc().name),
      currency: str(this.#catalog.doc().currency),
      minorUnitDigits: this.#catalog.doc().minorUnitDigits,
    }));
    await this.receipts.start();
    this.log.info({ seq: this.#seq, ledgers: this.#own.length }, "terminal started");
  }

  async stop(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reconcileTimer) clearTimeout(this.#reconcileTimer);
    await this.#writeQueue.catch(() => undefined);
    this.receipts.stop();
    this.clockWatch.stop();
    this.connectivity.stop();
    await this.lan.close();
    await this.repo.flush().catch(() => undefined);
    // repo.shutdown() disconnects the remaining adapters synchronously, before it returns its promise.
    await Promise.resolve()
      .then(() => this.repo.shutdown())
      .catch((error: unknown) => this.log.warn({ err: error }, "repo shutdown failed; stopping anyway"));
    await this.journal.close();
  }

  get branch(): string {
    return this.options.branch;
  }

  get terminalId(): string {
    return this.options.terminal;
  }

  // ---------------------------------------------------------------- start-up

  async #loadState(): Promise<void> {
    this.#state = { ...this.options.activated, ledgers: [...this.options.activated.ledgers] };
    const deviceKey = await this.options.keystore.deviceKey();
    if (!deviceKey) throw new Error("The terminal's keystore has no device key; activate it again");
    this.#deviceKey = deviceKey;
  }

  /** Makes a fresh device token for a websocket URL. */
  deviceToken(): string {
    return makeDeviceToken(this.#deviceKey, {
      branch: this.options.branch,
      terminal: this.options.terminal,
      peerId: `terminal:${this.options.branch}:${this.options.terminal}`,
      issuedAt: this.clockWatch.now(),
    });
  }

  /** Checks the device token of a LAN peer dialing in: an activated, unrevoked device of this branch. */
  verifyLanPeer(url: URL): { peerId: string } | { reason: string } {
    const token = url.searchParams.get("token");
    if (!token) return { reason: "no device token" };
    if (!this.#permissions) return { reason: "this terminal has no permissions yet" };
    const result = verifyDeviceToken(
      token,
      (branch, terminal) => (branch === this.options.branch ? readDeviceKey(this.#permissions.doc(), terminal) : null),
      this.clockWatch.now(),
      this.#seenNonces,
      // A terminal whose clock the relay has not confirmed cannot judge a
      // token's age: a skewed clock would refuse every honest peer.
      this.clockWatch.status().relayOffsetMs === null ? null : TOKEN_WINDOW_MS,
    );
    return "reason" in result ? { reason: result.reason } : { peerId: result.claims.peerId };
  }

  async #saveState(): Promise<void> {
    await writeJsonDurable(join(this.options.dataDir, "terminal.json"), this.#state);
  }

  async #openBranchDocuments(): Promise<void> {
    const timeoutMs = this.options.bootstrapTimeoutMs;
    this.#directory = await findDocument<DirectoryDoc>(this.repo, this.#state.directoryUrl as DocumentId, { timeoutMs });
    const urls = readDirectoryUrls(this.#directory.doc());
    if (!this.#directory.doc().terminals[this.options.terminal]) {
      throw new Error(
        `Branch ${urls.branch} has no terminal ${this.options.terminal}; add it on the relay before starting it`,
      );
    }
    const [catalog, inventory, conflicts, ingest, permissions, folios] = await Promise.all([
      findDocument<CatalogDoc>(this.repo, urls.catalogUrl as DocumentId, { timeoutMs }),
      findDocument<InventoryDoc>(this.repo, urls.inventoryUrl as DocumentId, { timeoutMs }),
      findDocument<ConflictsDoc>(this.repo, urls.conflictsUrl as DocumentId, { timeoutMs }),
      findDocument<IngestDoc>(this.repo, urls.ingestUrl as DocumentId, { timeoutMs }),
      findDocument<PermissionsDoc>(this.repo, urls.permissionsUrl as DocumentId, { timeoutMs }),
      findDocument<FoliosDoc>(this.repo, urls.foliosUrl as DocumentId, { timeoutMs }),
    ]);
    this.#permissions = permissions;
    this.#folios = folios;
    this.#folios.on("change", () => this.#collectReprintOffers());
    this.#catalog = catalog;
    this.#inventory = inventory;
    this.#conflicts = conflicts;
    this.#ingest = ingest;
    this.#ackedOnDisk = readAcked(ingest.doc(), this.options.terminal);
    this.#ingest.on("change", () => void this.#flushAcknowledgements());
    this.#inventory.on("change", () => this.#scheduleReconcile());
    // Only these: a bare flush() also visits handles still loading from peers and throws on them.
    await this.repo.flush([catalog, inventory, conflicts, ingest, permissions, folios, this.#directory].map((h) => h.documentId));
  }

  /**
   * Compares what storage loaded with the heads recorded at each
   * acknowledgement. A document missing acknowledged changes lost a chunk:
   * writes stay refused until the missing changes arrive from a peer.
   */
  async #checkAcknowledgedHeads(): Promise<void> {
    for (const entry of this.journal.entries) {
      let handle: DocHandle<unknown>;
      try {
        handle = await findDocument(this.repo, entry.documentId as DocumentId, { timeoutMs: 2000 });
      } catch {
        this.#reportMissing(entry.documentId, entry.heads, "acknowledged changes missing: document not in storage");
        continue;
      }
      if (!A.hasHeads(handle.doc() as A.Doc<unknown>, entry.heads)) {
        this.#reportMissing(entry.documentId, entry.heads, "acknowledged changes missing from storage");
      }
    }
  }

  /** Asks peers for a document that storage lost entirely, until one supplies it. */
  async #refetch(documentId: string, heads: string[]): Promise<void> {
    if (this.#refetching.has(documentId)) return;
    this.#refetching.add(documentId);
    while (!this.#closed) {
      try {
        const handle = await findDocument(this.repo, documentId as DocumentId, { timeoutMs: 5000, retryMs: 1000 });
        handle.on("change", () => this.#recheckHeads(documentId, heads, handle));
        this.#recheckHeads(documentId, heads, handle);
        return;
      } catch {
        // No connected peer has it yet; the next attempt follows.
      }
    }
  }

  #reportMissing(documentId: string, heads: string[], problem: string): void {
    if (this.#storageProblems.some((p) => p.documentId === documentId && p.problem === problem)) return;
    this.log.error({ documentId, heads }, `${problem}; refusing writes until a peer supplies them`);
    this.#storageProblems.push({ documentId, problem, since: new Date().toISOString(), blocking: true });
    if (heads.length > 0 || !this.#refetching.has(documentId)) void this.#refetch(documentId, heads);
  }

  #recheckHeads(documentId: string, heads: string[], handle: DocHandle<unknown>): void {
    const doc = handle.doc() as A.Doc<unknown> | undefined;
    if (!doc) return;
    const expected = this.journal.entries.find((e) => e.documentId === documentId)?.heads ?? heads;
    if (!A.hasHeads(doc, expected)) return;
    const before = this.#storageProblems.length;
    this.#storageProblems = this.#storageProblems.filter((p) => !(p.documentId === documentId && p.blocking));
    if (!this.#own.some((own) => own.handle.documentId === documentId)) {
      const ref = this.#state.ledgers.find((l) => l.documentId === documentId);
      if (ref) this.#adoptOwnLedger(handle as DocHandle<LedgerDoc>, ref);
    }
    if (this.#storageProblems.length !== before) {
      this.log.warn({ documentId }, "missing acknowledged changes restored from a peer");
      void this.#enqueue(() => this.#repairInventory());
    }
  }

  get #writesBlocked(): StorageProblem | null {
    return this.#storageProblems.find((p) => p.blocking) ?? null;
  }

  async #openOwnLedgers(): Promise<void> {
    const refs = new Map(this.#state.ledgers.map((ref) => [ref.documentId, ref]));
    const listed = listTerminals(this.#directory.doc()).find((t) => t.id === this.options.terminal);
    for (const ref of listed?.ledgers ?? []) {
      if (!refs.has(ref.documentId)) refs.set(ref.documentId, ref);
    }
    for (const ref of [...refs.values()].sort((a, b) => a.firstSeq - b.firstSeq)) {
      let handle: DocHandle<LedgerDoc>;
      try {
        handle = await findDocument<LedgerDoc>(this.repo, ref.url as DocumentId, { timeoutMs: 5000 });
      } catch (error) {
        this.#reportMissing(ref.documentId, [], "own ledger missing from storage and peers");
        this.log.error({ err: error, documentId: ref.documentId }, "own ledger not found");
        continue;
      }
      this.#adoptOwnLedger(handle, ref);
    }
    // A ledger created just before a crash may be in local state but not yet in the directory.
    this.#directory.change((doc) => {
      for (const ref of refs.values()) registerLedger(doc, this.options.terminal, ref);
    });
    this.#state.ledgers = [...refs.values()].sort((a, b) => a.firstSeq - b.firstSeq);
  }

  #adoptOwnLedger(handle: DocHandle<LedgerDoc>, ref: { businessDay: string; part: number; firstSeq: number }): void {
    this.#own.push({ handle, businessDay: ref.businessDay, part: ref.part, firstSeq: ref.firstSeq });
    this.#own.sort((a, b) => a.firstSeq - b.firstSeq);
    this.#indexLedger(handle);
    handle.on("change", ({ patches }) => this.#indexLedger(handle, patches));
    const highest = maxSeq(handle.doc());
    if (highest > this.#seq) this.#seq = highest;
  }

  /**
   * Reads new records of a ledger into memory, verifying each one's hash,
   * signature and chain link, and checks records a change touched against
   * the version first seen, so an edit to a final record is caught.
   */
  #indexLedger(handle: DocHandle<LedgerDoc>, patches: { path: (string | number)[] }[] = []): void {
    const doc = handle.doc();
    if (!doc?.records) return;
    for (const patch of patches) {
      const id = patch.path[0] === "records" ? patch.path[1] : undefined;
      const original = typeof id === "string" ? this.#records.get(id) : undefined;
      const stored = typeof id === "string" ? doc.records[id] : undefined;
      if (!original || !stored || this.#integrityFlagged.has(original.id)) continue;
      const current = readRecord(stored);
      if (canonicalJson(current) !== canonicalJson(original)) {
        this.#flagIntegrity(original, `final record edited after it was recorded: ${describeRecordEdit(original, current).join("; ")}; the original values match hash ${original.hash.slice(0, 16)}…`);
      }
    }
    const added: LedgerRecord[] = [];
    for (const [id, stored] of Object.entries(doc.records)) {
      if (this.#records.has(id)) continue;
      const record = readRecord(stored);
      this.#records.set(id, record);
      added.push(record);
      if (record.requestId && record.terminal === this.options.terminal) {
        this.#requestIndex.set(record.requestId, id);
      }
      if (record.terminal !== this.options.terminal) this.clock.observe(record.hlc);
    }
    for (const record of added.sort((a, b) => a.seq - b.seq)) {
      const previous = record.seq === 1 ? null : this.#records.get(recordId(record.branch, record.terminal, record.seq - 1));
      const expected = record.seq === 1 ? genesisHash(record.branch, record.terminal) : (previous?.hash ?? null);
      const signer = record.cashier && this.#permissions ? readSigningKeys(this.#permissions.doc(), record.cashier) : [];
      const failure = verifyRecordIntegrity(record, expected, signer);
      if (failure) this.#flagIntegrity(record, failure);
    }
  }

  /** Raises one integrity conflict for a record, once. */
  #flagIntegrity(record: LedgerRecord, detail: string): void {
    if (this.#integrityFlagged.has(record.id)) return;
    this.#integrityFlagged.add(record.id);
    this.log.error({ record: record.id, terminal: record.terminal, detail }, "record failed integrity check");
    this.#pendingIntegrity.push({ record, detail });
    this.#scheduleReconcile();
  }

  /**
   * Applies to the current inventory epoch every own record whose stock
   * lines are not counted there yet: the records written just before a
   * crash, or after the relay opened a new epoch. The applied mark moves in
   * the same change, so a record is never counted twice.
   */
  async #repairInventory(): Promise<void> {
    if (this.#writesBlocked) return;
    const applied = readApplied(this.#inventory.doc(), this.options.terminal);
    if (applied === null) {
      throw new Error(
        `Inventory epoch of branch ${this.options.branch} has no entry for terminal ${this.options.terminal}`,
      );
    }
    const missing = [...this.#records.values()]
      .filter((r) => r.terminal === this.options.terminal && r.seq > applied && r.stock.length > 0)
      .sort((a, b) => a.seq - b.seq);
    const lastSeq = this.#seq;
    if (missing.length === 0 && applied >= lastSeq) return;
    this.#inventory.change((doc) => {
      for (const record of missing) applyStockMovement(doc, this.options.terminal, record.seq, record.stock);
      // Records without stock lines (cash movements) move the mark too.
      if ((doc.applied[this.options.terminal] ?? 0) < lastSeq) doc.applied[this.options.terminal] = lastSeq;
    });
    await this.repo.flush([this.#inventory.documentId]);
    await this.journal.append(lastSeq, [{ documentId: this.#inventory.documentId, heads: hexHeads(this.#inventory) }]);
    this.log.warn({ repaired: missing.map((r) => r.id), applied, lastSeq }, "inventory repaired from ledger");
  }

  async #announceSelf(): Promise<void> {
    const lanUrl = this.options.lanAdvertise ?? (this.lan.listenUrl ? this.lan.listenUrl : null);
    this.#directory.change((doc) => setLanUrl(doc, this.options.terminal, lanUrl));
    await this.repo.flush([this.#directory.documentId]);
  }

  #watchDirectory(): void {
    const onChange = () => {
      void this.#followDirectory().catch((error) => this.log.error({ err: error }, "failed to follow the branch directory"));
    };
    this.#directory.on("change", onChange);
    onChange();
  }

  /** Loads peer ledgers of the live set, dials discovered LAN peers and follows inventory epochs. */
  async #followDirectory(): Promise<void> {
    const doc = this.#directory.doc();
    const today = businessDayOf(new Date(), str(doc.timeZone));
    const yesterday = businessDayOf(new Date(Date.now() - 86_400_000), str(doc.timeZone));
    for (const terminal of listTerminals(doc)) {
      if (terminal.id === this.options.terminal) continue;
      if (this.options.lanDiscovery && terminal.lanUrl && terminal.id > this.options.terminal) {
        this.lan.dial({ id: terminal.id, url: terminal.lanUrl });
      }
      for (const ref of terminal.ledgers) {
        if (this.#peerLedgers.has(ref.documentId)) continue;
        if (ref.businessDay !== today && ref.businessDay !== yesterday) continue;
        this.#peerLedgers.set(ref.documentId, null as unknown as DocHandle<LedgerDoc>);
        void findDocument<LedgerDoc>(this.repo, ref.url as DocumentId, { timeoutMs: 600_000, retryMs: 1000 })
          .then((handle) => {
            this.#peerLedgers.set(ref.documentId, handle);
            this.#indexLedger(handle);
            handle.on("change", ({ patches }) => {
              this.#indexLedger(handle, patches);
              this.#scheduleReconcile();
            });
            this.#scheduleReconcile();
          })
          .catch((error) => {
            this.#peerLedgers.delete(ref.documentId);
            this.log.warn({ err: error, documentId: ref.documentId }, "peer ledger not available yet");
          });
      }
    }
    const inventoryUrl = str(doc.inventoryUrl);
    if (inventoryUrl !== this.#inventory.url) await this.#switchInventory(inventoryUrl);
  }

  async #switchInventory(url: string): Promise<void> {
    const handle = await findDocument<InventoryDoc>(this.repo, url as DocumentId, { timeoutMs: 600_000, retryMs: 1000 });
    await this.#enqueue(async () => {
      if (handle.doc().epoch <= this.#inventory.doc().epoch) return;
      this.log.info({ from: this.#inventory.doc().epoch, to: handle.doc().epoch }, "switching to new inventory epoch");
      this.#inventory = handle;
      this.#inventory.on("change", () => this.#scheduleReconcile());
      await this.#repairInventory();
    });
  }

  // -------------------------------------------------------------- operations

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#writeQueue.then(task, task);
    this.#writeQueue = run.catch(() => undefined);
    return run;
  }

  /** Available stock of a SKU as this terminal knows it, or null when the SKU has no counter. */
  stockOf(sku: string): number | null {
    return readStock(this.#inventory.doc(), sku);
  }

  /** Looks up a product by SKU or barcode, with its known stock. */
  lookup(code: string) {
    const product = findProduct(this.#catalog.doc(), code);
    if (!product) return null;
    return { ...product, stock: this.stockOf(product.sku) };
  }

  /** Searches products whose name contains every word of the query, case and accent insensitive. */
  search(query: string, limit = 20) {
    const words = fold(query).split(/\s+/).filter(Boolean);
    const out: (ReturnType<typeof readProduct> & { stock: number | null })[] = [];
    if (words.length === 0) return out;
    for (const stored of Object.values(this.#catalog.doc().products)) {
      const name = fold(str(stored.name));
      if (words.every((w) => name.includes(w))) {
        const product = readProduct(this.#catalog.doc(), str(stored.sku))!;
        out.push({ ...product, stock: this.stockOf(product.sku) });
        if (out.length >= limit) break;
      }
    }
    return out;
  }

  /**
   * Records a sale and acknowledges it only once it is on disk. A request
   * with a `requestId` already recorded returns the existing record.
   */
  recordSale(body: unknown): Promise<{ record: LedgerRecord; duplicate: boolean }> {
    const request = parseSaleRequest(body);
    return this.#enqueue(async () => {
      const existing = request.requestId ? this.#requestIndex.get(request.requestId) : undefined;
      if (existing) return { record: this.#records.get(existing)!, duplicate: true };
      const catalog = this.#catalog.doc();
      const priced = priceSale(catalog, request, (sku) => this.stockOf(sku) ?? 0, {
        cashRoundingIncrement: this.#cashRoundingIncrement,
      });
      const offline = !this.connectivity.online;
      let authorizedBy: string | null = null;
      if (offline) {
        const failures = checkStockBuffer(priced.lines, (sku) => readProduct(catalog, sku)?.stockBuffer ?? 0);
        const first = failures[0];
        if (first && !request.override) {
          throw new RuleError(
            "STOCK_BUFFER",
            `Offline sale of ${first.qty} x ${first.sku} (${first.name}) refused: known stock is ${first.available} ` +
              `and the buffer for this SKU is ${first.buffer}; sell it online, or with a manager's override`,
            "lines",
          );
        }
        if (first && request.override) {
          const manager = await this.pins.authorize(request.override.manager, request.override.pin, "manager", "stock buffer override");
          authorizedBy = manager.id;
          this.log.warn({ manager: manager.id, skus: failures.map((f) => f.sku) }, "stock buffer overridden by manager");
        }
      }
      for (const line of priced.stock) this.#requireCounter(line.sku);
      const record = await this.#write("sale", {
        lines: priced.lines,
        tenders: priced.tenders,
        total: priced.total,
        tax: priced.tax,
        cashRounding: priced.cashRounding,
        change: priced.change,
        stock: priced.stock,
        requestId: request.requestId ?? null,
        authorizedBy,
        offline,
      });
      this.receipts.enqueue(record);
      return { record, duplicate: false };
    });
  }

  /** Records a cash movement of the cash drawer (opening float, cash in, cash out, closing count). */
  recordCashMovement(body: unknown): Promise<LedgerRecord> {
    const input = parseCashMovement(body);
    return this.#enqueue(async () => {
      const record = await this.#write("cash-movement", {
        cashAmount: input.amount,
        reason: input.reason,
        offline: !this.connectivity.online,
      });
      this.receipts.enqueue(record);
      return record;
    });
  }

  /** Records goods received (positive) or a stock adjustment (either sign). */
  recordStockMovement(kind: "stock-receipt" | "stock-adjustment", body: unknown): Promise<LedgerRecord> {
    const input = parseStockMovement(kind, body);
    return this.#enqueue(async () => {
      const stock: StockLine[] = [];
      input.lines.forEach((line, index) => {
        const product = findProduct(this.#catalog.doc(), line.code);
        if (!product) {
          throw new ValidationError(
            "SKU_UNKNOWN",
            `Line ${index + 1}: no product with SKU or barcode ${line.code} in the catalog`,
            `lines[${index}].sku`,
            line.code,
          );
        }
        this.#requireCounter(product.sku);
        stock.push({ sku: product.sku, delta: line.delta });
      });
      return this.#write(kind, { stock, reason: input.reason, offline: !this.connectivity.online });
    });
  }

  get #cashRoundingIncrement(): number {
    return readDirectoryUrls(this.#directory.doc()).cashRoundingIncrement;
  }

  /**
   * Records a refund of an earlier ticket of the branch, authorized by a
   * manager's PIN. What can be refunded is what the ticket sold minus every
   * refund of it this terminal knows of, from any terminal; refunds that
   * terminals record while apart are caught as double-refund conflicts.
   */
  recordRefund(body: unknown): Promise<{ record: LedgerRecord; duplicate: boolean }> {
    const request = parseRefundRequest(body);
    return this.#enqueue(async () => {
      const existing = request.requestId ? this.#requestIndex.get(request.requestId) : undefined;
      if (existing) return { record: this.#records.get(existing)!, duplicate: true };
      const original = await this.findRecord(request.original);
      if (!original) {
        throw new ValidationError(
          "ORIGINAL_UNKNOWN",
          `No ticket ${request.original} on this terminal or its reachable peers; check the ticket number`,
          "original",
          request.original,
        );
      }
      const priorRefunds = recordsAgainst(original.id, this.#records.values());
      const priced = priceRefund(original, priorRefunds, request, {
        currency: str(this.#catalog.doc().currency),
        cashRoundingIncrement: this.#cashRoundingIncrement,
      });
      const manager = await this.pins.authorize(request.manager, request.pin, "manager", `refund of ${original.id}`);
      for (const line of priced.stock) this.#requireCounter(line.sku);
      const record = await this.#write("refund", {
        lines: priced.lines,
        tenders: request.tenders.map((t) => ({ type: t.type, amount: t.amount })),
        total: priced.total,
        tax: priced.tax,
        cashRounding: priced.cashRounding,
        stock: priced.stock,
        refundOf: original.id,
        authorizedBy: manager.id,
        reason: request.reason,
        requestId: request.requestId,
        offline: !this.connectivity.online,
      });
      this.log.info({ refund: record.id, original: original.id, manager: manager.id, total: record.total }, "refund recorded");
      this.receipts.enqueue(record);
      return { record, duplicate: false };
    });
  }

  /**
   * Finds a record of the branch by id: among the documents loaded, then in
   * the ledger of its terminal that covers its sequence number, fetched from
   * storage or peers.
   */
  async findRecord(id: string): Promise<LedgerRecord | null> {
    const known = this.#records.get(id);
    if (known) return known;
    const match = /^(.+)-([^-]+)-(\d{8})$/.exec(id);
    if (!match || match[1] !== this.options.branch) return null;
    const terminal = listTerminals(this.#directory.doc()).find((t) => t.id === match[2]);
    const seq = Number(match[3]);
    const ref = terminal?.ledgers.filter((l) => l.firstSeq <= seq).at(-1);
    if (!ref) return null;
    try {
      const handle = await findDocument<LedgerDoc>(this.repo, ref.url as DocumentId, { timeoutMs: 5000 });
      this.#indexLedger(handle);
    } catch (error) {
      this.log.warn({ err: error, record: id, documentId: ref.documentId }, "ledger of a record not available");
    }
    return this.#records.get(id) ?? null;
  }

  /** Z report of a business day: this terminal's, or the branch's from every record this terminal has. */
  zReport(businessDay: string, scope: "terminal" | "branch") {
    const records = [...this.#records.values()].filter((r) => scope === "branch" || r.terminal === this.options.terminal);
    return buildZReport(records, businessDay);
  }

  /** Switches the WAN off or on by hand, with a manager's PIN. */
  async switchOffline(body: unknown): Promise<boolean> {
    const input = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    if (typeof input.offline !== "boolean") {
      throw new ValidationError("OFFLINE_INVALID", 'Send {"offline": true} or {"offline": false} with a manager and PIN', "offline", input.offline);
    }
    if (typeof input.manager !== "string" || typeof input.pin !== "string") {
      throw new ValidationError("MANAGER_PIN_MISSING", "The manual offline switch needs a manager's user id (`manager`) and PIN (`pin`)", "manager");
    }
    const manager = await this.pins.authorize(input.manager, input.pin, "manager", "manual offline switch");
    await this.connectivity.setManualOffline(input.offline, manager.id, typeof input.reason === "string" ? input.reason : null);
    return this.connectivity.manualOffline;
  }

  #requireCounter(sku: string): void {
    if (this.stockOf(sku) === null) {
      throw new ValidationError(
        "SKU_NOT_STOCKED",
        `SKU ${sku} has no stock counter in branch ${this.options.branch}; the relay adds counters for new catalog SKUs`,
        "lines",
        sku,
      );
    }
  }

  /**
   * Runs `task` in the write queue with a writer of this terminal's
   * records, signed by `signer` (a manager resolving a conflict), or by the
   * signed-in cashier when it is left out. Voids and conflict resolutions
   * write through it.
   */
  withWriter<T>(task: (write: RecordWriter) => Promise<T>, signer?: Signer): Promise<T> {
    const write: RecordWriter = (kind, fields) => this.#write(kind, { offline: !this.connectivity.online, ...fields }, signer);
    return this.#enqueue(() => task(write));
  }

  async #write(kind: RecordKind, fields: Partial<LedgerRecord>, signer?: Signer): Promise<LedgerRecord> {
    const blocked = this.#writesBlocked;
    if (blocked) {
      throw new RuleError(
        "STORAGE_INCOMPLETE",
        `Terminal storage is missing acknowledged changes of document ${blocked.documentId} (${blocked.problem}); ` +
          "it refuses new records until a LAN peer or the relay supplies them",
      );
    }
    const now = new Date(this.clockWatch.now());
    const deviceAt = new Date(this.clockWatch.deviceNow()).toISOString();
    const timeZone = str(this.#directory.doc().timeZone);
    const businessDay = businessDayOf(now, timeZone);
    const ledger = await this.#ledgerFor(businessDay);
    const seq = this.#seq + 1;
    const session = signer ?? this.#session;
    if (!session) {
      throw new RuleError("SIGN_IN_REQUIRED", "No cashier is signed in at this terminal; sign in with POST /sessions and a PIN first", "session");
    }
    const prevHash = this.#chainHead();
    const unsealed: Omit<LedgerRecord, "hash" | "signature" | "prevHash" | "folio" | "folioNumber" | "provisionalFolio"> = {
      id: recordId(this.options.branch, this.options.terminal, seq),
      kind,
      branch: this.options.branch,
      terminal: this.options.terminal,
      seq,
      hlc: this.clock.now(),
      at: now.toISOString(),
      businessDay,
      timeZone,
      epoch: this.#inventory.doc().epoch,
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
      deviceAt,
      ...fields,
      cashier: session.userId,
    };
    const folio = isFiscal(kind)
      ? nextFolio(this.#folios.doc(), this.options.terminal, kind, this.ownRecords())
      : { folio: null, folioNumber: null, provisionalFolio: null };
    const rule = taxProfile(str(this.#catalog.doc().country)).transmissionDeadline;
    const transmitBy = transmissionDeadline(rule, unsealed, timeZone);
    const record = sealRecord({ ...unsealed, ...folio, ...(transmitBy ? { transmitBy } : {}) }, prevHash, session.key);
    ledger.handle.change((doc) => appendRecord(doc, record));
    this.#lastHash = record.hash;
    // The sequence number is spent once the record is in the ledger, even if a later step fails.
    this.#seq = seq;
    this.#records.set(record.id, record);
    if (record.requestId) this.#requestIndex.set(record.requestId, record.id);
    if (process.env.MERCORA_FAULT === "crash-after-ledger") {
      // Fault injection for tests: die with the record durable but its stock not yet applied.
      await this.repo.flush([ledger.handle.documentId]);
      await this.journal.append(seq, [{ documentId: ledger.handle.documentId, heads: hexHeads(ledger.handle) }]);
      process.kill(process.pid, "SIGKILL");
    }
    this.#inventory.change((doc) => {
      if (record.stock.length > 0) applyStockMovement(doc, this.options.terminal, seq, record.stock);
      else doc.applied[this.options.terminal] = seq;
    });
    await this.repo.flush([ledger.handle.documentId, this.#inventory.documentId]);
    await this.journal.append(seq, [
      { documentId: ledger.handle.documentId, heads: hexHeads(ledger.handle) },
      { documentId: this.#inventory.documentId, heads: hexHeads(this.#inventory) },
    ]);
    this.#scheduleReconcile();
    return record;
  }

  /** Returns the ledger for a business day, creating a new part when the day changes or the cap is reached. */
  async #ledgerFor(businessDay: string): Promise<OwnLedger> {
    const current = this.#own.at(-1);
    if (current && current.businessDay === businessDay && countRecords(current.handle.doc()) < LEDGER_PART_CAP) {
      return current;
    }
    const part = current && current.businessDay === businessDay ? current.part + 1 : 1;
    const firstSeq = this.#seq + 1;
    const handle = this.repo.create<LedgerDoc>(
      initLedger({ branch: this.options.branch, terminal: this.options.terminal, businessDay, part, firstSeq }),
    );
    await this.repo.flush([handle.documentId]);
    const ref = { documentId: handle.documentId, url: handle.url, businessDay, part, firstSeq };
    this.#state.ledgers.push(ref);
    await this.#saveState();
    this.#directory.change((doc) => registerLedger(doc, this.options.terminal, ref));
    await this.repo.flush([this.#directory.documentId]);
    const ledger = { handle, businessDay, part, firstSeq };
    this.#own.push(ledger);
    handle.on("change", ({ patches }) => this.#indexLedger(handle, patches));
    this.log.info({ documentId: handle.documentId, businessDay, part, firstSeq }, "opened ledger");
    return ledger;
  }

  /** Hash of this terminal's last record, or the chain's genesis hash before the first. */
  #chainHead(): string {
    if (this.#seq === 0) return genesisHash(this.options.branch, this.options.terminal);
    const last = this.#records.get(recordId(this.options.branch, this.options.terminal, this.#seq));
    if (last) return last.hash;
    if (this.#lastHash) return this.#lastHash;
    throw new RuleError(
      "CHAIN_HEAD_MISSING",
      `Record ${this.#seq} of this terminal is not in storage, so the next record cannot link to it; wait for a peer to supply it`,
    );
  }

  /**
   * Signs a cashier in with their PIN: the PIN is checked against the
   * verifier, then unlocks the cashier's signing key, which stays in memory
   * only for the session. Every record until sign-out is signed with it.
   */
  async signIn(body: unknown): Promise<{ userId: string; name: string; since: string }> {
    const input = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    if (typeof input.user !== "string" || typeof input.pin !== "string") {
      throw new ValidationError("SIGN_IN_INVALID", "Sign-in needs `user` (a user id) and `pin`", "user");
    }
    const user = await this.pins.authorize(input.user, input.pin, "cashier", "sign-in");
    const stored = readUser(this.#permissions.doc(), user.id);
    const key = stored ? await unlockSigningKey(input.pin, stored.signing) : null;
    if (!key) throw new RuleError("SIGNING_KEY_LOCKED", `The signing key of ${user.id} did not open with this PIN; ask HQ to reset the user`, "pin");
    this.#session = { userId: user.id, name: user.name, key, since: new Date(this.clockWatch.now()).toISOString() };
    this.log.info({ user: user.id }, "cashier signed in");
    return { userId: user.id, name: user.name, since: this.#session.since };
  }

  /** Signs the current cashier out; their key is dropped from memory. */
  signOut(): { signedOut: string | null } {
    const userId = this.#session?.userId ?? null;
    this.#session = null;
    if (userId) this.log.info({ user: userId }, "cashier signed out");
    return { signedOut: userId };
  }

  get session(): { userId: string; name: string; since: string } | null {
    return this.#session ? { userId: this.#session.userId, name: this.#session.name, since: this.#session.since } : null;
  }

  /** Notes own records whose provisional folio the relay replaced, so the cashier can reprint them. */
  #collectReprintOffers(): void {
    const doc = this.#folios.doc();
    for (const id of Object.keys(doc.finals ?? {})) {
      const record = this.#records.get(id);
      if (!record || record.terminal !== this.options.terminal || this.#reprinted.has(id) || this.#reprintOffers.has(id)) continue;
      this.#reprintOffers.add(id);
      this.log.info({ record: id, folio: readFinalFolio(doc, id)?.folio }, "final folio arrived: reprint offered");
    }
  }

  /** The folio to print on a record's receipt: final when known, else provisional. */
  folioOf(record: LedgerRecord): { number: string; provisional: boolean; provisionalReference: string | null; voided?: boolean } | null {
    const voided = record.kind === "void" && record.voidOf ? this.#records.get(record.voidOf) : undefined;
    if (voided) {
      const folio = this.folioOf(voided);
      return folio ? { ...folio, voided: true } : null;
    }
    if (record.folio) return { number: record.folio, provisional: false, provisionalReference: null };
    if (!record.provisionalFolio) return null;
    const final = this.#folios ? readFinalFolio(this.#folios.doc(), record.id) : null;
    if (final) return { number: final.folio, provisional: false, provisionalReference: record.provisionalFolio };
    return { number: record.provisionalFolio, provisional: true, provisionalReference: null };
  }

  /** Marks a record reprinted, which withdraws its reprint offer. */
  markReprinted(id: string): void {
    this.#reprintOffers.delete(id);
    this.#reprinted.add(id);
  }

  /** Folio figures for the status endpoint. */
  #folioStatus() {
    const doc = this.#folios.doc();
    const own = this.ownRecords();
    const used = highestBlockFolio(doc, this.options.terminal, own);
    const provisional = own.filter((r) => r.provisionalFolio && !readFinalFolio(doc, r.id));
    return {
      scheme: readScheme(doc),
      numbersLeft: readScheme(doc) === "authority-range" ? folioNumbersLeft(doc, this.options.terminal, used) : null,
      provisionalWaiting: provisional.length,
      reprintOffers: [...this.#reprintOffers].map((id) => ({ record: id, ...readFinalFolio(doc, id) })),
    };
  }

  /** Reads one record by id from the documents this terminal holds. */
  record(id: string): LedgerRecord | null {
    return this.#records.get(id) ?? null;
  }

  /** Lists this terminal's own records, newest last. */
  ownRecords(): LedgerRecord[] {
    return [...this.#records.values()]
      .filter((r) => r.terminal === this.options.terminal)
      .sort((a, b) => a.seq - b.seq);
  }

  /** Lists every record of the branch in this terminal's documents, in HLC order. */
  branchRecords(): LedgerRecord[] {
    return [...this.#records.values()].sort((a, b) => compareHlc(a.hlc, b.hlc));
  }

  // ------------------------------------------------------------- reconciling

  #scheduleReconcile(): void {
    if (this.#closed || this.#reconcileTimer) return;
    this.#reconcileTimer = setTimeout(() => {
      this.#reconcileTimer = null;
      void this.#enqueue(() => this.reconcile()).catch((error) =>
        this.log.error({ err: error }, "reconcile failed"),
      );
    }, 200);
  }

  /**
   * Writes the relay's acknowledgements to disk as they arrive, and only
   * then counts them in the pending count, so a count shown survives a crash.
   */
  async #flushAcknowledgements(): Promise<void> {
    const acked = readAcked(this.#ingest.doc(), this.options.terminal);
    try {
      await this.repo.flush([this.#ingest.documentId]);
    } catch (error) {
      this.log.warn({ err: error, documentId: this.#ingest.documentId }, "flush of the ingest document failed");
      return;
    }
    if (acked > this.#ackedOnDisk) this.#ackedOnDisk = acked;
  }

  /** Runs the oversell reconciler on what this terminal holds and writes its detections. */
  async reconcile(): Promise<number> {
    if (!this.#conflicts || this.#closed) return 0;
    const inventory = this.#inventory.doc();
    const conflicts = this.#conflicts.doc();
    const replica = this.options.terminal;
    const now = this.clock.now();
    const records = [...this.#records.values()];
    const own = readDetections(conflicts, replica);
    const review = this.review.review();
    const merged = review.conflicts;
    const writes = [
      ...reconcileOversells({ replica, now, openingApplied: readOpeningApplied(inventory), stock: negativeStock(inventory), records, own, merged }),
      ...reconcileDoubleRefunds({ replica, now, records, own, merged }),
      ...reconcileDuplicateProvisionals({ replica, now, records, own, merged }),
      ...reconcileVoids({ replica, now, records, own, merged }),
      ...this.review.auditDetections(now, own),
      ...this.#clockSkewDetections(now, own),
      ...this.#integrityDetections(now, own),
    ];
    if (writes.length === 0) return 0;
    this.#conflicts.change((doc) => {
      for (const detection of writes) putDetection(doc, this.options.terminal, detection);
    });
    await this.repo.flush([this.#conflicts.documentId]);
    for (const detection of writes) {
      this.log.warn({ conflict: detection.id, detail: detection.detail, tickets: detection.tickets }, "conflict detected");
    }
    return writes.length;
  }

  /**
   * Raises one clock-skew detection for this terminal when its device clock
   * is further than the threshold from the store's time. The terminal names
   * itself, so the branch gets one conflict per skewed terminal.
   */
  #clockSkewDetections(now: string, own: Map<string, Detection>): Detection[] {
    const correction = this.clockWatch.correctionMs();
    const id = `clock-skew:${this.options.terminal}`;
    if (Math.abs(correction) <= this.options.clockSkewThresholdMs || own.has(id)) return [];
    const hours = (Math.abs(correction) / 3_600_000).toFixed(1);
    const direction = correction > 0 ? "slow" : "fast";
    this.log.error({ correctionMs: correction }, "device clock is off; correcting record times");
    return [
      {
        id,
        kind: "clock-skew",
        sku: "",
        shortfall: 0,
        stock: 0,
        tickets: [],
        subject: this.options.terminal,
        detail: `device clock ${hours} h ${direction} (offset ${correction} ms); records use the corrected time`,
        firstDetectedAt: now,
        detectedAt: now,
        detectedBy: this.options.terminal,
      },
    ];
  }

  #integrityDetections(now: string, own: Map<string, Detection>): Detection[] {
    const pending = this.#pendingIntegrity;
    this.#pendingIntegrity = [];
    return pending
      .filter(({ record }) => !own.has(`integrity:${record.id}`))
      .map(({ record, detail }) => ({
        id: `integrity:${record.id}`,
        kind: "integrity",
        sku: "",
        shortfall: 0,
        stock: 0,
        tickets: [record.id],
        subject: `${record.terminal} ${record.id}`,
        detail,
        firstDetectedAt: now,
        detectedAt: now,
        detectedBy: this.options.terminal,
      }));
  }

  /** Open conflicts of the branch, merged from every replica's detections, with their resolutions. */
  conflicts() {
    return this.review.list("open");
  }

  /** This terminal's fiscal records whose transmission debt is not settled, most urgent first. */
  fiscalDebt() {
    const ingest = this.#ingest.doc();
    const folios = this.#folios.doc();
    return pendingFiscalRecords(
      this.ownRecords(),
      { acked: (terminal) => readAcked(ingest, terminal), finalFolio: (id) => readFinalFolio(folios, id)?.folio ?? null },
      this.clockWatch.now(),
    );
  }

  // ------------------------------------------------------------------ status

  /** Connectivity, queue, storage and conflict figures for the status endpoint. */
  status() {
    const acked = this.#ackedOnDisk;
    const lanPeers = [...this.#peers].filter((p) => p !== RELAY_PEER).sort();
    let mode: "online" | "lan-only" | "offline" = "offline";
    if (this.connectivity.online) mode = "online";
    else if (lanPeers.length > 0) mode = "lan-only";
    return {
      branch: this.options.branch,
      terminal: this.options.terminal,
      mode,
      online: this.connectivity.online,
      manualOffline: this.connectivity.manualOffline,
      relayConnected: this.#peers.has(RELAY_PEER),
      lanPeers,
      lastSeq: this.#seq,
      ackedSeq: acked,
      pending: Math.max(0, this.#seq - acked),
      offlineMs: this.connectivity.offlineMs(),
      inventoryEpoch: this.#inventory.doc().epoch,
      ledgers: this.#own.map((l) => ({
        documentId: l.handle.documentId,
        businessDay: l.businessDay,
        part: l.part,
        records: countRecords(l.handle.doc()),
      })),
      session: this.session,
      storage: {
        ok: this.#storageProblems.length === 0,
        writesBlocked: this.#writesBlocked !== null,
        problems: this.#storageProblems,
      },
      conflicts: this.#conflictCounts(),
      fiscal: this.#fiscalStatus(),
      clock: this.clockWatch.status(),
      folios: this.#folioStatus(),
      printer: this.receipts.status(),
    };
  }

  #conflictCounts() {
    const conflicts = this.review.list("all");
    return { open: conflicts.filter((c) => c.status === "open").length, resolved: conflicts.filter((c) => c.status === "resolved").length };
  }

  /** Pending fiscal records for the status endpoint: the 50 most urgent, with the count of all. */
  #fiscalStatus() {
    const pending = this.fiscalDebt();
    return { pending: pending.length, overdue: pending.filter((d) => d.overdue).length, records: pending.slice(0, 50) };
  }

  /** Stock of every SKU that has moved or is below zero, for checks and the demo summary. */
  allStock(): Record<string, number> {
    return readAllStock(this.#inventory.doc());
  }

  /** Heads of every branch document this terminal holds, for comparing replicas. */
  documentHeads(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const handles: DocHandle<unknown>[] = [this.#directory, this.#inventory, this.#conflicts, this.#ingest, this.#permissions, this.#folios];
    for (const own of this.#own) handles.push(own.handle);
    for (const handle of this.#peerLedgers.values()) if (handle) handles.push(handle);
    for (const handle of handles) out[handle.documentId] = handle.heads();
    return out;
  }
}

/** Heads in Automerge's hex form, which `hasHeads` takes (DocHandle.heads() returns the URL form). */
function hexHeads(handle: DocHandle<unknown>): string[] {
  return A.getHeads(handle.doc() as A.Doc<unknown>);
}

function negativeStock(inventory: InventoryDoc): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [sku, counter] of Object.entries(inventory.stock)) {
    if (counter.value < 0) out[sku] = counter.value;
  }
  return out;
}

function fold(text: string): string {
  return text
    .normalize("NFD")
    .replace(/\p{Diacritic}/gu, "")
    .toLowerCase();
}

function parseCashMovement(body: unknown): { reason: CashMovementReason; amount: number; cashier: string | null } {
  const input = (body ?? {}) as Record<string, unknown>;
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError("BODY_INVALID", "The cash movement must be a JSON object with reason and amount", null);
  }
  const reason = input.reason;
  if (typeof reason !== "string" || !CASH_MOVEMENT_REASONS.includes(reason as CashMovementReason)) {
    throw new ValidationError(
      "CASH_REASON_INVALID",
      `Cash movement reason ${JSON.stringify(reason)} is not one of ${CASH_MOVEMENT_REASONS.join(", ")}`,
      "reason",
      reason,
    );
  }
  const amount = input.amount;
  if (typeof amount !== "number" || !Number.isSafeInteger(amount) || amount < 0) {
    throw new ValidationError(
      "CASH_AMOUNT_INVALID",
      `Cash movement amount ${JSON.stringify(amount)} is not a whole number of minor units at or above 0`,
      "amount",
      amount,
    );
  }
  const cashier = typeof input.cashier === "string" ? input.cashier : null;
  return { reason: reason as CashMovementReason, amount, cashier };
}

function parseStockMovement(
  kind: "stock-receipt" | "stock-adjustment",
  body: unknown,
): { lines: { code: string; delta: number }[]; reason: string | null } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ValidationError("BODY_INVALID", "The stock movement must be a JSON object with lines", null);
  }
  const input = body as Record<string, unknown>;
  if (!Array.isArray(input.lines) || input.lines.length === 0) {
    throw new ValidationError("LINES_MISSING", "The stock movement has no lines", "lines");
  }
  const lines = input.lines.map((raw, index) => {
    const line = (raw ?? {}) as Record<string, unknown>;
    const code = line.sku ?? line.barcode ?? line.code;
    if (typeof code !== "string" || code === "") {
      throw new ValidationError("LINE_CODE_MISSING", `Line ${index + 1} has no SKU or barcode`, `lines[${index}].sku`);
    }
    const qty = line.qty;
    const valid = typeof qty === "number" && Number.isSafeInteger(qty) && (kind === "stock-receipt" ? qty > 0 : qty !== 0);
    if (!valid) {
      throw new ValidationError(
        "LINE_QTY_INVALID",
        kind === "stock-receipt"
          ? `Line ${index + 1} (${code}) has quantity ${JSON.stringify(qty)}; goods received need a positive whole number`
          : `Line ${index + 1} (${code}) has quantity ${JSON.stringify(qty)}; an adjustment needs a non-zero whole number`,
        `lines[${index}].qty`,
        qty,
      );
    }
    return { code, delta: qty as number };
  });
  const reason = typeof input.reason === "string" ? input.reason : null;
  return { lines, reason };
}

