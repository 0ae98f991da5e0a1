import type { KeyObject } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type * as A from "@automerge/automerge";
import { Repo, isValidAutomergeUrl, parseAutomergeUrl } from "@automerge/automerge-repo";
import type { AutomergeUrl, DocHandle, DocumentId, PeerId } from "@automerge/automerge-repo";
import {
  DurableFileStorageAdapter,
  HybridLogicalClock,
  LEDGER_PART_CAP,
  RuleError,
  ValidationError,
  appendRecord,
  checkAppend,
  businessDayOf,
  checkStockBuffer,
  countRecords,
  findDocument,
  initLedger,
  isLedgerV1,
  ledgerBucketsReady,
  listTerminals,
  parseSaleRequest,
  priceSale,
  putDetection,
  readAcked,
  readTerminalConnectivity,
  readDetections,
  readDirectoryUrls,
  recordId,
  registerLedger,
  setLanUrl,
  storedRecord,
  str,
  touchedRecordIds,
  writeJsonDurable,
  CASH_MOVEMENT_REASONS,
  buildZReport,
  readSigningKeys,
  makeDeviceToken,
  parseRecordJson,
  parseRefundRequest,
  priceRefund,
  readDeviceKey,
  readUser,
  sealRecordJson,
  unlockSigningKey,
  verifyDeviceToken,
  TOKEN_WINDOW_MS,
  compareHlc,
  folioNumbersLeft,
  isFiscal,
  nextFolioFrom,
  readBlocks,
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
  CatalogIndex,
  Detection,
  FoliosDoc,
  Keystore,
  PermissionsDoc,
  ConflictsDoc,
  DirectoryDoc,
  TerminalEntry,
  IngestDoc,
  AnyLedgerDoc,
  LedgerDoc,
  LedgerRecord,
  LedgerRef,
  Product,
  RecordKind,
  StockBaselineDoc,
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
import { BaselineStock } from "./baseline-stock.ts";
import { CatalogCache } from "./catalog-cache.ts";
import { DirectorySnapshot } from "./directory-snapshot.ts";
import { DurableWrites, replayFrames } from "./durable-writes.ts";
import type { DurableState } from "./durable-writes.ts";
import type { RecordFrame } from "./write-ahead-log.ts";
import { IssueCounters } from "./issue-counters.ts";
import { LanNetwork } from "./lan.ts";
import { liveLedgerIds, ownLiveLedgers, peerLiveLedgers } from "./live-set.ts";
import { RecordIndex } from "./record-index.ts";
import { DEFAULT_FORWARD_AFTER_MS, RelayShare } from "./relay-share.ts";
import type { BranchDocuments } from "./relay-share.ts";
import { StorageHealth } from "./storage-health.ts";
import type { StorageProblem } from "./storage-health.ts";
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
  /** Time before another attempt when the directory document failed to load after a start from its snapshot, 30 s when left out. */
  directoryRetryMs?: number;
  /**
   * Time the relay's acknowledgement mark of a peer must stay unchanged,
   * while this terminal has newer records of that peer, before this
   * terminal sends them to the relay itself. `DEFAULT_FORWARD_AFTER_MS` when left out.
   */
  forwardAfterMs?: number;
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
  handle: DocHandle<AnyLedgerDoc>;
  businessDay: string;
  part: number;
  firstSeq: number;
}

export type { StorageProblem } from "./storage-health.ts";

const RELAY_PEER = "relay";

/** Shortest time between two background saves of a document by automerge-repo (its default is 100 ms). */
const BACKGROUND_SAVE_MS = 1000;

/**
 * Records acknowledged from the write-ahead log alone that a write lets wait
 * for their ledger change. Past this, the write makes that change first.
 */
const APPEND_BATCH_MAX = 4;

/** Quiet time with no write before the catalog and baseline documents load after start. */
const DEFERRED_LOAD_IDLE_MS = 2000;

/** Maximum time after start before they load, even while sales go on. */
const DEFERRED_LOAD_MAX_MS = 30_000;

/** Time after a start served from the directory snapshot before the directory document loads, if no sale comes first. */
const DIRECTORY_LOAD_DELAY_MS = 1000;

/** Time before another attempt when the directory document did not load after a start from its snapshot. */
const DIRECTORY_RETRY_MS = 30_000;

/** Maximum wait of reports and lookups for the directory document before they read the snapshot. */
const DIRECTORY_WAIT_MS = 10_000;

/** Returns today's and yesterday's business days in the branch's time zone: the days of the live set. */
function liveDays(doc: DirectoryDoc): Set<string> {
  const zone = str(doc.timeZone);
  return new Set([businessDayOf(new Date(), zone), businessDayOf(new Date(Date.now() - 86_400_000), zone)]);
}

/** Time between two comparisons of the peer records held here with the relay's marks (see `RelayShare`). */
const FORWARD_CHECK_MS = 1000;

/** Maximum wait of a lookup for peer ledgers it asked the relay for; after it, the lookup reads what is held here. */
const PEER_FETCH_TIMEOUT_MS = 3000;

/**
 * One cashier terminal: its documents in an automerge-repo with durable
 * storage, LAN peers, the WAN link to the relay, and the operations the
 * HTTP API exposes. Writes are serialized, so sequence numbers are issued
 * one at a time, and every acknowledgement waits until the change is
 * durable in the write-ahead log.
 */
export class Terminal {
  readonly options: TerminalOptions;
  readonly log: Logger;
  readonly clock: HybridLogicalClock;
  readonly repo: Repo;
  readonly storage: DurableFileStorageAdapter;
  readonly durable: DurableWrites;
  readonly connectivity: Connectivity;
  readonly lan: LanNetwork;
  readonly receipts: ReceiptSpooler;
  readonly clockWatch: ClockWatch;
  readonly pins: PinGuard;
  /** The branch's conflicts with their resolutions, and the way managers resolve them here. */
  readonly review: ConflictReview;

  #state!: TerminalState;
  /** The branch directory document, or null while a start served from its snapshot has not loaded it yet. */
  #directory: DocHandle<DirectoryDoc> | null = null;
  /** The directory as read from the last run's snapshot, used until the document loads. */
  #directorySnapshotDoc: DirectoryDoc | null = null;
  readonly #directorySnapshot: DirectorySnapshot;
  #directoryLoading: Promise<DocHandle<DirectoryDoc>> | null = null;
  #onDirectoryAttached!: (directory: DocHandle<DirectoryDoc>) => void;
  readonly #directoryAttached = new Promise<DocHandle<DirectoryDoc>>((resolve) => {
    this.#onDirectoryAttached = resolve;
  });
  #directoryTimer: NodeJS.Timeout | null = null;
  #directoryFollowed = false;
  #catalog: DocHandle<CatalogDoc> | null = null;
  readonly #catalogCache: CatalogCache;
  readonly #baseline: BaselineStock;
  #counters!: IssueCounters;
  #conflicts!: DocHandle<ConflictsDoc>;
  #ingest!: DocHandle<IngestDoc>;
  #permissions!: DocHandle<PermissionsDoc>;
  #folios!: DocHandle<FoliosDoc>;
  /** Own records whose final folio arrived and whose receipt has not been reprinted with it. */
  readonly #reprintOffers = new Set<string>();
  readonly #reprinted = new Set<string>();
  #own: OwnLedger[] = [];
  #peerLedgers = new Map<string, DocHandle<AnyLedgerDoc>>();
  /** Ledgers outside the live set read for a lookup or a report. */
  readonly #loadedOnDemand = new Set<string>();
  /** Per followed ledger, the call that stops following it. */
  readonly #unfollow = new Map<string, () => void>();
  #deviceKey!: KeyObject;
  #session: CashierSession | null = null;
  readonly #seenNonces = new Map<string, number>();
  #pendingIntegrity: { record: LedgerRecord; detail: string }[] = [];
  #writeQueue: Promise<unknown> = Promise.resolve();
  readonly #records: RecordIndex;
  readonly #health: StorageHealth;
  #reconcileTimer: NodeJS.Timeout | null = null;
  #deferredTimer: NodeJS.Timeout | null = null;
  /** Runs after every acknowledged write until the deferred documents load. */
  #afterWrite: (() => void) | null = null;
  /** Runs after the first acknowledged write when the directory document is still to load. */
  #afterFirstWrite: (() => void) | null = null;
  /** The relay's acknowledgement mark of this terminal as far as it is on disk. */
  #ackedOnDisk = 0;
  #closed = false;
  readonly #peers = new Set<string>();
  /** Policy for which peer ledgers sync with the relay (see `RelayShare`). */
  readonly #relayShare: RelayShare;
  /** Per peer terminal, the highest sequence number of its records held here. */
  readonly #peerSeqs = new Map<string, number>();
  #forwardTimer: NodeJS.Timeout | null = null;
  /** Records logged and acknowledged whose ledger change `#appendLogged` has not made yet, oldest first. */
  #unappended: { handle: DocHandle<AnyLedgerDoc>; record: LedgerRecord; json: string }[] = [];
  #appendTimer: NodeJS.Immediate | null = null;

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
      this.#health.note(chunk.key[0] ?? "unknown", `chunk ${chunk.key.join("/")} damaged (${chunk.reason}), moved to ${chunk.movedTo}`, chunk.at);
    });
    this.durable = new DurableWrites(options.dataDir, options.keystore.storageKey, options.log);
    this.#catalogCache = new CatalogCache(options.dataDir, options.keystore.storageKey, options.log);
    this.#directorySnapshot = new DirectorySnapshot(options.dataDir, options.keystore.storageKey, options.log);
    this.#baseline = new BaselineStock(options.dataDir, options.keystore.storageKey, options.log, () => this.#scheduleReconcile());
    this.#records = new RecordIndex({
      terminal: options.terminal,
      signerKeys: (cashier) => (this.#permissions ? readSigningKeys(this.#permissions.doc(), cashier) : []),
      onAdded: (record) => this.#onRecord(record),
      onIntegrity: (record, detail) => this.#flagIntegrity(record, detail),
    });
    this.repo = new Repo({
      storage: this.storage,
      network: [],
      peerId: `terminal:${options.branch}:${options.terminal}` as PeerId,
      // LAN peers get every document held here; the relay gets peer ledgers only as `RelayShare` decides.
      shareConfig: {
        announce: async (peerId, documentId) => this.#relayShare.offers(peerId, documentId),
        access: async (peerId, documentId) => this.#relayShare.offers(peerId, documentId),
      },
      // The write-ahead log makes acknowledged changes durable, so background
      // saves can be rarer and larger: fewer pauses of the event loop per sale.
      saveDebounceRate: BACKGROUND_SAVE_MS,
    });
    this.#relayShare = new RelayShare(this.repo, this.log.child({ component: "relay-share" }), options.forwardAfterMs ?? DEFAULT_FORWARD_AFTER_MS);
    this.#health = new StorageHealth(
      this.repo,
      this.log,
      () => this.#closed,
      (documentId, handle) => this.#onStorageRestored(documentId, handle),
      (handle) => this.durable.acknowledge(handle),
    );
    // A frame storage lacks may be the only copy of an acknowledged change or record, so no checkpoint deletes it.
    this.durable.keepLogWhile(() => this.#health.blocking !== null);
    this.durable.countPendingRecordsWith(() => this.#unappended.length);
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
      syncPeerRecords: () => this.syncPeerRecords(),
      records: () => this.#records.values(),
      store: () => ({ currency: this.#catalogCache.index.currency(), cashRoundingIncrement: this.#cashRoundingIncrement }),
      flush: (ids) => this.repo.flush(ids as DocumentId[]),
      log: this.log.child({ component: "conflict-review" }),
    });
  }

  /**
   * Starts networking, loads or fetches the branch documents, replays the
   * write-ahead log, and opens this terminal's live ledgers.
   */
  async start(): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true });
    const durable = await this.durable.open();
    await this.pins.open();
    await this.#loadState();
    this.#counters = new IssueCounters(this.options.branch, this.options.terminal, durable.checkpoint?.counters ?? null, () =>
      this.#folios ? readBlocks(this.#folios.doc(), this.options.terminal) : null,
    );
    if (this.options.lanListen) await this.lan.listen(this.options.lanListen);
    for (const peer of this.options.lanPeers) this.lan.dial(peer);
    await this.connectivity.start();
    await this.#openBranchDocuments();
    await this.#replayLog(durable);
    await this.#openOwnLedgers(durable);
    if (this.#directory) {
      await this.#attachDirectory(this.#directory);
    } else {
      void this.#followDirectory().catch((error) => this.log.error({ err: error }, "following the branch directory snapshot failed"));
      this.#scheduleDirectoryLoad();
    }
    this.#scheduleReconcile();
    this.receipts.setFolioSource((record) => this.folioOf(record));
    this.receipts.setContext(() => ({
      storeName: str(this.branchDirectory().name),
      currency: this.#catalogCache.index.currency(),
      minorUnitDigits: this.#catalogCache.index.minorUnitDigits,
    }));
    await this.receipts.start();
    // The replayed segments can go once the documents they cover are saved, and a
    // first checkpoint spares the next start from reading every own ledger.
    if (!durable.checkpoint || durable.frames.length > 0 || durable.problems.length > 0) {
      await this.durable.checkpoint(this.repo, this.#counters.snapshot());
    }
    this.#scheduleDeferredLoads();
    this.#prepareTodaysLedger();
    this.log.info({ seq: this.#counters.lastSeq, ledgers: this.#own.length, records: this.#records.size }, "terminal started");
  }

  async stop(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#reconcileTimer) clearTimeout(this.#reconcileTimer);
    if (this.#deferredTimer) clearTimeout(this.#deferredTimer);
    if (this.#directoryTimer) clearTimeout(this.#directoryTimer);
    if (this.#forwardTimer) clearInterval(this.#forwardTimer);
    if (this.#appendTimer) clearImmediate(this.#appendTimer);
    this.#relayShare.close();
    await this.#writeQueue.catch(() => undefined);
    await this.#enqueue(() => this.#appendLogged()).catch((error) =>
      this.log.error({ err: error }, "acknowledged records not appended at stop; the next start replays them from the log"),
    );
    this.receipts.stop();
    this.clockWatch.stop();
    this.connectivity.stop();
    this.#catalogCache.close();
    this.#baseline.close();
    await this.#baseline.writeSnapshot().catch((error) => this.log.error({ err: error }, "stock snapshot not written"));
    this.#directorySnapshot.close();
    if (this.#directory) await this.#directorySnapshot.write(this.#directory);
    await this.lan.close();
    if (this.#counters) await this.durable.checkpoint(this.repo, this.#counters.snapshot()).catch(() => undefined);
    await this.durable.close().catch(() => undefined);
    await this.#catalogCache.settled();
    await this.repo.flush().catch(() => undefined);
    // repo.shutdown() disconnects the remaining adapters synchronously, before it returns its promise.
    await Promise.resolve()
      .then(() => this.repo.shutdown())
      .catch((error: unknown) => this.log.warn({ err: error }, "repo shutdown failed; stopping anyway"));
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
    // With a snapshot from an earlier run the directory document loads after start (see #scheduleDirectoryLoad).
    this.#directorySnapshotDoc = await this.#directorySnapshot.read(this.#state.directoryUrl);
    if (!this.#directorySnapshotDoc) {
      this.#directory = await findDocument<DirectoryDoc>(this.repo, this.#state.directoryUrl as DocumentId, { timeoutMs });
    }
    const urls = readDirectoryUrls(this.branchDirectory());
    if (!this.branchDirectory().terminals[this.options.terminal]) {
      throw new Error(
        `Branch ${urls.branch} has no terminal ${this.options.terminal}; add it on the relay before starting it`,
      );
    }
    const catalogSnapshot = await this.#catalogCache.readSnapshot(urls.catalogUrl);
    const stockSnapshot = await this.#baseline.readSnapshot(urls.baselineUrl);
    const [conflicts, ingest, permissions, folios] = await Promise.all([
      findDocument<ConflictsDoc>(this.repo, urls.conflictsUrl as DocumentId, { timeoutMs }),
      findDocument<IngestDoc>(this.repo, urls.ingestUrl as DocumentId, { timeoutMs }),
      findDocument<PermissionsDoc>(this.repo, urls.permissionsUrl as DocumentId, { timeoutMs }),
      findDocument<FoliosDoc>(this.repo, urls.foliosUrl as DocumentId, { timeoutMs }),
    ]);
    this.#permissions = permissions;
    this.#folios = folios;
    this.#folios.on("change", () => this.#collectReprintOffers());
    this.#conflicts = conflicts;
    this.#ingest = ingest;
    this.#ackedOnDisk = readAcked(ingest.doc(), this.options.terminal);
    this.#ingest.on("change", () => void this.#flushAcknowledgements());
    // Without snapshots (a first start) the first sale needs the documents themselves.
    if (!stockSnapshot) await this.#loadBaseline(urls.baselineUrl, timeoutMs);
    if (!catalogSnapshot) await this.#loadCatalog(timeoutMs);
    // Saved now, because a first start fetched them from a peer and a crash
    // before the background save would leave a restart waiting for one.
    // Only these: a bare flush() also visits handles still loading from peers and throws on them.
    const loaded: DocHandle<unknown>[] = [conflicts, ingest, permissions, folios];
    if (this.#directory) loaded.push(this.#directory);
    if (this.#baseline.handle) loaded.push(this.#baseline.handle);
    if (this.#catalog) loaded.push(this.#catalog);
    await this.repo.flush(loaded.map((h) => h.documentId));
  }

  /** Loads the catalog document and follows it with the catalog cache. */
  async #loadCatalog(timeoutMs: number): Promise<void> {
    if (this.#catalog || this.#closed) return;
    const url = readDirectoryUrls(this.branchDirectory()).catalogUrl;
    const handle = await findDocument<CatalogDoc>(this.repo, url as DocumentId, { timeoutMs });
    this.#catalog = handle;
    await this.#catalogCache.attach(handle);
  }

  /**
   * Loads a stock baseline document and reads available stock from it, if
   * it is the one in use (a snapshot served until now) or a newer one.
   */
  async #loadBaseline(url: string, timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    const handle = await findDocument<StockBaselineDoc>(this.repo, url as DocumentId, { timeoutMs, retryMs: 1000 });
    const current = this.#baseline.url === null ? null : this.#baseline.info;
    if (this.#baseline.handle?.url === handle.url) return;
    if (current && handle.url !== this.#baseline.url && handle.doc().epoch <= current.epoch) return;
    if (current && handle.url !== this.#baseline.url) {
      this.log.info({ from: current.epoch, to: handle.doc().epoch }, "switching to new stock baseline");
    }
    const switched = current !== null && handle.url !== this.#baseline.url;
    this.#baseline.attach(handle);
    this.#scheduleReconcile();
    if (switched) this.#pruneLiveSet();
  }

  /**
   * Loads the catalog and stock baseline documents once the terminal has
   * been idle for a moment after start, and at the latest
   * `DEFERRED_LOAD_MAX_MS` after it: loading them blocks the event loop for
   * hundreds of milliseconds, and the snapshots serve sales until then.
   */
  // TODO: loading the catalog document (about 137,000 operations) and its first sync with a LAN peer block the event
  // loop for seconds after start, so the first sales take about 100 ms to reach a LAN peer. Sync the catalog later.
  #scheduleDeferredLoads(): void {
    if (this.#catalog && this.#baseline.handle) return;
    const latest = Date.now() + DEFERRED_LOAD_MAX_MS;
    const load = () => {
      this.#deferredTimer = null;
      this.#afterWrite = null;
      const baselineUrl = readDirectoryUrls(this.branchDirectory()).baselineUrl;
      void this.#loadBaseline(baselineUrl, 600_000)
        .then(() => this.#loadCatalog(600_000))
        .catch((error) => this.log.error({ err: error }, "catalog or stock baseline document not loaded"));
    };
    const wait = () => {
      if (this.#deferredTimer) clearTimeout(this.#deferredTimer);
      this.#deferredTimer = setTimeout(load, Math.max(0, Math.min(DEFERRED_LOAD_IDLE_MS, latest - Date.now())));
    };
    // Each write restarts the wait, so the load falls into a pause between sales.
    this.#afterWrite = wait;
    wait();
  }

  /** Applies the write-ahead log's changes that storage lacks, and reports what the log could not supply. */
  async #replayLog(state: DurableState): Promise<void> {
    for (const [documentId, heads] of Object.entries(state.checkpoint?.heads ?? {})) this.#health.expect(documentId, heads);
    for (const frame of state.frames) {
      if (frame.kind === "change") this.#health.expect(frame.documentId, [frame.hash]);
      else this.#health.expectRecord(frame.documentId, frame.recordId);
    }
    for (const problem of state.problems) {
      if (problem.documentId && problem.hash && !problem.torn) this.#health.expect(problem.documentId, [problem.hash]);
      if (problem.documentId && problem.recordId && !problem.torn) this.#health.expectRecord(problem.documentId, problem.recordId);
      const where = `write-ahead log segment ${problem.segment} at byte ${problem.offset}`;
      const text = problem.torn
        ? `${where}: last frame cut short during its append (${problem.reason}); that change or record was never acknowledged`
        : `${where}: frame damaged (${problem.reason})`;
      this.log[problem.torn ? "warn" : "error"]({ documentId: problem.documentId }, text);
      this.#health.note(problem.documentId ?? "write-ahead log", text);
    }
    // A logged record counts before its ledger is found, so its sequence number is never issued again.
    for (const frame of state.frames) {
      if (frame.kind !== "record") continue;
      try {
        this.#counters.observe(parseRecordJson(frame.recordId, frame.json));
      } catch (error) {
        this.log.error({ err: error, record: frame.recordId }, "logged record failed to parse; the issue counters leave it out");
      }
    }
    const result = await replayFrames(
      state.frames,
      async (documentId) => findDocument(this.repo, documentId as DocumentId, { timeoutMs: 2000 }).catch(() => null),
      (handle) => this.durable.acknowledge(handle),
      (documentId, handle) => this.#health.headsComplete(documentId, handle.doc() as A.Doc<unknown>),
    );
    if (result.applied > 0) this.log.warn({ changes: result.applied }, "write-ahead log replayed");
    const deferred = new Map<string, RecordFrame[]>();
    for (const frame of result.deferred) {
      const frames = deferred.get(frame.documentId) ?? [];
      frames.push(frame);
      deferred.set(frame.documentId, frames);
    }
    for (const [documentId, frames] of deferred) this.#health.holdFrames(documentId, frames);
    for (const documentId of result.unavailable) {
      this.#health.holdFrames(documentId, state.frames.filter((frame) => frame.documentId === documentId));
      this.#health.reportMissing(documentId, "acknowledged changes missing: document not in storage");
    }
    for (const documentId of result.missing.keys()) {
      this.#health.reportMissing(documentId, "acknowledged changes missing from storage");
    }
  }

  /** The first storage problem that blocks writes, or null. */
  get #writesBlocked(): StorageProblem | null {
    return this.#health.blocking;
  }

  /**
   * Opens this terminal's live ledgers (see `ownLiveLedgers`) and checks
   * each against the heads storage must hold. With no checkpoint (a first
   * start, or data written before the write-ahead log) every own ledger
   * opens once, so the issue counters cover every record.
   */
  async #openOwnLedgers(state: DurableState): Promise<void> {
    const refs = new Map(this.#state.ledgers.map((ref) => [ref.documentId, ref]));
    const listed = listTerminals(this.branchDirectory()).find((t) => t.id === this.options.terminal);
    for (const ref of listed?.ledgers ?? []) {
      if (!refs.has(ref.documentId)) refs.set(ref.documentId, ref);
    }
    const all = [...refs.values()].sort((a, b) => a.firstSeq - b.firstSeq);
    const self = this.options.terminal;
    const covered = Math.min(readAcked(this.#ingest.doc(), self), this.#baseline.stock.applied(self));
    const logged = new Set([...state.frames, ...state.problems].flatMap((entry) => (entry.documentId ? [entry.documentId] : [])));
    const live = state.checkpoint ? ownLiveLedgers(all, covered, logged) : all;
    for (const ref of live) {
      let handle: DocHandle<AnyLedgerDoc>;
      try {
        handle = await findDocument<AnyLedgerDoc>(this.repo, ref.url as DocumentId, { timeoutMs: 5000 });
      } catch (error) {
        this.#health.reportMissing(ref.documentId, "own ledger missing from storage and peers");
        this.log.error({ err: error, documentId: ref.documentId }, "own ledger not found");
        continue;
      }
      this.#adoptOwnLedger(handle, ref);
      this.#health.check(ref.documentId, handle as DocHandle<unknown>);
    }
    this.#state.ledgers = all;
  }

  /**
   * Lists in the directory the own ledgers of local state it lacks: a
   * ledger created just before a crash, or while the directory was not
   * loaded yet. Only those are looked up inside the change, because
   * reading a year of ledgers through the change's proxy cost tens of
   * milliseconds at start.
   */
  #registerUnlisted(directory: DocHandle<DirectoryDoc>): void {
    const self = this.options.terminal;
    const listed = listTerminals(directory.doc()).find((t) => t.id === self);
    const listedIds = new Set((listed?.ledgers ?? []).map((ref) => ref.documentId));
    const unlisted = this.#state.ledgers.filter((ref) => !listedIds.has(ref.documentId));
    if (unlisted.length === 0) return;
    directory.change((doc) => {
      for (const ref of unlisted) registerLedger(doc, self, ref);
    });
  }

  /**
   * Returns the branch directory for reading settings, URLs, terminals and
   * their ledgers: the document once loaded, before that the snapshot of
   * the last run, which has plain strings and no offline-period reports.
   */
  branchDirectory(): DirectoryDoc {
    const doc = this.#directory?.doc() ?? this.#directorySnapshotDoc;
    if (!doc) throw new Error("The branch directory is not loaded: call Terminal.start() before reading it");
    return doc;
  }

  /** True once the branch directory document is loaded and followed. */
  get directoryLoaded(): boolean {
    return this.#directoryFollowed;
  }

  /**
   * Resolves with the branch directory document once it is loaded and
   * followed, without hastening the load after a start from its snapshot.
   */
  whenDirectoryLoaded(): Promise<DocHandle<DirectoryDoc>> {
    return this.#directoryAttached;
  }

  /**
   * Resolves with the branch directory document, loaded and followed,
   * loading it now if start served from the snapshot. A failed load or
   * follow is logged and tried again after `DIRECTORY_RETRY_MS`.
   */
  directory(): Promise<DocHandle<DirectoryDoc>> {
    if (this.#directory && this.#directoryFollowed) return Promise.resolve(this.#directory);
    if (!this.#directoryLoading) {
      if (this.#directoryTimer) clearTimeout(this.#directoryTimer);
      this.#directoryTimer = null;
      const started = Date.now();
      const url = this.#state.directoryUrl as DocumentId;
      // NOTE: no abort signal goes to this find, so a stop does not end a load waiting for a peer. With one aborted at
      // stop, the catch-up bench's generator crashed on an unhandled AbortError from automerge-repo 2.5.6's abortable().
      this.#directoryLoading = findDocument<DirectoryDoc>(this.repo, url, { timeoutMs: 600_000, retryMs: 1000 })
        .then(async (handle) => {
          if (this.#closed) return handle;
          this.#directory = handle;
          this.#directorySnapshotDoc = null;
          await this.#attachDirectory(handle);
          if (!this.#closed) this.log.info({ ms: Date.now() - started }, "branch directory loaded after start");
          return handle;
        })
        .catch((error: unknown) => {
          this.#directoryLoading = null;
          if (!this.#closed) {
            const retryMs = this.options.directoryRetryMs ?? DIRECTORY_RETRY_MS;
            this.log.error({ err: error }, `branch directory document not loaded or followed; reading it from its snapshot and trying again in ${retryMs / 1000} s`);
            this.#directoryTimer = setTimeout(() => void this.directory().catch(() => undefined), retryMs);
          }
          throw error;
        });
    }
    return this.#directoryLoading;
  }

  /**
   * Returns the branch directory, waiting at most `timeoutMs` for the
   * document after a start from the snapshot: the snapshot when the
   * document takes longer. Reports and lookups of old records use it,
   * because the snapshot may lack ledgers peers opened since it was written.
   */
  async currentDirectory(timeoutMs = DIRECTORY_WAIT_MS): Promise<DirectoryDoc> {
    if (this.#directory && this.#directoryFollowed) return this.#directory.doc();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    try {
      const handle = await Promise.race([this.directory().catch(() => null), late]);
      return handle ? handle.doc() : this.branchDirectory();
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Loads the directory document after a start served from its snapshot,
   * right after the first acknowledged write so the first sale does not
   * wait for it. With no sale it loads `DIRECTORY_LOAD_DELAY_MS` after
   * start, or once a LAN peer's or the relay's sync has loaded it.
   */
  #scheduleDirectoryLoad(): void {
    // A peer that syncs the directory makes automerge-repo load it, so following it then costs no second load.
    const { documentId } = parseAutomergeUrl(this.#state.directoryUrl as AutomergeUrl);
    const onLoaded = (event: { type: string; documentId?: string }) => {
      if (event.type === "doc-loaded" && event.documentId === documentId) setImmediate(load);
    };
    const load = () => {
      this.repo.off("doc-metrics", onLoaded);
      if (this.#directoryTimer) clearTimeout(this.#directoryTimer);
      this.#directoryTimer = null;
      if (this.#closed || this.#directoryFollowed || this.#directoryLoading) return;
      void this.directory().catch(() => undefined);
    };
    this.#directoryTimer = setTimeout(load, DIRECTORY_LOAD_DELAY_MS);
    this.#afterFirstWrite = () => {
      this.#afterFirstWrite = null;
      setImmediate(load);
    };
    if (this.repo.handles[documentId]?.isReady()) {
      setImmediate(load);
    } else {
      this.repo.on("doc-metrics", onLoaded);
    }
  }

  /**
   * Starts what needs the directory document: lists unlisted own ledgers,
   * announces this terminal's LAN URL, follows the directory for peer
   * ledgers and LAN peers, starts the clock watch and keeps the snapshot.
   */
  async #attachDirectory(directory: DocHandle<DirectoryDoc>): Promise<void> {
    if (!directory.doc().terminals[this.options.terminal]) {
      this.log.error({ terminal: this.options.terminal }, "the branch directory no longer lists this terminal; add it on the relay");
    }
    this.#registerUnlisted(directory);
    await this.#announceSelf(directory);
    // A stop during the announcement leaves nothing to follow, and no clock broadcast timer behind.
    // A retry after a failed announcement runs the steps above again, and those below once.
    if (this.#closed || this.#directoryFollowed) return;
    this.#watchDirectory(directory);
    this.clockWatch.start(directory as DocHandle<unknown>);
    this.#directorySnapshot.follow(directory);
    this.#directoryFollowed = true;
    this.#forwardTimer = setInterval(() => this.#checkForwarding(), FORWARD_CHECK_MS);
    this.#forwardTimer.unref();
    this.#onDirectoryAttached(directory);
  }

  /** Compares the peer records held here with the relay's marks, for `RelayShare.updateForwarding`. */
  #checkForwarding(): void {
    if (this.#closed || !this.#ingest) return;
    const ingest = this.#ingest.doc();
    const directory = this.branchDirectory();
    const peers = [...this.#peerSeqs].map(([terminal, heldSeq]) => ({
      terminal,
      heldSeq,
      ackedSeq: readAcked(ingest, terminal),
      offline: readTerminalConnectivity(directory, terminal)?.periods.some((period) => period.end === null) ?? false,
    }));
    this.#relayShare.updateForwarding(peers);
  }

  #adoptOwnLedger(handle: DocHandle<AnyLedgerDoc>, ref: { businessDay: string; part: number; firstSeq: number }): void {
    if (this.#own.some((own) => own.handle.documentId === handle.documentId)) return;
    this.#own.push({ handle, businessDay: ref.businessDay, part: ref.part, firstSeq: ref.firstSeq });
    this.#own.sort((a, b) => a.firstSeq - b.firstSeq);
    this.#followLedger(handle);
  }

  /** Indexes a ledger's records now and after every change, from the change's patches. */
  #followLedger(handle: DocHandle<AnyLedgerDoc>): void {
    this.#records.index(handle.documentId, handle.doc(), null);
    const onChange = ({ doc, patches }: { doc: AnyLedgerDoc; patches: { path: (string | number)[] }[] }) => {
      const added = this.#records.index(handle.documentId, doc, touchedRecordIds(doc, patches));
      if (added.length > 0) this.#scheduleReconcile();
    };
    handle.on("change", onChange);
    this.#unfollow.set(handle.documentId, () => handle.off("change", onChange));
  }

  /**
   * Drops from memory the ledgers that left the live set while the
   * terminal ran (yesterday's, once a new business day's baseline has
   * folded them), so a terminal that runs for weeks keeps days, not weeks.
   * Their records leave the record index; they were folded, so available
   * stock does not move.
   */
  #pruneLiveSet(): void {
    const doc = this.branchDirectory();
    const days = liveDays(doc);
    const self = this.options.terminal;
    const covered = Math.min(readAcked(this.#ingest.doc(), self), this.#baseline.stock.applied(self));
    const live = liveLedgerIds(listTerminals(doc), self, covered, days, (terminal) => this.#baseline.stock.applied(terminal));
    const current = this.#own.at(-1)?.handle.documentId;
    const dropped: string[] = [];
    for (const documentId of [...this.#peerLedgers.keys(), ...this.#own.map((o) => o.handle.documentId), ...this.#loadedOnDemand]) {
      const stillLoading = this.#peerLedgers.has(documentId) && !this.#peerLedgers.get(documentId);
      if (live.has(documentId) || documentId === current || stillLoading) continue;
      this.#unfollow.get(documentId)?.();
      this.#unfollow.delete(documentId);
      for (const record of this.#records.forgetLedger(documentId)) this.#baseline.stock.removeRecord(record);
      this.#peerLedgers.delete(documentId);
      this.#loadedOnDemand.delete(documentId);
      dropped.push(documentId);
    }
    this.#own = this.#own.filter((own) => !dropped.includes(own.handle.documentId));
    if (dropped.length > 0) this.log.info({ ledgers: dropped.length, records: this.#records.size }, "ledgers left the live set");
  }

  /** Adopts an own ledger that a peer supplied after storage lost it. */
  #onStorageRestored(documentId: string, handle: DocHandle<unknown>): void {
    if (this.#own.some((own) => own.handle.documentId === documentId)) return;
    const ref = this.#state.ledgers.find((l) => l.documentId === documentId);
    if (ref) this.#adoptOwnLedger(handle as DocHandle<AnyLedgerDoc>, ref);
  }

  /** Counts a record newly held in available stock and, when it is this terminal's, in the issue counters. */
  #onRecord(record: LedgerRecord): void {
    this.#baseline.stock.addRecord(record);
    if (record.terminal === this.options.terminal) this.#counters.observe(record);
    else {
      this.clock.observe(record.hlc);
      if (record.seq > (this.#peerSeqs.get(record.terminal) ?? 0)) this.#peerSeqs.set(record.terminal, record.seq);
    }
  }

  /** Raises one integrity conflict for a record, once. */
  #flagIntegrity(record: LedgerRecord, detail: string): void {
    this.log.error({ record: record.id, terminal: record.terminal, detail }, "record failed integrity check");
    this.#pendingIntegrity.push({ record, detail });
    this.#scheduleReconcile();
  }

  async #announceSelf(directory: DocHandle<DirectoryDoc>): Promise<void> {
    const lanUrl = this.options.lanAdvertise ?? (this.lan.listenUrl ? this.lan.listenUrl : null);
    directory.change((doc) => setLanUrl(doc, this.options.terminal, lanUrl));
    await this.repo.flush([directory.documentId]);
  }

  #watchDirectory(directory: DocHandle<DirectoryDoc>): void {
    const onChange = () => {
      void this.#followDirectory().catch((error) => this.log.error({ err: error }, "failed to follow the branch directory"));
    };
    directory.on("change", onChange);
    onChange();
  }

  /** Loads peer ledgers of the live set, dials discovered LAN peers and follows the stock baseline. */
  async #followDirectory(): Promise<void> {
    const doc = this.branchDirectory();
    const days = liveDays(doc);
    const terminals = listTerminals(doc);
    // Before any peer ledger opens, so that none starts syncing with the relay unasked.
    this.#relayShare.setBranchDocuments(this.#branchDocuments(doc, terminals));
    for (const terminal of terminals) {
      if (terminal.id === this.options.terminal) continue;
      if (this.options.lanDiscovery && terminal.lanUrl && terminal.id > this.options.terminal) {
        this.lan.dial({ id: terminal.id, url: terminal.lanUrl });
      }
      for (const ref of peerLiveLedgers(terminal.ledgers, days, this.#baseline.stock.applied(terminal.id))) {
        if (!this.#peerLedgers.has(ref.documentId)) this.#openPeerLedger(ref);
      }
    }
    const { baselineUrl } = readDirectoryUrls(doc);
    if (baselineUrl !== this.#baseline.url) await this.#loadBaseline(baselineUrl, 600_000);
  }

  /** Lists the peer ledgers and the shared documents of the directory, for `RelayShare`. */
  #branchDocuments(doc: DirectoryDoc, terminals: readonly TerminalEntry[]): BranchDocuments {
    const peerLedgers = new Map<string, string>();
    const shared = new Set(this.#state.ledgers.map((ref) => ref.documentId));
    for (const terminal of terminals) {
      // The relay's own ledger (records of resolutions made at HQ) reaches terminals only through the relay.
      const shareAll = terminal.id === this.options.terminal || terminal.id === RELAY_PEER;
      for (const ref of terminal.ledgers) {
        if (shareAll) shared.add(ref.documentId);
        else peerLedgers.set(ref.documentId, terminal.id);
      }
    }
    const { catalogUrl, conflictsUrl, permissionsUrl, foliosUrl, ingestUrl, baselineUrl } = readDirectoryUrls(doc);
    for (const url of [this.#state.directoryUrl, catalogUrl, conflictsUrl, permissionsUrl, foliosUrl, ingestUrl, baselineUrl]) {
      if (isValidAutomergeUrl(url)) shared.add(parseAutomergeUrl(url).documentId);
    }
    return { peerLedgers, shared };
  }

  /** Follows a peer ledger of the live set once it is loaded; a second call for the same ledger does nothing. */
  #adoptPeerLedger(handle: DocHandle<AnyLedgerDoc>): void {
    if (this.#closed || this.#unfollow.has(handle.documentId)) return;
    this.#peerLedgers.set(handle.documentId, handle);
    this.#followLedger(handle);
    this.#scheduleReconcile();
  }

  #openPeerLedger(ref: LedgerRef): void {
    this.#peerLedgers.set(ref.documentId, null as unknown as DocHandle<AnyLedgerDoc>);
    void findDocument<AnyLedgerDoc>(this.repo, ref.url as DocumentId, { timeoutMs: 600_000, retryMs: 1000 })
      .then((handle) => this.#adoptPeerLedger(handle))
      .catch((error) => {
        this.#peerLedgers.delete(ref.documentId);
        this.log.warn({ err: error, documentId: ref.documentId }, "peer ledger not available yet");
      });
  }

  // -------------------------------------------------------------- operations

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#writeQueue.then(task, task);
    this.#writeQueue = run.catch(() => undefined);
    return run;
  }

  /**
   * Returns the available stock of a SKU on this terminal: the stock
   * baseline plus the deltas of the records in memory above the baseline's
   * marks. Null when neither names the SKU.
   */
  stockOf(sku: string): number | null {
    return this.#baseline.stock.stockOf(sku);
  }

  /** Looks up a product by SKU or barcode, with its known stock. */
  lookup(code: string) {
    const product = this.#catalogCache.index.findProduct(code);
    if (!product) return null;
    return { ...product, stock: this.stockOf(product.sku) };
  }

  /** Searches products whose name contains every word of the query, case and accent insensitive. */
  search(query: string, limit = 20) {
    const words = fold(query).split(/\s+/).filter(Boolean);
    const out: (Product & { stock: number | null })[] = [];
    if (words.length === 0) return out;
    for (const product of this.#catalogCache.index.products()) {
      const name = fold(product.name);
      if (words.every((w) => name.includes(w))) {
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
      const existing = request.requestId ? this.#records.byRequest(request.requestId) : undefined;
      if (existing) return { record: this.#records.get(existing)!, duplicate: true };
      const catalog = this.#catalogCache.index;
      const priced = priceSale(catalog, request, (sku) => this.stockOf(sku) ?? 0, {
        cashRoundingIncrement: this.#cashRoundingIncrement,
      });
      const offline = !this.connectivity.online;
      let authorizedBy: string | null = null;
      if (offline) {
        const failures = checkStockBuffer(priced.lines, (sku) => catalog.readProduct(sku)?.stockBuffer ?? 0);
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
      for (const line of priced.stock) this.#requireStocked(line.sku);
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
        const product = this.#catalogCache.index.findProduct(line.code);
        if (!product) {
          throw new ValidationError(
            "SKU_UNKNOWN",
            `Line ${index + 1}: no product with SKU or barcode ${line.code} in the catalog`,
            `lines[${index}].sku`,
            line.code,
          );
        }
        stock.push({ sku: product.sku, delta: line.delta });
      });
      return this.#write(kind, { stock, reason: input.reason, offline: !this.connectivity.online });
    });
  }

  /** The catalog as the terminal prices and looks products up with: read from its snapshot, then from the document. */
  get catalog(): CatalogIndex {
    return this.#catalogCache.index;
  }

  get #cashRoundingIncrement(): number {
    return readDirectoryUrls(this.branchDirectory()).cashRoundingIncrement;
  }

  /**
   * Records a refund of an earlier ticket of the branch, authorized by a
   * manager's PIN. What can be refunded is what the ticket sold minus every
   * refund of it this terminal knows of, from any terminal; refunds that
   * terminals record while apart are caught as double-refund conflicts.
   */
  async recordRefund(body: unknown): Promise<{ record: LedgerRecord; duplicate: boolean }> {
    const request = parseRefundRequest(body);
    await this.syncPeerRecords();
    return this.#enqueue(async () => {
      const existing = request.requestId ? this.#records.byRequest(request.requestId) : undefined;
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
        currency: this.#catalogCache.index.currency(),
        cashRoundingIncrement: this.#cashRoundingIncrement,
      });
      const manager = await this.pins.authorize(request.manager, request.pin, "manager", `refund of ${original.id}`);
      for (const line of priced.stock) this.#requireStocked(line.sku);
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
   * Finds a record of the branch by id among the records in memory, then
   * in the ledger of its terminal that covers its sequence number, fetched
   * from storage or peers. That ledger may be an older one outside the live
   * set, for a refund of an old ticket.
   */
  async findRecord(id: string): Promise<LedgerRecord | null> {
    const known = this.#records.get(id);
    if (known) return known;
    const match = /^(.+)-([^-]+)-(\d{8})$/.exec(id);
    if (!match || match[1] !== this.options.branch) return null;
    const terminal = listTerminals(await this.currentDirectory()).find((t) => t.id === match[2]);
    const seq = Number(match[3]);
    const ref = terminal?.ledgers.filter((l) => l.firstSeq <= seq).at(-1);
    if (!ref) return null;
    // A peer's ledger reaches this terminal over the LAN; beyond it, the relay has it.
    if (ref.terminal !== this.options.terminal) await this.#relayShare.fetch([ref.documentId], PEER_FETCH_TIMEOUT_MS);
    await this.#loadLedger(ref);
    return this.#records.get(id) ?? null;
  }

  /**
   * Brings the live ledgers of the peers not connected over the LAN up to
   * the relay's copy while the relay is connected. A refund or a void then
   * counts the refunds and voids of a ticket recorded beyond the LAN.
   * Offline it returns at once, and the records held here count.
   */
  async syncPeerRecords(): Promise<void> {
    if (!this.#relayShare.relayConnected || !this.#directoryFollowed) return;
    const doc = this.branchDirectory();
    const days = liveDays(doc);
    // A peer connected over the LAN sends its ledgers that way.
    const refs = listTerminals(doc)
      .filter((terminal) => terminal.id !== this.options.terminal && !this.#peers.has(`terminal:${this.options.branch}:${terminal.id}`))
      .flatMap((terminal) => peerLiveLedgers(terminal.ledgers, days, this.#baseline.stock.applied(terminal.id)));
    await this.#relayShare.fetch(
      refs.map((ref) => ref.documentId),
      PEER_FETCH_TIMEOUT_MS,
    );
    // Ledgers that came with the fetch are indexed now, not at the next retry of their opening.
    for (const ref of refs) {
      const handle = this.repo.handles[ref.documentId as DocumentId] as DocHandle<AnyLedgerDoc> | undefined;
      if (handle?.isReady()) this.#adoptPeerLedger(handle);
    }
  }

  /** Reads an older ledger into memory once, for a lookup or a report, and checks it like the live ones. */
  async #loadLedger(ref: LedgerRef): Promise<void> {
    if (this.#loadedOnDemand.has(ref.documentId)) return;
    try {
      const handle = await findDocument<AnyLedgerDoc>(this.repo, ref.url as DocumentId, { timeoutMs: 5000 });
      this.#loadedOnDemand.add(ref.documentId);
      this.#records.index(handle.documentId, handle.doc(), null);
      if (ref.terminal === this.options.terminal) this.#health.check(ref.documentId, handle as DocHandle<unknown>);
    } catch (error) {
      this.log.warn({ err: error, documentId: ref.documentId }, "ledger not available");
    }
  }

  /**
   * Z report of a business day: this terminal's, or the branch's from every
   * record this terminal has. Ledgers of that day outside the live set are
   * read first.
   */
  async zReport(businessDay: string, scope: "terminal" | "branch") {
    const terminals = listTerminals(await this.currentDirectory());
    if (scope === "branch") {
      const peers = terminals.filter((t) => t.id !== this.options.terminal);
      const refs = peers.flatMap((t) => t.ledgers.filter((ref) => ref.businessDay === businessDay));
      await this.#relayShare.fetch(
        refs.map((ref) => ref.documentId),
        PEER_FETCH_TIMEOUT_MS,
      );
    }
    for (const terminal of terminals) {
      if (scope === "terminal" && terminal.id !== this.options.terminal) continue;
      for (const ref of terminal.ledgers) if (ref.businessDay === businessDay) await this.#loadLedger(ref);
    }
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

  /**
   * Tries the relay now instead of at the next check and websocket retry,
   * once the store's internet is back. Needs no PIN, because it changes no
   * state, and the manual offline switch still wins.
   */
  reconnectNow(): { attempted: boolean; online: boolean } {
    if (!this.options.relayUrl) {
      throw new RuleError(
        "NO_RELAY",
        "This terminal runs LAN-only (started without --relay), so there is no relay to reconnect to; restart it with --relay URL to sync with the cloud",
        null,
      );
    }
    if (this.connectivity.manualOffline) {
      throw new RuleError(
        "WAN_SWITCHED_OFF",
        'The WAN is switched off by hand on this terminal; a manager switches it back on with POST /wan/offline {"offline": false}',
        null,
      );
    }
    return { attempted: this.connectivity.retryNow(), online: this.connectivity.online };
  }

  #requireStocked(sku: string): void {
    if (this.stockOf(sku) === null) {
      throw new ValidationError(
        "SKU_NOT_STOCKED",
        `SKU ${sku} has no stock in branch ${this.options.branch}; record goods received for it (POST /stock/receipts) first`,
        "lines",
        sku,
      );
    }
  }

  /**
   * Runs `task` in the write queue with a writer of this terminal's
   * records, signed by `signer` (a manager resolving a conflict), or by the
   * signed-in cashier when it is left out. Voids and conflict resolutions
   * write through it. Each record goes into its ledger before the writer
   * returns, so a change the task makes next (a conflict action) never
   * reaches a peer before the records it names.
   */
  withWriter<T>(task: (write: RecordWriter) => Promise<T>, signer?: Signer): Promise<T> {
    const write: RecordWriter = async (kind, fields) => {
      const record = await this.#write(kind, { offline: !this.connectivity.online, ...fields }, signer);
      await this.#appendLogged();
      return record;
    };
    return this.#enqueue(() => task(write));
  }

  async #write(kind: RecordKind, fields: Partial<LedgerRecord>, signer?: Signer): Promise<LedgerRecord> {
    // In a burst of writes the event loop may not turn between them. Records waiting for their ledger change then go
    // in together once there are enough, in one change, which costs less than one change each.
    if (this.#unappended.length >= APPEND_BATCH_MAX) await this.#appendLogged();
    this.#records.busy();
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
    const timeZone = str(this.branchDirectory().timeZone);
    const businessDay = businessDayOf(now, timeZone);
    const ledger = await this.#ledgerFor(businessDay);
    const seq = this.#counters.lastSeq + 1;
    const session = signer ?? this.#session;
    if (!session) {
      throw new RuleError("SIGN_IN_REQUIRED", "No cashier is signed in at this terminal; sign in with POST /sessions and a PIN first", "session");
    }
    const prevHash = this.#counters.lastHash;
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
      epoch: this.#baseline.info.epoch,
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
      ? nextFolioFrom(this.#folios.doc(), this.options.terminal, kind, this.#counters.folios)
      : { folio: null, folioNumber: null, provisionalFolio: null };
    const rule = taxProfile(this.#catalogCache.index.country()).transmissionDeadline;
    const transmitBy = transmissionDeadline(rule, unsealed, timeZone);
    const { record, json } = sealRecordJson({ ...unsealed, ...folio, ...(transmitBy ? { transmitBy } : {}) }, prevHash, session.key);
    // NOTE: the p99 acknowledgement met its 2.5 ms goal in every row of the full bench at commit b8561d6 (Intel Xeon,
    // 2 cores), with the terminal's Node.js flags (bin/node-flags.js), by a small margin: 2.34-2.46 ms. The slowest
    // sales back to back are the two that open the ledger's second part and the one at a checkpoint (25-90 ms),
    // because a whole part is saved and compressed on this thread. That save belongs off the sale's path.

    checkAppend(ledger.handle.doc(), record);
    // Known before the change, so the change's own patches do not index it a second time.
    this.#records.remember(record, json, ledger.handle.documentId);
    try {
      await this.durable.logRecord(ledger.handle.documentId, record.id, json);
    } catch (error) {
      this.#records.forget(record.id);
      throw error;
    }
    // The sequence number is spent once the record is in the log, even if a later step fails.
    this.#onRecord(record);
    if (process.env.MERCORA_FAULT === "crash-after-log") {
      // Fault injection for tests: die with the record in the write-ahead log only, before its ledger change exists.
      process.kill(process.pid, "SIGKILL");
    }
    this.#unappended.push({ handle: ledger.handle, record, json });
    this.#appendSoon();
    this.#scheduleReconcile();
    this.#afterWrite?.();
    this.#afterFirstWrite?.();
    return record;
  }

  /**
   * Appends the records acknowledged from the log alone to their ledgers
   * on the next turn of the event loop, in the write queue, unless a write
   * in a burst appends them first.
   */
  #appendSoon(): void {
    if (this.#appendTimer) return;
    this.#appendTimer = setImmediate(() => {
      this.#appendTimer = null;
      if (this.#closed) return;
      void this.#enqueue(() => this.#appendLogged()).catch((error) =>
        this.log.error({ err: error }, "acknowledged records not appended to their ledger; the next write tries again, and a restart replays them"),
      );
    });
  }

  /**
   * Appends to their ledgers the records `#write` logged and acknowledged,
   * one change per ledger. A crash before this leaves the records in the
   * log, and the replay at start appends them. When the change also creates
   * a bucket (a ledger from before buckets were made with the ledger), it
   * goes to the log in the same synchronous step. automerge-repo sends
   * changes to peers on a later turn of the event loop, so no peer has
   * such a change before the log does. Runs in the write queue. A change
   * that fails keeps its records for the next attempt.
   */
  async #appendLogged(): Promise<void> {
    while (this.#unappended.length > 0) {
      const handle = this.#unappended[0]!.handle;
      let count = 0;
      while (count < this.#unappended.length && this.#unappended[count]!.handle === handle) count++;
      const batch = this.#unappended.slice(0, count);
      const logChange = !ledgerBucketsReady(handle.doc());
      let appended = 0;
      handle.change((doc) => {
        for (const { record, json } of batch) {
          if (storedRecord(doc, record.id)) continue;
          appendRecord(doc, record, json);
          appended++;
        }
      });
      // The records are in the ledger now, so a checkpoint that flushes it covers them.
      this.#unappended.splice(0, count);
      if (!logChange || appended === 0) continue;
      try {
        await this.durable.acknowledge(handle as DocHandle<unknown>);
      } catch (error) {
        // Saving the ledger at once is the other way to keep a change that peers may receive.
        this.log.error({ err: error, documentId: handle.documentId }, "ledger change not written to the write-ahead log; saving the ledger now");
        await this.repo.flush([handle.documentId]);
      }
    }
    if (this.durable.due) await this.durable.checkpoint(this.repo, this.#counters.snapshot());
  }

  /**
   * Creates today's ledger in the write queue right after start when the
   * newest own ledger is of an earlier day, so the first sale does not wait
   * for the new document and the directory entry to reach the disk.
   */
  #prepareTodaysLedger(): void {
    const today = businessDayOf(new Date(this.clockWatch.now()), str(this.branchDirectory().timeZone));
    if (this.#own.at(-1)?.businessDay === today || this.#writesBlocked) return;
    void this.#enqueue(() => this.#ledgerFor(today)).catch((error) => this.log.warn({ err: error }, "today's ledger not prepared; the first sale creates it"));
  }

  /** Returns the ledger for a business day, creating a new part when the day changes or the cap is reached. */
  async #ledgerFor(businessDay: string): Promise<OwnLedger> {
    const current = this.#own.at(-1);
    // A version 1 ledger is read-only, so a terminal upgraded mid-day starts a new part.
    const writable = current && !isLedgerV1(current.handle.doc());
    // The own records of the newest part are the sequence numbers since its first, so no walk of its buckets per sale.
    const held = current ? this.#counters.lastSeq - current.firstSeq + 1 : 0;
    if (current && writable && current.businessDay === businessDay && held < LEDGER_PART_CAP) {
      return current;
    }
    const part = current && current.businessDay === businessDay ? current.part + 1 : 1;
    const firstSeq = this.#counters.lastSeq + 1;
    const handle = this.repo.create<LedgerDoc>(
      initLedger({ branch: this.options.branch, terminal: this.options.terminal, businessDay, part, firstSeq }),
    );
    await this.repo.flush([handle.documentId]);
    const ref = { documentId: handle.documentId, url: handle.url, businessDay, part, firstSeq };
    this.#state.ledgers.push(ref);
    await this.#saveState();
    // Before the directory document loads, #attachDirectory lists the ledger from local state.
    if (this.#directory) {
      this.#directory.change((doc) => registerLedger(doc, this.options.terminal, ref));
      await this.repo.flush([this.#directory.documentId]);
    }
    const ledger = { handle: handle as DocHandle<AnyLedgerDoc>, businessDay, part, firstSeq };
    this.#own.push(ledger);
    this.#followLedger(ledger.handle);
    this.log.info({ documentId: handle.documentId, businessDay, part, firstSeq }, "opened ledger");
    return ledger;
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
    const used = this.#counters.folios.highestNumber;
    // Own records of the live set: older ones were acknowledged, and the relay assigns final folios before it acknowledges.
    const provisional = this.ownRecords().filter((r) => r.provisionalFolio && !readFinalFolio(doc, r.id));
    return {
      scheme: readScheme(doc),
      numbersLeft: readScheme(doc) === "authority-range" ? folioNumbersLeft(doc, this.options.terminal, used) : null,
      provisionalWaiting: provisional.length,
      reprintOffers: [...this.#reprintOffers].map((id) => ({ record: id, ...readFinalFolio(doc, id) })),
    };
  }

  /** Reads one record by id from the records in memory; `findRecord` also reads older ledgers. */
  record(id: string): LedgerRecord | null {
    return this.#records.get(id) ?? null;
  }

  /** Lists this terminal's own records in memory (the live set and ledgers read on demand), newest last. */
  ownRecords(): LedgerRecord[] {
    return [...this.#records.values()]
      .filter((r) => r.terminal === this.options.terminal)
      .sort((a, b) => a.seq - b.seq);
  }

  /** Lists every record of the branch in memory, in HLC order. */
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
    const conflicts = this.#conflicts.doc();
    const replica = this.options.terminal;
    const windowApplied = this.#baseline.info.windowApplied;
    const now = this.clock.now();
    const records = [...this.#records.values()];
    const own = readDetections(conflicts, replica);
    const review = this.review.review();
    const merged = review.conflicts;
    const writes = [
      ...reconcileOversells({ replica, now, windowApplied, stock: this.#baseline.stock.negative(), records, own, merged }),
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
      // False until the catalog and stock baseline documents are loaded (deferred after start when snapshots serve sales).
      documentsLoaded: this.#catalog !== null && this.#baseline.handle !== null,
      // False until the branch directory document is loaded and followed (after the first sale when a start read its snapshot).
      directoryLoaded: this.#directoryFollowed,
      lanPeers,
      // Peer terminals whose records this terminal carries to the relay, because the relay has not acknowledged them.
      forwarding: [...this.#relayShare.forwarding].sort(),
      lastSeq: this.#counters.lastSeq,
      ackedSeq: acked,
      pending: Math.max(0, this.#counters.lastSeq - acked),
      offlineMs: this.connectivity.offlineMs(),
      inventoryEpoch: this.#baseline.info.epoch,
      ledgers: this.#own.map((l) => ({
        documentId: l.handle.documentId,
        businessDay: l.businessDay,
        part: l.part,
        records: countRecords(l.handle.doc()),
      })),
      session: this.session,
      storage: {
        ok: this.#health.problems.length === 0,
        writesBlocked: this.#writesBlocked !== null,
        problems: this.#health.problems,
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

  /** Available stock of every SKU the baseline or a held record names, for checks and the demo summary. */
  allStock(): Record<string, number> {
    return this.#baseline.stock.all();
  }

  /** Heads of every branch document this terminal holds, for comparing replicas. */
  documentHeads(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    const handles: DocHandle<unknown>[] = [this.#conflicts, this.#ingest, this.#permissions, this.#folios];
    if (this.#directory) handles.push(this.#directory);
    if (this.#baseline.handle) handles.push(this.#baseline.handle);
    for (const own of this.#own) handles.push(own.handle);
    for (const handle of this.#peerLedgers.values()) if (handle) handles.push(handle);
    for (const handle of handles) out[handle.documentId] = handle.heads();
    return out;
  }
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

