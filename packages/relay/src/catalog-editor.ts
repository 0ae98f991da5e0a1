import { join } from "node:path";
import type { KeyObject } from "node:crypto";
import { Repo } from "@automerge/automerge-repo";
import type { DocHandle, DocumentId, PeerId } from "@automerge/automerge-repo";
import {
  DurableFileStorageAdapter,
  RuleError,
  applyProductEdit,
  editorPeerId,
  findDocument,
  makeEditorToken,
  parseProductEdit,
  readEditedFieldConflicts,
  readFieldConflicts,
  readCurrency,
  readProduct,
  readProductEdits,
} from "@mercora/crdt-model";
import type { CatalogDoc, EditableField, FieldConflict, FieldEdit } from "@mercora/crdt-model";
import { rejectEditOfConflictedField } from "@mercora/crdt-model";
import { ResilientWebSocketClientAdapter } from "@mercora/terminal";
import type { Logger } from "pino";
import { openEnrolledEditor } from "./catalog-editor-enrollment.ts";
import type { CatalogEditorState } from "./catalog-editor-enrollment.ts";
import { RELAY_REPLICA } from "./branch.ts";
import { lockDataFolder } from "./folder-lock.ts";

export interface CatalogEditorOptions {
  dataDir: string;
  /** Relay base URL; by default the one the editor was enrolled with. */
  relayUrl?: string | null;
  log: Logger;
  /** Connect to the relay; false opens the local replica only. Default true. */
  connect?: boolean;
  /** Time between websocket reconnection attempts, in milliseconds. Default 1000. */
  retryMs?: number;
  /** Time between checks of the relay's `/health`, which also measure its clock offset. Default 2000. */
  checkIntervalMs?: number;
  /** How long the first start waits for the catalog from the relay, in milliseconds. Default 60000. */
  bootstrapTimeoutMs?: number;
}

/**
 * An HQ catalog editor: its own encrypted Automerge replica of the
 * corporate catalog, on which an enrolled HQ user edits product fields
 * whether or not the relay is reachable. Edits are on disk when `edit`
 * returns and sync with the relay's `/sync` whenever it is reachable,
 * where concurrent edits of one field become catalog-edit conflicts.
 */
export class CatalogEditor {
  readonly repo: Repo;
  readonly log: Logger;
  readonly peerId: string;
  #catalog: DocHandle<CatalogDoc> | null = null;
  #adapter: ResilientWebSocketClientAdapter | null = null;
  #timer: NodeJS.Timeout | null = null;
  #relayConnected = false;
  #relayReachable = false;
  #offsetMs = 0;
  #lastSyncAt: string | null = null;

  private constructor(
    readonly state: CatalogEditorState,
    private readonly deviceKey: KeyObject,
    private readonly options: CatalogEditorOptions & { relayUrl: string },
    storageKey: Buffer,
    private readonly unlock: () => Promise<void>,
  ) {
    this.log = options.log;
    this.peerId = editorPeerId(state.user);
    const storage = new DurableFileStorageAdapter(join(options.dataDir, "automerge"), storageKey);
    storage.on("damaged", (chunk) => this.log.error({ key: chunk.key, movedTo: chunk.movedTo, reason: chunk.reason }, "damaged chunk moved aside"));
    this.repo = new Repo({
      storage,
      network: [],
      peerId: this.peerId as PeerId,
      // The editor's repo contains only the catalog, and the relay decides what it may fetch.
      sharePolicy: async () => true,
    });
    this.repo.networkSubsystem.on("peer", ({ peerId }) => this.#onPeer(peerId, true));
    this.repo.networkSubsystem.on("peer-disconnected", ({ peerId }) => this.#onPeer(peerId, false));
  }

  /** Opens an enrolled editor's data folder, which no other process may hold. */
  static async open(options: CatalogEditorOptions): Promise<CatalogEditor> {
    const { keystore, state } = await openEnrolledEditor(options.dataDir);
    const deviceKey = await keystore.deviceKey();
    if (!deviceKey) throw new Error(`Keystore of ${options.dataDir} has no device key; enroll the editor again in a new folder`);
    const unlock = await lockDataFolder(options.dataDir, "catalog editor");
    const relayUrl = (options.relayUrl ?? state.relayUrl).replace(/\/$/, "");
    return new CatalogEditor(state, deviceKey, { ...options, relayUrl }, keystore.storageKey, unlock);
  }

  /** Connects to the relay and loads the catalog, from disk or, on a first start, from the relay. */
  async start(): Promise<void> {
    if (this.options.connect !== false) this.#connect();
    this.#catalog = await findDocument<CatalogDoc>(this.repo, this.state.catalogUrl as DocumentId, {
      timeoutMs: this.options.bootstrapTimeoutMs ?? 60_000,
    });
    this.#catalog.on("remote-heads", () => this.#noteSync());
    await this.repo.flush([this.#catalog.documentId]);
    this.log.info({ user: this.state.user, products: Object.keys(this.#doc().products).length }, "catalog editor started");
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const adapter = this.#adapter;
    this.#adapter = null;
    if (adapter) {
      try {
        this.repo.networkSubsystem.removeNetworkAdapter(adapter);
        adapter.disconnect();
      } catch (error) {
        this.log.debug({ err: error }, "removing the relay adapter failed");
      }
    }
    await this.repo.flush().catch((error) => this.log.error({ err: error }, "flush at stop failed"));
    await this.repo.shutdown().catch(() => undefined);
    await this.unlock();
  }

  #connect(): void {
    const wsUrl = `${this.options.relayUrl.replace(/^http/, "ws")}/sync`;
    const withToken = () => `${wsUrl}?token=${makeEditorToken(this.deviceKey, { editor: this.state.user, issuedAt: Date.now() + this.#offsetMs })}`;
    this.#adapter = new ResilientWebSocketClientAdapter(wsUrl, this.options.retryMs ?? 1000, this.log, withToken, { carryEphemeral: false });
    this.repo.networkSubsystem.addNetworkAdapter(this.#adapter);
    this.#timer = setInterval(() => void this.#checkRelay(), this.options.checkIntervalMs ?? 2000);
    void this.#checkRelay();
  }

  /** Asks the relay's `/health`, which gives reachability and the relay's clock for the token time. */
  async #checkRelay(): Promise<void> {
    const sentMs = Date.now();
    try {
      const response = await fetch(`${this.options.relayUrl}/health`, { signal: AbortSignal.timeout(1500) });
      const body = (await response.json()) as { time?: unknown };
      if (typeof body.time === "number") this.#offsetMs = Math.round(body.time - (sentMs + Date.now()) / 2);
      this.#setReachable(response.ok);
    } catch {
      this.#setReachable(false);
    }
  }

  #setReachable(reachable: boolean): void {
    if (reachable === this.#relayReachable) return;
    this.#relayReachable = reachable;
    this.log.info({ relay: this.options.relayUrl }, reachable ? "relay reachable" : "relay unreachable: editing locally");
  }

  #onPeer(peerId: string, connected: boolean): void {
    if (peerId !== RELAY_REPLICA) return;
    this.#relayConnected = connected;
    this.log.info({ peerId }, connected ? "connected to the relay" : "disconnected from the relay");
  }

  #noteSync(): void {
    if (this.synced()) this.#lastSyncAt = new Date().toISOString();
  }

  #doc(): CatalogDoc {
    if (!this.#catalog) throw new Error("The catalog editor is not started; call start() first");
    return this.#catalog.doc();
  }

  /** Reads a product with the stamp of each edited field and its concurrent values in this replica. */
  product(sku: string) {
    const doc = this.#doc();
    const product = readProduct(doc, sku);
    if (!product) throw productNotFound(sku);
    return { product, edits: readProductEdits(doc, sku), conflicts: readFieldConflicts(doc, sku) };
  }

  /** Counts the products of this replica's catalog. */
  productCount(): number {
    return Object.keys(this.#doc().products).length;
  }

  /** Reads the catalog's currency and its minor unit digits. */
  currency() {
    return readCurrency(this.#doc());
  }

  /** Lists the fields that have concurrent values in this replica. */
  conflicts(): FieldConflict[] {
    return readEditedFieldConflicts(this.#doc());
  }

  /**
   * Edits one product's fields (prices in minor units) as the enrolled user
   * and writes the change to disk before returning. Only fields whose value
   * changes are written. An edit of a field that has concurrent values is rejected
   * until a manager chooses one at HQ.
   */
  async edit(sku: string, fields: unknown): Promise<{ sku: string; changed: EditableField[]; product: ReturnType<typeof readProduct> }> {
    const handle = this.#catalog;
    const doc = this.#doc();
    if (!readProduct(doc, sku)) throw productNotFound(sku);
    const edit = parseProductEdit(doc, fields);
    rejectEditOfConflictedField(doc, sku, edit, (field) => `POST /api/hq/catalog/conflicts/${sku}/${field}/choice on the relay`);
    if (!doc.fieldEdits) {
      throw new RuleError("CATALOG_OUTDATED", "This replica's catalog predates edit stamps; sync with the relay once, then edit", null);
    }
    const stamp: FieldEdit = {
      kind: "edit",
      user: this.state.user,
      userName: this.state.name,
      source: this.peerId,
      at: new Date(Date.now() + this.#offsetMs).toISOString(),
      reason: null,
      conflictId: null,
    };
    let changed: EditableField[] = [];
    handle!.change((catalog) => {
      changed = applyProductEdit(catalog, sku, edit, stamp);
    });
    await this.repo.flush([handle!.documentId]);
    if (changed.length > 0) this.log.info({ sku, fields: changed, relayConnected: this.#relayConnected }, "catalog product edited");
    return { sku, changed, product: readProduct(this.#doc(), sku) };
  }

  /**
   * Checks whether the relay has exactly this replica's catalog, as its
   * latest sync message reported: then every local edit has reached it.
   */
  synced(): boolean {
    const storageId = this.repo.getStorageIdOfPeer(RELAY_REPLICA as PeerId);
    if (!storageId || !this.#catalog || !this.#relayConnected) return false;
    const relayHeads = this.#catalog.getSyncInfo(storageId)?.lastHeads;
    const heads = this.#catalog.heads();
    return relayHeads !== undefined && relayHeads.length === heads.length && heads.every((h) => relayHeads.includes(h));
  }

  /** Waits until the relay has this replica's catalog, for at most `timeoutMs`; returns whether it does. */
  async waitForSync(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.synced()) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return this.synced();
  }

  status() {
    return {
      user: this.state.user,
      name: this.state.name,
      peerId: this.peerId,
      relayUrl: this.options.relayUrl,
      relayReachable: this.#relayReachable,
      relayConnected: this.#relayConnected,
      synced: this.synced(),
      lastSyncAt: this.#lastSyncAt,
      heads: this.#catalog?.heads() ?? [],
      conflicts: this.#catalog ? this.conflicts().length : 0,
    };
  }
}

function productNotFound(sku: string): Error {
  return Object.assign(new Error(`No product with SKU ${sku} in the catalog; check the SKU`), { statusCode: 404, code: "PRODUCT_UNKNOWN" });
}
