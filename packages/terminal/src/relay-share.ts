import * as A from "@automerge/automerge";
import type { DocumentId, PeerId, Repo } from "@automerge/automerge-repo";
import { findDocument } from "@mercora/crdt-model";
import type { Logger } from "pino";

/**
 * How long the relay's acknowledgement mark of a peer must stay unchanged,
 * while this terminal is connected and has newer records of that peer,
 * before this terminal sends that peer's ledgers to the relay itself. It
 * applies when the peer's directory entry shows it offline; otherwise the
 * wait is `ONLINE_FORWARD_FACTOR` times longer.
 */
export const DEFAULT_FORWARD_AFTER_MS = 10_000;

/**
 * Factor on the forwarding wait for a peer that its directory entry shows
 * online: its own upload may only be slow, and a second upload of the same
 * ledger would load the store's uplink and the relay further. The longer
 * wait still covers a peer that stopped before it could report an outage.
 */
export const ONLINE_FORWARD_FACTOR = 6;

/** How long a peer ledger fetched for a lookup goes on syncing with the relay, for the lookups that follow. */
export const LOOKUP_SYNC_MS = 60_000;

/** Maximum wait of a lookup for a peer ledger not held here, which the relay may not have either. */
const MISSING_WAIT_MS = 1000;

/** LAN peers are other terminals; every other peer id is the relay. */
export function isLanPeer(peerId: PeerId | string): boolean {
  return peerId.startsWith("terminal:");
}

/** Progress of one peer terminal as read on this terminal, for forwarding. */
export interface PeerProgress {
  terminal: string;
  /** Highest sequence number of the peer's records held here. */
  heldSeq: number;
  /** The relay's acknowledgement mark of the peer. */
  ackedSeq: number;
  /** True while the peer's directory entry shows an open offline period. */
  offline: boolean;
}

/** The branch directory as `RelayShare` reads it. */
export interface BranchDocuments {
  /** Owner terminal of each peer ledger, by document id. */
  peerLedgers: ReadonlyMap<string, string>;
  /** The branch's shared documents and this terminal's own ledgers. */
  shared: ReadonlySet<string>;
}

/**
 * Decides which peer ledgers this terminal syncs with the relay. A
 * terminal gets its peers' ledgers over the LAN; the relay does not copy
 * them to every terminal of the store, because their sales already reach
 * each terminal's available stock through the stock baseline the relay
 * publishes. A peer ledger syncs with the relay only:
 * - after a lookup asked for it (`fetch`): a refund, a void or a Z report
 *   that reads records of another terminal;
 * - when this terminal has records of that peer which the relay has not
 *   acknowledged for `forwardAfterMs` (`updateForwarding`): the peer has no
 *   WAN of its own, so this terminal carries its records up.
 * A fetched ledger stops syncing `LOOKUP_SYNC_MS` after its last lookup,
 * and a forwarded peer's ledgers once the relay has acknowledged the
 * records this terminal has and the peer no longer shows an outage. This terminal
 * then refuses the relay's next message of that ledger, and the relay (as
 * patched in patches/) stops sending it changes. A document first heard of from a LAN peer
 * and not listed in the directory (a peer's new ledger, most likely) waits
 * for the directory before it syncs with the relay. Every other document
 * (own ledgers, the branch's shared documents, the catalog) always syncs,
 * and LAN peers get everything.
 */
export class RelayShare {
  #peerLedgers: ReadonlyMap<string, string> = new Map();
  #shared: ReadonlySet<string> = new Set();
  /** Documents first heard of from a LAN peer. */
  readonly #fromLan = new Set<string>();
  /** Peer ledgers fetched for a lookup, with the time they stop syncing with the relay. */
  readonly #synced = new Map<string, number>();
  /** Peer terminals whose ledgers this terminal sends to the relay. */
  readonly #forwarding = new Set<string>();
  /** Per peer terminal, the acknowledgement mark last seen and since when it is unchanged. */
  readonly #stalled = new Map<string, { ackedSeq: number; since: number }>();
  /** The relay's heads of each peer ledger, from the last sync message it sent. */
  readonly #relayHeads = new Map<string, A.Heads>();
  /** Peer ledgers with a sync message from the relay not yet applied here. */
  readonly #heard = new Set<string>();
  /** Peer ledgers whose relay heads are out of date: the relay sent a change while they did not sync. */
  readonly #outdated = new Set<string>();
  readonly #waiters = new Set<() => void>();
  #expiry: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(
    private readonly repo: Repo,
    private readonly log: Logger,
    private readonly forwardAfterMs: number = DEFAULT_FORWARD_AFTER_MS,
    private readonly lookupSyncMs: number = LOOKUP_SYNC_MS,
  ) {
    repo.networkSubsystem.on("message", (message) => {
      const documentId = "documentId" in message ? (message.documentId as string | undefined) : undefined;
      if (!documentId) return;
      if (isLanPeer(message.senderId)) {
        // This listener runs before the repo opens a handle for a document it did not hold.
        if (!repo.handles[documentId as DocumentId]) this.#fromLan.add(documentId);
      } else if (this.#peerLedgers.has(documentId)) {
        // A message of a ledger that does not sync now is refused, so the relay has changes not held here.
        if (this.offers(message.senderId, documentId as DocumentId)) this.#heard.add(documentId);
        else this.#outdated.add(documentId);
      }
    });
    // A sync state is also set when a message to the relay is made, or when sync begins from one kept in
    // storage, so only the state after a message from the relay shows what the relay has now.
    repo.synchronizer.on("sync-state", ({ peerId, documentId, syncState }) => {
      if (isLanPeer(peerId) || !syncState.theirHeads || !this.#heard.delete(documentId)) return;
      this.#relayHeads.set(documentId, syncState.theirHeads);
      for (const wake of [...this.#waiters]) wake();
    });
    repo.networkSubsystem.on("peer-disconnected", ({ peerId }) => {
      if (isLanPeer(peerId)) return;
      this.#synced.clear();
      this.#forwarding.clear();
      this.#stalled.clear();
      this.#relayHeads.clear();
      this.#heard.clear();
      this.#outdated.clear();
      // A lookup waiting for the relay reads what is held here now.
      for (const wake of [...this.#waiters]) wake();
    });
  }

  /** Takes the peer ledgers and shared documents the branch directory lists now. */
  setBranchDocuments(documents: BranchDocuments): void {
    // A shared document first heard of from a LAN peer starts syncing with the relay now that the directory lists
    // it, and so does a new ledger of a peer whose ledgers this terminal forwards (its next business day's).
    const newlyShared = [...this.#fromLan].some((id) => documents.shared.has(id) && !this.#shared.has(id));
    const newlyForwarded = [...documents.peerLedgers].some(([id, owner]) => this.#forwarding.has(owner) && !this.#peerLedgers.has(id));
    this.#peerLedgers = documents.peerLedgers;
    this.#shared = documents.shared;
    if (newlyShared || newlyForwarded) this.repo.shareConfigChanged();
  }

  /** Returns whether `documentId` syncs with `peerId`: the repo's announce and access policies. */
  offers(peerId: PeerId, documentId: DocumentId | undefined): boolean {
    if (isLanPeer(peerId) || documentId === undefined) return true;
    const owner = this.#peerLedgers.get(documentId);
    if (owner !== undefined) return (this.#synced.get(documentId) ?? 0) > Date.now() || this.#forwarding.has(owner);
    return this.#shared.has(documentId) || !this.#fromLan.has(documentId);
  }

  /** True while the relay is connected. */
  get relayConnected(): boolean {
    return this.repo.peers.some((peer) => !isLanPeer(peer));
  }

  /**
   * Syncs `documentIds` (peer ledgers) with the relay for the next
   * `lookupSyncMs` (`LOOKUP_SYNC_MS` by default), and waits at most `timeoutMs` until each one is
   * loaded here and contains the relay's last reported heads. Returns at
   * once when the relay is not connected: a lookup offline reads what the
   * LAN brought.
   */
  async fetch(documentIds: readonly string[], timeoutMs: number): Promise<void> {
    if (this.#closed || !this.relayConnected) return;
    const now = Date.now();
    const deadline = now + timeoutMs;
    const ledgers = documentIds.filter((id) => this.#peerLedgers.has(id));
    const added = ledgers.filter((id) => !((this.#synced.get(id) ?? 0) > now));
    for (const documentId of ledgers) this.#synced.set(documentId, now + this.lookupSyncMs);
    // The relay sends nothing when a ledger that starts syncing again has not changed since it last sent it, and
    // then the heads it sent last still hold. When it did change, the relay's message was refused, so the heads
    // are dropped and the lookup waits for its reply (the refusal reset what the relay counts as sent).
    for (const documentId of added) {
      if (!this.#outdated.delete(documentId)) continue;
      this.#relayHeads.delete(documentId);
      this.#heard.delete(documentId);
    }
    this.#scheduleExpiry();
    if (added.length > 0) this.repo.shareConfigChanged();
    // A ledger that never came over the LAN is requested from the relay now, for at most `MISSING_WAIT_MS`: one
    // the relay does not have either is left out of the wait.
    const missing = ledgers.filter((id) => !this.repo.handles[id as DocumentId]?.isReady());
    const findMs = Math.max(1, Math.min(MISSING_WAIT_MS, deadline - Date.now()));
    await Promise.all(missing.map((id) => findDocument(this.repo, id as DocumentId, { timeoutMs: findMs, retryMs: 100 }).catch(() => null)));
    const loaded = ledgers.filter((id) => this.repo.handles[id as DocumentId]?.isReady());
    const synced = () => loaded.every((id) => this.#holdsRelayHeads(id));
    if (synced() || !this.relayConnected) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (synced() || this.#closed || !this.relayConnected) done();
      };
      const timer = setTimeout(() => {
        const lagging = loaded.filter((id) => !this.#holdsRelayHeads(id));
        this.log.warn({ ledgers: lagging, timeoutMs }, "timed out waiting for peer ledgers from the relay; reading the records held here");
        done();
      }, Math.max(1, deadline - Date.now()));
      this.#waiters.add(check);
    });
  }

  /**
   * Starts sending a peer's ledgers to the relay when this terminal has
   * records of the peer above the relay's mark, and the mark stayed
   * unchanged for `forwardAfterMs` while the relay was connected. For a
   * peer not shown offline the wait is `ONLINE_FORWARD_FACTOR` times longer.
   * Stops once the relay's mark covers what this terminal has and the peer
   * is not shown offline.
   */
  updateForwarding(peers: readonly PeerProgress[]): void {
    if (this.#closed) return;
    const connected = this.relayConnected;
    const now = Date.now();
    let changed = false;
    for (const peer of peers) {
      if (this.#forwarding.has(peer.terminal)) {
        if (peer.heldSeq <= peer.ackedSeq && !peer.offline) {
          this.#forwarding.delete(peer.terminal);
          changed = true;
          this.log.info({ peer: peer.terminal, ackedSeq: peer.ackedSeq }, "stopped forwarding a peer's ledgers: the relay has its records");
        }
        continue;
      }
      if (!connected || peer.heldSeq <= peer.ackedSeq) {
        this.#stalled.delete(peer.terminal);
        continue;
      }
      const stall = this.#stalled.get(peer.terminal);
      if (!stall || stall.ackedSeq !== peer.ackedSeq) {
        this.#stalled.set(peer.terminal, { ackedSeq: peer.ackedSeq, since: now });
      } else if (now - stall.since >= this.forwardAfterMs * (peer.offline ? 1 : ONLINE_FORWARD_FACTOR)) {
        this.#forwarding.add(peer.terminal);
        this.#stalled.delete(peer.terminal);
        changed = true;
        this.log.info(
          { peer: peer.terminal, heldSeq: peer.heldSeq, ackedSeq: peer.ackedSeq, peerOffline: peer.offline, unchangedMs: now - stall.since },
          "forwarding a peer's ledgers to the relay, which has not acknowledged records held here",
        );
      }
    }
    if (changed) this.repo.shareConfigChanged();
  }

  /** Peer terminals whose ledgers this terminal sends to the relay. */
  get forwarding(): ReadonlySet<string> {
    return this.#forwarding;
  }

  close(): void {
    this.#closed = true;
    if (this.#expiry) clearTimeout(this.#expiry);
    for (const wake of [...this.#waiters]) wake();
  }

  /** Stops syncing fetched ledgers with the relay at the earliest end of their time. */
  #scheduleExpiry(): void {
    if (this.#expiry) clearTimeout(this.#expiry);
    this.#expiry = null;
    if (this.#closed || this.#synced.size === 0) return;
    const next = Math.min(...this.#synced.values());
    this.#expiry = setTimeout(
      () => {
        this.#expiry = null;
        const now = Date.now();
        let expired = false;
        for (const [documentId, until] of this.#synced) {
          if (until > now) continue;
          // The relay heads stay known: a later lookup reads them when the relay has nothing new to send.
          this.#synced.delete(documentId);
          expired = true;
        }
        if (expired) this.repo.shareConfigChanged();
        this.#scheduleExpiry();
      },
      Math.max(0, next - Date.now()) + 10,
    );
    this.#expiry.unref();
  }

  #holdsRelayHeads(documentId: string): boolean {
    return this.#holds(documentId, this.#relayHeads.get(documentId));
  }

  /** True when the ledger is loaded here and contains `heads`. */
  #holds(documentId: string, heads: A.Heads | undefined): boolean {
    const handle = this.repo.handles[documentId as DocumentId];
    return heads !== undefined && handle !== undefined && handle.isReady() && A.hasHeads(handle.doc() as A.Doc<unknown>, heads);
  }
}
