import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { Repo } from "@automerge/automerge-repo";
import type { DocHandle, DocumentId, PeerId } from "@automerge/automerge-repo";
import {
  CATALOG_EDIT_KIND,
  DurableFileStorageAdapter,
  ROLES,
  SyncStateCache,
  checkPinFormat,
  initPermissions,
  makePinVerifier,
  makeSigningKey,
  putDevice,
  putUser,
  readDeviceKey,
  revokeDevice,
  verifyDeviceToken,
  Keystore,
  str,
  taxProfile,
  HybridLogicalClock,
  ValidationError,
  findDocument,
  initCatalog,
  initConflicts,
  initDirectory,
  initIngest,
  initStockBaseline,
  businessDayOf,
  listSkus,
  parseCatalogCsv,
  putProducts,
  readJsonFile,
  decodePublicKey,
  encodePublicKey,
  isEditorToken,
  writeJsonDurable,
} from "@mercora/crdt-model";
import { FOLIO_SCHEMES, initFolios } from "@mercora/crdt-model";
import type {
  FolioScheme,
  FoliosDoc,
  CatalogDoc,
  CatalogImportOptions,
  CatalogSettings,
  ConflictsDoc,
  DirectoryDoc,
  IngestDoc,
  StockBaselineDoc,
  PermissionsDoc,
  Product,
  Role,
  TaxProfile,
  TaxRounding,
} from "@mercora/crdt-model";
import { createHash, randomBytes } from "node:crypto";
import { AuthenticatedWebSocketServerAdapter, SYNC_DEFLATE } from "@mercora/terminal";
import type { ActionHandler } from "@mercora/terminal";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import type { BranchUrls } from "./branch.ts";
import { RELAY_REPLICA, RelayBranch } from "./branch.ts";
import { CatalogConflictDetector } from "./catalog-conflict-detector.ts";
import { CatalogEditorRegistry } from "./catalog-editors.ts";
import { CatalogEdits } from "./catalog-edits.ts";
import { addReviewContainers, attachBranchReview } from "./conflict-review.ts";
import { SignatureChecks } from "./signature-checks.ts";

export interface RelayOptions {
  dataDir: string;
  log: Logger;
  /** 32-byte key that encrypts the relay's storage; from `Relay.openKeystore`. */
  storageKey: Buffer;
  keystore: Keystore;
}

interface Enrollment {
  /** SHA-256 (hex) of the activation code; the code itself is never stored. */
  codeHash: string;
  branch: string;
  terminal: string;
  expiresAt: string;
  usedAt: string | null;
}

interface RelayState {
  catalogUrl: string | null;
  branches: Record<string, BranchUrls & { terminals: string[] }>;
  enrollments: Enrollment[];
}

export interface CreateBranchInput {
  id: string;
  name: string;
  timeZone: string;
  terminals: { id: string; name: string }[];
  /** Opening stock: `default` for every catalog SKU, `skus` for particular ones. */
  openingStock?: { default?: number; skus?: Record<string, number> };
  /** Cash rounding increment in minor units; defaults to the country profile's. */
  cashRoundingIncrement?: number;
  /** Users with their PINs; the relay stores only scrypt verifiers. */
  users?: UserInput[];
  /** Fiscal numbering; the scheme defaults to the country's. */
  fiscal?: { scheme?: FolioScheme; branchCode?: string; blockSize?: number; lowWater?: number };
}

/**
 * How often the relay pings each terminal's socket. With the stock 5 s, a
 * 1,000-store capacity run lost sockets of terminals that were only slow
 * to send a pong, and each reconnection cost a new device token check and
 * sync setup.
 */
const RELAY_KEEPALIVE_MS = 20_000;

/**
 * Keepalive rounds that may pass with nothing heard from a terminal (no
 * pong, no message) before the relay closes its socket, which then has been
 * silent for 60 s to 80 s. A busy relay reads pongs late, because ws reads
 * a socket's frames in order and waits for each compressed message to be
 * inflated. With 30 s and no missed round, a 1,000-store run closed
 * hundreds of sockets a minute.
 */
const RELAY_MISSED_PINGS_ALLOWED = 2;

/** Returns the branch id in a terminal's peer id (`terminal:BRANCH:TERMINAL`), or null for any other peer. */
function terminalBranch(peerId: string): string | null {
  return /^terminal:([^:]+):/.exec(peerId)?.[1] ?? null;
}

/** Folio scheme of each country unless a branch says otherwise. */
export const DEFAULT_FOLIO_SCHEMES: Record<string, FolioScheme> = {
  CR: "self-numbered",
  PE: "self-numbered",
  AR: "self-numbered",
  CO: "authority-range",
  MX: "assigned-at-validation",
  GT: "assigned-at-validation",
};

export interface UserInput {
  id: string;
  name: string;
  role: Role;
  pin: string;
}

/** Catalog settings from a country's tax profile. */
export function catalogSettings(profile: TaxProfile): CatalogSettings {
  return {
    country: profile.country,
    currency: profile.currency,
    minorUnitDigits: profile.minorUnitDigits,
    pricesIncludeTax: profile.pricesIncludeTax,
    rounding: profile.rounding,
    taxes: profile.taxes,
  };
}

/** Country of a new corporate catalog unless the first import names one: Argentina, as in the bundled data. */
export const DEFAULT_COUNTRY = "AR";

/**
 * The cloud relay: one automerge-repo on durable storage that every
 * terminal syncs with over a websocket, the corporate catalog, and one
 * `RelayBranch` per branch that ingests records and reconciles stock.
 */
export class Relay {
  readonly repo: Repo;
  readonly storage: DurableFileStorageAdapter;
  /** Terminals' sync states, kept in memory in front of `storage` and written in batches. */
  readonly syncStates: SyncStateCache;
  /** Checks record signatures during ingest on the main thread and one worker thread. */
  readonly signatures: SignatureChecks;
  readonly clock = new HybridLogicalClock(RELAY_REPLICA);
  readonly wss: WebSocketServer;
  readonly branches = new Map<string, RelayBranch>();
  readonly contacts = new Map<string, { lastContact: string; connected: boolean }>();
  readonly log: Logger;
  /** Enrolled catalog editor devices (peer ids `hq:USER`), which reach the catalog only. */
  readonly catalogEditors: CatalogEditorRegistry;
  /** HQ's product edits, catalog-edit conflict detection and the managers' choices. */
  readonly catalogEdits: CatalogEdits;
  #state: RelayState = { catalogUrl: null, branches: {}, enrollments: [] };
  #stateWrite: Promise<void> = Promise.resolve();
  /** Ids of branches whose creation is under way. */
  readonly #creating = new Set<string>();
  #hqToken = "";
  readonly #seenNonces = new Map<string, number>();
  /** Peer id each authenticated socket proved at the upgrade. */
  readonly #socketPeers = new WeakMap<object, string>();
  readonly #rejections = new Map<string, number>();
  #catalog: DocHandle<CatalogDoc> | null = null;
  /** Document id to branch id; the catalog maps to "*". */
  readonly #docBranch = new Map<string, string>();
  /** The terminal that created each document the directory does not list yet: a new ledger, most likely. */
  readonly #creators = new Map<string, PeerId>();
  /** Document ids by branch id, "*" for the catalog's: the index behind `documentsFor`. */
  readonly #branchDocs = new Map<string, Set<string>>();
  readonly #actionHandlers = new Map<string, ActionHandler>();

  constructor(readonly options: RelayOptions) {
    this.log = options.log;
    this.storage = new DurableFileStorageAdapter(join(options.dataDir, "automerge"), options.storageKey);
    this.storage.on("damaged", (chunk) =>
      this.log.error({ key: chunk.key, movedTo: chunk.movedTo, reason: chunk.reason }, "damaged chunk moved aside"),
    );
    this.signatures = new SignatureChecks(this.log.child({ component: "signatures" }));
    this.syncStates = new SyncStateCache(this.storage, {
      onError: (error) => this.log.warn({ err: error }, "failed to write sync states, so the next timed write retries them"),
    });
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: SYNC_DEFLATE });
    this.wss.on("connection", (socket) => {
      socket.on("error", (error) => this.log.debug({ err: error }, "sync socket error"));
    });
    this.repo = new Repo({
      storage: this.syncStates,
      network: [
        // TODO: catching up 8,000 tickets takes 3.2 s (2.94-3.52) in the full bench at commit 337a4dd on an Intel Xeon
        // with 2 cores, against PouchDB's 6.39 s (a ratio of 0.501, goal: half). Since commit 43cbffc this relay offers a
        // ledger only to its writer. From the moment the ledgers arrive, this main thread is the critical path. In a
        // profiled run at 337a4dd it was busy for 3.0 s of a 3.4 s window. It spent 1.1 s applying the four ledgers'
        // sync messages (0.29 s of it patching the JS documents) and 0.7 s in its half of the Ed25519 checks (about
        // 0.12 ms each). Saving the received ledgers, which Automerge compresses again, took 0.25 s, and garbage
        // collection 0.19 s.
        // While the clock ran the relay used 2.9-3.2 s of CPU and each terminal 0.6-1.2 s, so the two cores were
        // nearly full. Checking whole batches on the worker thread without blocking this one was slower, because the
        // worker then checks every signature alone at the end. Starting each ledger's checks on the worker as its
        // records were indexed was slower too (medians 2.88 s against 2.81 s in six alternated pairs).
        // Applying a ledger off the main thread would need a repo per worker (see the capacity TODO below).
        // At commit b8561d6 the catch-up took 5.06 s, because of the terminals' Node.js flags: see the TODO in
        // packages/terminal/src/thread-priority.ts.
        // TODO: with 1,000 stores all 4,000 terminals connect, but the relay acknowledged 834 of the 40,000 tickets
        // of a 10-minute soak. A 20 s profile in such a soak (commit 93b309f): 27% writing chunks, 16% garbage
        // collection, about 20% making and applying sync messages, 2% ingest. 3,926 new ledgers hit automerge-repo's
        // 60 s load timeout, and their sync with other peers waits for those peers' next message. All of it runs on
        // one main thread, so shard branches over worker processes, each with its own repo, routing sockets by the
        // peer id's branch. A ticket cost the relay about 57 ms of CPU at 50 and at 400 stores at commit 7d21e15, and
        // about 18 ms at 50 stores since the baseline publishes moved SKUs as numbers. At that cost 67 tickets a second
        // take about 1.2 cores, and the bench's load generators about 1.6 more on the same 2 cores.
        new AuthenticatedWebSocketServerAdapter(
          this.wss as unknown as ConstructorParameters<typeof AuthenticatedWebSocketServerAdapter>[0],
          (socket) => this.#socketPeers.get(socket) ?? null,
          (peerId, claimed) => this.log.warn({ peerId, claimed }, "sync message with another peer id refused; connection closed"),
          RELAY_KEEPALIVE_MS,
          RELAY_MISSED_PINGS_ALLOWED,
          // Terminals hear each other's clock broadcasts on the LAN, so the
          // relay drops them instead of reading or forwarding them.
          { carryEphemeral: false },
        ),
      ],
      peerId: RELAY_REPLICA as PeerId,
      shareConfig: {
        // automerge-repo, as patched in patches/, checks only the documents documentsFor lists when a peer
        // connects, and calls mayShare before the two policies below. Unpatched, each connection visited every
        // document in the relay's repo with two policy calls: with 1,000 stores, 6,000 documents for each of
        // 4,000 terminals.
        mayShare: (peerId, documentId) => this.#mayShare(peerId, documentId),
        documentsFor: (peerId) => this.#documentsFor(peerId),
        // Offer a terminal only its own branch's documents (of ledgers, only its own) and the catalog.
        announce: async (peerId, documentId) => this.#sharesWith(peerId, documentId),
        // A terminal reaches only its branch's documents and the catalog. A
        // document the relay has never seen is one the terminal is creating
        // (a new ledger), and it becomes that terminal's branch's.
        access: async (peerId, documentId) => this.#allows(peerId, documentId),
      },
    });
    this.catalogEditors = new CatalogEditorRegistry(options.dataDir, options.storageKey, this.log.child({ component: "catalog-editors" }));
    const detector = new CatalogConflictDetector(this.repo, this.clock, () => this.branches.values(), this.log.child({ component: "catalog-conflicts" }));
    this.catalogEdits = new CatalogEdits(this.repo, () => this.#catalog, detector, this.log.child({ component: "catalog-edits" }));
    // A manager's `choose-value` on a catalog-edit conflict writes the chosen value to the catalog.
    this.registerActionHandler(CATALOG_EDIT_KIND, {
      carryOut: async ({ branch, conflict, request, manager }) => {
        this.catalogEdits.detector.keep(branch, conflict.id);
        const choice = await this.catalogEdits.chooseValue(conflict.id, {
          value: request.value,
          manager: manager.id,
          managerName: manager.name,
          reason: request.reason,
        });
        return choice.records;
      },
    });
    this.repo.networkSubsystem.on("peer", ({ peerId }) => this.#touch(peerId, true));
    this.repo.networkSubsystem.on("peer-disconnected", ({ peerId }) => this.#touch(peerId, false));
    this.repo.networkSubsystem.on("message", (message) => this.#touch(message.senderId, true));
  }

  /** Records that a document belongs to a branch ("*" for the catalog's). */
  #assign(documentId: string, branch: string): void {
    this.#docBranch.set(documentId, branch);
    let documents = this.#branchDocs.get(branch);
    if (!documents) this.#branchDocs.set(branch, (documents = new Set()));
    documents.add(documentId);
  }

  /** Lists the documents a connecting peer may be offered: the catalog's, and a terminal's own branch's. */
  *#documentsFor(peerId: PeerId): Iterable<DocumentId> {
    yield* (this.#branchDocs.get("*") ?? []) as Iterable<DocumentId>;
    const branch = terminalBranch(peerId);
    if (branch !== null) yield* (this.#branchDocs.get(branch) ?? []) as Iterable<DocumentId>;
  }

  /** Returns false only where both policies reject: a document of another branch, or any but the catalog's for a catalog editor. */
  #mayShare(peerId: PeerId, documentId: DocumentId): boolean {
    const branch = this.#docBranch.get(documentId);
    if (branch === "*") return true;
    const peerBranch = terminalBranch(peerId);
    return peerBranch !== null && (branch === undefined || branch === peerBranch);
  }

  #sharesWith(peerId: PeerId, documentId: DocumentId | undefined): boolean {
    if (!documentId) return false;
    const branch = this.#docBranch.get(documentId);
    if (!branch) return false;
    if (branch === "*") return true;
    if (!peerId.startsWith(`terminal:${branch}:`)) return false;
    // A ledger is offered to the terminal that writes it. Other terminals get it over the LAN, or request it
    // by id (a refund of another terminal's ticket), and see its sales in the stock baseline. Until the
    // directory lists a new document, only the terminal that created it is offered it. The relay's own ledger
    // (records of resolutions made at HQ) is offered to every terminal of the branch.
    const owner = this.branches.get(branch)?.ledgerOwner(documentId);
    if (owner !== undefined) return owner === RELAY_REPLICA || peerId === `terminal:${branch}:${owner}`;
    const creator = this.#creators.get(documentId);
    return creator === undefined || creator === peerId;
  }

  #allows(peerId: PeerId, documentId: DocumentId): boolean {
    const branch = this.#docBranch.get(documentId);
    // A catalog editor reaches the catalog and nothing else, and creates no document here.
    if (peerId.startsWith("hq:")) return branch === "*";
    const peerBranch = terminalBranch(peerId);
    if (peerBranch === null) return false;
    if (branch === undefined) {
      this.#assign(documentId, peerBranch);
      this.#creators.set(documentId, peerId);
      return true;
    }
    const allowed = branch === "*" || branch === peerBranch;
    // With mayShare, this runs for another branch's document only when a terminal requests it by id.
    if (!allowed) this.log.debug({ peerId, documentId, owner: branch }, "document of another branch not shared");
    return allowed;
  }

  #rejectOnce(key: string, fields: Record<string, unknown>, message: string): void {
    const count = (this.#rejections.get(key) ?? 0) + 1;
    this.#rejections.set(key, count);
    if (count === 1 || count % 100 === 0) this.log.warn({ ...fields, count }, message);
  }

  /**
   * Checks the device token of a websocket upgrade to `/sync`. Returns the
   * peer id the connection is bound to, or the reason it is refused. A
   * revoked device is also flagged as a conflict of its branch.
   */
  authenticateUpgrade(url: URL): { peerId: string } | { reason: string } {
    const token = url.searchParams.get("token");
    if (!token) return { reason: "no device token" };
    if (isEditorToken(token)) {
      const editor = this.catalogEditors.authenticate(token);
      if ("reason" in editor) this.#rejectOnce(`upgrade:${editor.reason}`, { reason: editor.reason }, "sync connection refused");
      return editor;
    }
    const result = verifyDeviceToken(
      token,
      (branch, terminal) => {
        const handle = this.branches.get(branch)?.permissions;
        return handle ? readDeviceKey(handle.doc(), terminal) : null;
      },
      Date.now(),
      this.#seenNonces,
    );
    if ("reason" in result) {
      if (result.claims && result.reason.includes("revoked")) {
        void this.branches.get(result.claims.branch)?.flagRevokedDevice(result.claims.terminal);
      }
      this.#rejectOnce(`upgrade:${result.reason}`, { reason: result.reason }, "sync connection refused");
      return { reason: result.reason };
    }
    return { peerId: result.claims.peerId };
  }

  /** Binds an upgraded socket to the peer id its token proved. */
  bindSocket(socket: object, peerId: string): void {
    this.#socketPeers.set(socket, peerId);
  }

  /** The token HQ clients send as `Authorization: Bearer TOKEN`. */
  get hqToken(): string {
    return this.#hqToken;
  }

  /**
   * Creates a one-time activation code for a terminal of a branch, valid
   * for `ttlMinutes`. Only its SHA-256 is kept.
   */
  async createEnrollment(branchId: string, terminal: string, ttlMinutes = 24 * 60) {
    const state = this.#state.branches[branchId];
    if (!state) throw new ValidationError("BRANCH_UNKNOWN", `No branch ${branchId} on this relay`, "branch", branchId);
    if (!state.terminals.includes(terminal)) {
      throw new ValidationError("TERMINAL_UNKNOWN", `Branch ${branchId} has no terminal ${terminal}; it has ${state.terminals.join(", ")}`, "terminal", terminal);
    }
    if (!Number.isFinite(ttlMinutes) || ttlMinutes <= 0 || ttlMinutes > 30 * 24 * 60) {
      throw new ValidationError("TTL_INVALID", `ttlMinutes ${ttlMinutes} must be between 1 and 43200`, "ttlMinutes");
    }
    const device = this.branches.get(branchId)?.permissions.doc().devices?.[terminal];
    if (device && !device.revoked) {
      throw Object.assign(
        new Error(`Terminal ${branchId}/${terminal} already has an active device; revoke it first to replace the terminal`),
        { statusCode: 409 },
      );
    }
    const code = randomBytes(10).toString("base64url").replace(/[-_]/g, "x").slice(0, 12).toUpperCase();
    const expiresAt = new Date(Date.now() + ttlMinutes * 60_000).toISOString();
    this.#state.enrollments.push({ codeHash: sha256(code), branch: branchId, terminal, expiresAt, usedAt: null });
    await this.#saveState();
    this.log.info({ branch: branchId, terminal, expiresAt }, "enrollment created");
    return { branch: branchId, terminal, code, expiresAt };
  }

  /**
   * Activates a terminal: checks the one-time code, registers the device's
   * public key in the branch's permissions and returns the branch directory.
   */
  async activate(input: { branch?: unknown; terminal?: unknown; code?: unknown; publicKey?: unknown }) {
    if (typeof input.branch !== "string" || typeof input.terminal !== "string" || typeof input.code !== "string" || typeof input.publicKey !== "string") {
      throw new ValidationError("ACTIVATION_INVALID", "Activation needs branch, terminal, code and publicKey", null);
    }
    const enrollment = this.#state.enrollments.find(
      (e) => e.codeHash === sha256(input.code as string) && e.branch === input.branch && e.terminal === input.terminal,
    );
    const refuse = (reason: string) => {
      this.log.warn({ branch: input.branch, terminal: input.terminal, reason }, "activation rejected");
      return Object.assign(new Error(`Activation of ${input.branch}/${input.terminal} rejected: ${reason}`), { statusCode: 403 });
    };
    if (!enrollment) throw refuse("unknown activation code for this terminal");
    if (enrollment.usedAt) throw refuse(`the code was already used at ${enrollment.usedAt}; ask HQ for a new one`);
    if (Date.parse(enrollment.expiresAt) < Date.now()) throw refuse(`the code expired at ${enrollment.expiresAt}; ask HQ for a new one`);
    let publicKey: string;
    try {
      publicKey = encodePublicKey(decodePublicKey(input.publicKey));
    } catch {
      throw new ValidationError("PUBLIC_KEY_INVALID", "publicKey must be a base64 SPKI DER Ed25519 key", "publicKey");
    }
    const branch = this.branches.get(enrollment.branch)!;
    branch.permissions.change((doc) => putDevice(doc, enrollment.terminal, publicKey, new Date().toISOString()));
    await this.repo.flush([branch.permissions.documentId]);
    // The terminal leaves with a block of folio numbers, so it can issue final folios offline.
    await branch.topUpFolioBlocks();
    enrollment.usedAt = new Date().toISOString();
    await this.#saveState();
    this.log.info({ branch: enrollment.branch, terminal: enrollment.terminal }, "terminal activated");
    return { branch: enrollment.branch, terminal: enrollment.terminal, directoryUrl: this.#state.branches[enrollment.branch]!.directoryUrl };
  }

  /** Revokes a terminal's device: its connections are closed and refused from then on. */
  async revokeDevice(branchId: string, terminal: string) {
    const branch = this.branches.get(branchId);
    if (!branch) throw new ValidationError("BRANCH_UNKNOWN", `No branch ${branchId} on this relay`, "branch", branchId);
    let found = false;
    branch.permissions.change((doc) => {
      found = revokeDevice(doc, terminal);
    });
    if (!found) throw new ValidationError("DEVICE_UNKNOWN", `Terminal ${branchId}/${terminal} has no activated device`, "terminal", terminal);
    await this.repo.flush([branch.permissions.documentId]);
    this.#closeConnections(`terminal:${branchId}:${terminal}`);
    this.log.warn({ branch: branchId, terminal }, "device revoked");
    return { branch: branchId, terminal, revoked: true };
  }

  #closeConnections(peerId: string): void {
    for (const client of this.wss.clients) {
      if (this.#socketPeers.get(client) === peerId) client.terminate();
    }
  }

  /** Registers a catalog editor's device key with its one-time code; returns where the catalog is. */
  async activateCatalogEditor(input: { user?: unknown; code?: unknown; publicKey?: unknown }) {
    const catalog = this.requireCatalog();
    const editor = await this.catalogEditors.activate(input);
    return { ...editor, peerId: `hq:${editor.user}`, catalogUrl: catalog.url };
  }

  /** Revokes a catalog editor: its connections are closed and refused from then on. */
  async revokeCatalogEditor(user: string) {
    const revoked = await this.catalogEditors.revoke(user);
    this.#closeConnections(revoked.peerId);
    return { ...revoked, revoked: true };
  }

  /** Returns the catalog, or throws 400 CATALOG_MISSING before the first import. */
  requireCatalog(): DocHandle<CatalogDoc> {
    if (!this.#catalog) throw new ValidationError("CATALOG_MISSING", "The relay has no catalog yet; import one with POST /api/hq/catalog", null);
    return this.#catalog;
  }

  #touch(peerId: string, connected: boolean): void {
    this.contacts.set(peerId, { lastContact: new Date().toISOString(), connected });
  }

  /** Opens (or creates) the relay's keystore in its data folder. */
  static async openKeystore(dataDir: string): Promise<Keystore> {
    return Keystore.open(join(dataDir, "keystore"), { create: true });
  }

  async start(): Promise<void> {
    await mkdir(this.options.dataDir, { recursive: true });
    this.#hqToken = await this.options.keystore.secret("hq.token");
    await this.catalogEditors.open();
    const saved = await readJsonFile<RelayState>(this.#statePath);
    this.#state = { catalogUrl: null, branches: {}, enrollments: [], ...saved };
    if (this.#state.catalogUrl) {
      this.#catalog = await findDocument<CatalogDoc>(this.repo, this.#state.catalogUrl as DocumentId, { timeoutMs: 30_000 });
      this.#assign(this.#catalog.documentId, "*");
      await this.catalogEdits.follow(this.#catalog);
    }
    for (const [id, urls] of Object.entries(this.#state.branches)) await this.#openBranch(id, urls);
    this.signatures.start();
    this.log.info({ branches: this.branches.size, catalog: this.#state.catalogUrl }, "relay started");
  }

  async stop(): Promise<void> {
    this.catalogEdits.detector.close();
    for (const branch of this.branches.values()) branch.close();
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    await this.repo.flush().catch(() => undefined);
    await this.repo.shutdown().catch(() => undefined);
    await this.signatures.close();
    try {
      await this.syncStates.close();
    } catch (error) {
      this.log.warn({ err: error }, "failed to write sync states at shutdown, so each terminal's next sync takes one more round trip");
    }
  }

  get #statePath(): string {
    return join(this.options.dataDir, "relay.json");
  }

  /** Writes relay.json, one write after another, so an older state never lands after a newer one. */
  async #saveState(): Promise<void> {
    const write = this.#stateWrite.then(() => writeJsonDurable(this.#statePath, this.#state));
    this.#stateWrite = write.catch(() => undefined);
    await write;
  }

  /**
   * Registers the handler that carries out the actions of a conflict kind
   * at HQ, such as `choose-value` of `catalog-edit`. Actions of a kind
   * marked HQ-only are rejected until its handler is registered.
   */
  registerActionHandler(kind: string, handler: ActionHandler): void {
    this.#actionHandlers.set(kind, handler);
  }

  async #openBranch(id: string, urls: BranchUrls): Promise<RelayBranch> {
    const log = this.log.child({ branch: id });
    const onDocument = (documentId: string, branchId: string) => {
      this.#assign(documentId, branchId);
      // Listed now, so its offers follow the directory.
      this.#creators.delete(documentId);
    };
    const branch = new RelayBranch(id, urls, this.repo, this.clock, log, onDocument, () => this.#catalog, this.signatures);
    const ledger = await attachBranchReview(branch, {
      repo: this.repo,
      clock: this.clock,
      dataDir: this.options.dataDir,
      log,
      handlers: this.#actionHandlers,
      catalog: () => this.#catalog,
      onDocument: (documentId) => onDocument(documentId, id),
    });
    await branch.open();
    await addReviewContainers(branch, this.repo, log);
    await ledger.open();
    this.branches.set(id, branch);
    // Re-evaluating the share policy visits every document for every peer, so it runs only when a terminal
    // of this branch is already connected. None can be while the relay starts or creates the branch.
    if (this.repo.peers.some((peer) => terminalBranch(peer) === id)) this.repo.shareConfigChanged();
    void this.catalogEdits.detector.examineBranch(branch);
    return branch;
  }

  get catalog(): DocHandle<CatalogDoc> | null {
    return this.#catalog;
  }

  /**
   * Imports a catalog CSV into the corporate catalog. The first import
   * creates the catalog with the tax profile of `country`; later imports
   * must match it.
   */
  async importCatalog(csv: string, options: CatalogImportOptions = {}, profile: { country?: string; rounding?: TaxRounding } = {}) {
    const country = profile.country ?? (this.#catalog ? str(this.#catalog.doc().country) : DEFAULT_COUNTRY);
    let taxProfileOfCountry: TaxProfile;
    try {
      taxProfileOfCountry = taxProfile(country, profile.rounding ? { rounding: profile.rounding } : {});
    } catch (error) {
      throw new ValidationError("COUNTRY_UNKNOWN", (error as Error).message, "country", country);
    }
    if (this.#catalog && str(this.#catalog.doc().country) !== taxProfileOfCountry.country) {
      throw new ValidationError(
        "COUNTRY_MISMATCH",
        `The catalog is for ${str(this.#catalog.doc().country)}; it cannot take a ${country} import`,
        "country",
        country,
      );
    }
    const defaultTax = taxProfileOfCountry.taxes[0]!.code;
    const result = parseCatalogCsv(csv, { taxCode: defaultTax, minorUnitDigits: taxProfileOfCountry.minorUnitDigits, ...options });
    if (!this.#catalog) {
      this.#catalog = this.repo.create<CatalogDoc>(initCatalog(catalogSettings(taxProfileOfCountry)));
      this.#assign(this.#catalog.documentId, "*");
      this.#state.catalogUrl = this.#catalog.url;
      await this.catalogEdits.follow(this.#catalog);
    }
    const products: Product[] = result.products;
    const unknownTax = products.find((product) => !this.#catalog!.doc().taxes[product.taxCode]);
    if (unknownTax) {
      const known = Object.keys(this.#catalog.doc().taxes).join(", ");
      throw new ValidationError("TAX_UNKNOWN", `Tax code ${unknownTax.taxCode} is not in the catalog; use one of ${known}`, "taxCode", unknownTax.taxCode);
    }
    this.#catalog.change((doc) => putProducts(doc, products));
    await this.repo.flush([this.#catalog.documentId]);
    await this.#saveState();
    for (const error of result.errors.slice(0, 20)) this.log.warn(error, "catalog row rejected");
    this.log.info({ imported: products.length, rejected: result.errors.length }, "catalog imported");
    return { imported: products.length, rejected: result.errors.length, errors: result.errors, catalogUrl: this.#catalog.url };
  }

  /**
   * Creates a branch: its directory, ingest, conflicts and first stock
   * baseline, with every terminal's entries and the opening stock of every
   * catalog SKU created here, before any terminal writes.
   */
  async createBranch(input: CreateBranchInput) {
    // A second request for an id still being created gets BRANCH_EXISTS, as it would once the first finished.
    if (typeof input?.id === "string" && this.#creating.has(input.id)) {
      throw new ValidationError("BRANCH_EXISTS", `Branch ${input.id} already exists`, "id", input.id);
    }
    const id = typeof input?.id === "string" ? input.id : null;
    if (id) this.#creating.add(id);
    try {
      return await this.#createBranch(input);
    } finally {
      if (id) this.#creating.delete(id);
    }
  }

  async #createBranch(input: CreateBranchInput) {
    if (!this.#catalog) {
      throw new ValidationError("CATALOG_MISSING", "Import a catalog before creating branches", null);
    }
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(input.id ?? "")) {
      throw new ValidationError("BRANCH_ID_INVALID", `Branch id ${JSON.stringify(input.id)} must be 1-32 letters, digits, - or _`, "id");
    }
    if (this.#state.branches[input.id]) {
      throw new ValidationError("BRANCH_EXISTS", `Branch ${input.id} already exists`, "id", input.id);
    }
    if (!Array.isArray(input.terminals) || input.terminals.length === 0) {
      throw new ValidationError("TERMINALS_MISSING", "A branch needs at least one terminal", "terminals");
    }
    for (const terminal of input.terminals) {
      // Record ids join branch, terminal and sequence with "-", so a terminal id has none.
      if (!/^[A-Za-z0-9_]{1,32}$/.test(terminal.id ?? "")) {
        throw new ValidationError("TERMINAL_ID_INVALID", `Terminal id ${JSON.stringify(terminal.id)} must be 1-32 letters, digits or _`, "terminals");
      }
      if (terminal.id === RELAY_REPLICA) {
        throw new ValidationError("TERMINAL_ID_INVALID", `Terminal id ${RELAY_REPLICA} is reserved for the relay's own records; choose another`, "terminals");
      }
    }
    try {
      new Intl.DateTimeFormat("en", { timeZone: input.timeZone });
    } catch {
      throw new ValidationError("TIME_ZONE_INVALID", `Time zone ${JSON.stringify(input.timeZone)} is not an IANA zone such as America/Argentina/Buenos_Aires`, "timeZone");
    }
    const ids = input.terminals.map((t) => t.id);
    const repeated = ids.find((id, index) => ids.indexOf(id) !== index);
    if (repeated) throw new ValidationError("TERMINAL_DUPLICATE", `Terminal id ${repeated} appears twice`, "terminals", repeated);
    const userIds = (input.users ?? []).map((u) => u.id);
    const repeatedUser = userIds.find((id, index) => userIds.indexOf(id) !== index);
    if (repeatedUser) throw new ValidationError("USER_DUPLICATE", `User id ${repeatedUser} appears twice`, "users", repeatedUser);
    const checkUnits = (units: unknown, where: string) => {
      if (typeof units !== "number" || !Number.isSafeInteger(units) || units < 0) {
        throw new ValidationError("OPENING_STOCK_INVALID", `Opening stock ${JSON.stringify(units)} for ${where} must be a whole number of units at or above 0`, "openingStock", units);
      }
    };
    const opening: Record<string, number> = {};
    const fallback = input.openingStock?.default ?? 0;
    checkUnits(fallback, "the default");
    for (const [sku, units] of Object.entries(input.openingStock?.skus ?? {})) checkUnits(units, `SKU ${sku}`);
    for (const sku of listSkus(this.#catalog.doc())) opening[sku] = fallback;
    for (const [sku, units] of Object.entries(input.openingStock?.skus ?? {})) {
      if (!(sku in opening)) {
        throw new ValidationError("SKU_UNKNOWN", `Opening stock names SKU ${sku}, which is not in the catalog`, "openingStock", sku);
      }
      opening[sku] = units;
    }
    const users = input.users ?? [];
    for (const user of users) {
      if (typeof user.id !== "string" || !/^[A-Za-z0-9_.-]{1,32}$/.test(user.id)) {
        throw new ValidationError("USER_ID_INVALID", `User id ${JSON.stringify(user.id)} must be 1-32 letters, digits, ., - or _`, "users");
      }
      if (!ROLES.includes(user.role)) {
        throw new ValidationError("ROLE_INVALID", `User ${user.id} has role ${JSON.stringify(user.role)}; use ${ROLES.join(" or ")}`, "users");
      }
      const problem = checkPinFormat(user.pin);
      if (problem) throw new ValidationError("PIN_INVALID", `User ${user.id}: ${problem}`, "users");
    }
    const cashRoundingIncrement =
      input.cashRoundingIncrement ?? taxProfile(str(this.#catalog.doc().country)).cashRoundingIncrement;
    if (!Number.isSafeInteger(cashRoundingIncrement) || cashRoundingIncrement < 0) {
      throw new ValidationError("CASH_ROUNDING_INVALID", `cashRoundingIncrement ${cashRoundingIncrement} must be a whole number of minor units at or above 0`, "cashRoundingIncrement");
    }
    const verifiers = await Promise.all(users.map((user) => makePinVerifier(user.pin)));
    const signingKeys = await Promise.all(users.map((user) => makeSigningKey(user.pin)));
    const writers = [...input.terminals.map((t) => t.id), RELAY_REPLICA];
    const marks = Object.fromEntries(input.terminals.map((t) => [t.id, 0]));
    const baseline = this.repo.create<StockBaselineDoc>(
      initStockBaseline({
        branch: input.id,
        epoch: 1,
        previousUrl: null,
        openedAt: new Date().toISOString(),
        businessDay: businessDayOf(new Date(), input.timeZone),
        stock: opening,
        applied: marks,
        windowApplied: marks,
        dayStartApplied: marks,
      }),
    );
    const conflicts = this.repo.create<ConflictsDoc>(initConflicts(input.id, writers));
    const ingest = this.repo.create<IngestDoc>(initIngest(input.id, input.terminals.map((t) => t.id)));
    const country = str(this.#catalog.doc().country);
    const scheme = input.fiscal?.scheme ?? DEFAULT_FOLIO_SCHEMES[country] ?? "assigned-at-validation";
    if (!FOLIO_SCHEMES.includes(scheme)) {
      throw new ValidationError("FOLIO_SCHEME_INVALID", `Folio scheme ${JSON.stringify(scheme)} is not one of ${FOLIO_SCHEMES.join(", ")}`, "fiscal.scheme");
    }
    const branchCode = input.fiscal?.branchCode ?? "001";
    if (!/^\d{3}$/.test(branchCode)) {
      throw new ValidationError("BRANCH_CODE_INVALID", `Fiscal branch code ${JSON.stringify(branchCode)} must be 3 digits`, "fiscal.branchCode");
    }
    const folios = this.repo.create<FoliosDoc>(
      initFolios({
        branch: input.id,
        scheme,
        branchCode,
        terminals: input.terminals.map((t) => t.id),
        ...(input.fiscal?.blockSize ? { blockSize: input.fiscal.blockSize } : {}),
        ...(input.fiscal?.lowWater !== undefined ? { lowWater: input.fiscal.lowWater } : {}),
      }),
    );
    const permissions = this.repo.create<PermissionsDoc>(initPermissions(input.id));
    permissions.change((doc) => {
      users.forEach((user, index) =>
        putUser(doc, { id: user.id, name: user.name, role: user.role, active: true }, verifiers[index]!, signingKeys[index]!),
      );
    });
    const directory = this.repo.create<DirectoryDoc>(
      initDirectory({
        branch: input.id,
        name: input.name,
        timeZone: input.timeZone,
        cashRoundingIncrement,
        catalogUrl: this.#catalog.url,
        conflictsUrl: conflicts.url,
        permissionsUrl: permissions.url,
        foliosUrl: folios.url,
        ingestUrl: ingest.url,
        baselineUrl: baseline.url,
        terminals: input.terminals,
      }),
    );
    const created = [baseline, conflicts, ingest, permissions, folios, directory];
    for (const handle of created) this.#assign(handle.documentId, input.id);
    await this.repo.flush(created.map((handle) => handle.documentId));
    const urls = { directoryUrl: directory.url, conflictsUrl: conflicts.url, ingestUrl: ingest.url };
    this.#state.branches[input.id] = { ...urls, terminals: input.terminals.map((t) => t.id) };
    await this.#saveState();
    await this.#openBranch(input.id, urls);
    this.log.info({ branch: input.id, terminals: writers.length - 1, skus: Object.keys(opening).length }, "branch created");
    return { branch: input.id, directoryUrl: directory.url };
  }

  /** Adds or replaces a user of a branch, storing only the PIN's verifier. */
  async putUser(branchId: string, user: UserInput) {
    const branch = this.branches.get(branchId);
    if (!branch) throw new ValidationError("BRANCH_UNKNOWN", `No branch ${branchId} on this relay`, "branch", branchId);
    if (typeof user?.id !== "string" || !/^[A-Za-z0-9_.-]{1,32}$/.test(user.id)) {
      throw new ValidationError("USER_ID_INVALID", `User id ${JSON.stringify(user?.id)} must be 1-32 letters, digits, ., - or _`, "id");
    }
    if (!ROLES.includes(user.role)) {
      throw new ValidationError("ROLE_INVALID", `Role ${JSON.stringify(user.role)} is not ${ROLES.join(" or ")}`, "role");
    }
    const problem = checkPinFormat(user.pin);
    if (problem) throw new ValidationError("PIN_INVALID", `User ${user.id}: ${problem}`, "pin");
    const verifier = await makePinVerifier(user.pin);
    const signing = await makeSigningKey(user.pin);
    branch.permissions.change((doc) =>
      putUser(doc, { id: user.id, name: String(user.name ?? user.id), role: user.role, active: true }, verifier, signing),
    );
    await this.repo.flush([branch.permissions.documentId]);
    this.log.info({ branch: branchId, user: user.id, role: user.role }, "user saved");
    return { id: user.id, role: user.role };
  }

  branchSummaries() {
    return [...this.branches.values()].map((branch) => branch.summary(this.contacts));
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
