import * as A from "@automerge/automerge";
import type { DocumentId, PeerId, Repo } from "@automerge/automerge-repo";
import type { Logger } from "pino";

/**
 * How long the relay's acknowledgement mark of a peer must stay unchanged,
 * while this terminal is connected and has newer records of that peer,
 * before this terminal sends that peer's ledgers to the relay itself.
 */
export const DEFAULT_FORWARD_AFTER_MS = 10_000;

/** LAN peers are other terminals; every other peer id is the relay. */
export function isLanPeer(peerId: PeerId | string): boolean {
  return peerId.startsWith("terminal:");
}

/** Progress of one peer terminal as this terminal sees it, for forwarding. */
export interface PeerProgress {
  terminal: string;
  /** Highest sequence number of the peer's records held here. */
  heldSeq: number;
  /** The relay's acknowledgement mark of the peer. */
  ackedSeq: number;
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
 * Once a peer ledger syncs with the relay it goes on until the relay
 * disconnects, because the relay keeps sending a peer the changes of a
 * document that peer asked for. A document first heard of from a LAN peer
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
  /** Peer ledgers that sync with the relay until it disconnects. */
  readonly #synced = new Set<string>();
  /** Peer terminals whose ledgers this terminal sends to the relay, until it disconnects. */
  readonly #forwarding = new Set<string>();
  /** Per peer terminal, the acknowledgement mark last seen and since when it is unchanged. */
  readonly #stalled = new Map<string, { ackedSeq: number; since: number }>();
  /** The relay's heads of each peer ledger, from the last sync message it sent. */
  readonly #relayHeads = new Map<string, A.Heads>();
  /** Peer ledgers with a sync message from the relay not yet applied here. */
  readonly #heard = new Set<string>();
  readonly #waiters = new Set<() => void>();
  #closed = false;

  constructor(
    private readonly repo: Repo,
    private readonly log: Logger,
    private readonly forwardAfterMs: number = DEFAULT_FORWARD_AFTER_MS,
  ) {
    repo.networkSubsystem.on("message", (message) => {
      const documentId = "documentId" in message ? (message.documentId as string | undefined) : undefined;
      if (!documentId) return;
      if (isLanPeer(message.senderId)) {
        // This listener runs before the repo opens a handle for a document it did not hold.
        if (!repo.handles[documentId as DocumentId]) this.#fromLan.add(documentId);
      } else if (this.#peerLedgers.has(documentId)) {
        this.#heard.add(documentId);
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
    });
  }

  /** Takes the peer ledgers and shared documents the branch directory lists now. */
  setBranchDocuments(documents: BranchDocuments): void {
    const news = [...this.#fromLan].some((id) => documents.shared.has(id) && !this.#shared.has(id));
    this.#peerLedgers = documents.peerLedgers;
    this.#shared = documents.shared;
    // A shared document first heard of from a LAN peer starts syncing with the relay now that the directory lists it.
    if (news) this.repo.shareConfigChanged();
  }

  /** Returns whether `documentId` syncs with `peerId`: the repo's announce and access policies. */
  offers(peerId: PeerId, documentId: DocumentId | undefined): boolean {
    if (isLanPeer(peerId) || documentId === undefined) return true;
    const owner = this.#peerLedgers.get(documentId);
    if (owner !== undefined) return this.#synced.has(documentId) || this.#forwarding.has(owner);
    return this.#shared.has(documentId) || !this.#fromLan.has(documentId);
  }

  /** True while the relay is connected. */
  get relayConnected(): boolean {
    return this.repo.peers.some((peer) => !isLanPeer(peer));
  }

  /**
   * Syncs `documentIds` (peer ledgers) with the relay from now until it
   * disconnects, and waits at most `timeoutMs` until each one that is open
   * here contains the relay's last reported heads. Ledgers not open yet
   * are requested from the relay when they are next looked up. Returns at
   * once when the relay is not connected: a lookup offline reads what the
   * LAN brought.
   */
  async fetch(documentIds: readonly string[], timeoutMs: number): Promise<void> {
    if (this.#closed || !this.relayConnected) return;
    const ledgers = documentIds.filter((id) => this.#peerLedgers.has(id));
    const added = ledgers.filter((id) => !this.#synced.has(id));
    for (const documentId of added) this.#synced.add(documentId);
    if (added.length > 0) this.repo.shareConfigChanged();
    const open = ledgers.filter((id) => this.repo.handles[id as DocumentId]?.isReady());
    const synced = () => open.every((id) => this.#holdsRelayHeads(id));
    if (synced()) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (synced() || this.#closed) done();
      };
      const timer = setTimeout(() => {
        const lagging = open.filter((id) => !this.#holdsRelayHeads(id));
        this.log.warn({ ledgers: lagging, timeoutMs }, "peer ledgers not synced with the relay in time; reading the records held here");
        done();
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /**
   * Starts sending a peer's ledgers to the relay when this terminal has
   * records of the peer above the relay's mark and the mark stayed
   * unchanged for `forwardAfterMs` while the relay was connected.
   */
  updateForwarding(peers: readonly PeerProgress[]): void {
    if (this.#closed) return;
    const connected = this.relayConnected;
    const now = Date.now();
    let started = false;
    for (const peer of peers) {
      if (!connected || peer.heldSeq <= peer.ackedSeq || this.#forwarding.has(peer.terminal)) {
        this.#stalled.delete(peer.terminal);
        continue;
      }
      const stall = this.#stalled.get(peer.terminal);
      if (!stall || stall.ackedSeq !== peer.ackedSeq) {
        this.#stalled.set(peer.terminal, { ackedSeq: peer.ackedSeq, since: now });
      } else if (now - stall.since >= this.forwardAfterMs) {
        this.#forwarding.add(peer.terminal);
        this.#stalled.delete(peer.terminal);
        started = true;
        this.log.info(
          { peer: peer.terminal, heldSeq: peer.heldSeq, ackedSeq: peer.ackedSeq, unchangedMs: now - stall.since },
          "forwarding a peer's ledgers to the relay, which has not acknowledged records held here",
        );
      }
    }
    if (started) this.repo.shareConfigChanged();
  }

  /** Peer terminals whose ledgers this terminal sends to the relay. */
  get forwarding(): ReadonlySet<string> {
    return this.#forwarding;
  }

  close(): void {
    this.#closed = true;
    for (const wake of [...this.#waiters]) wake();
  }

  #holdsRelayHeads(documentId: string): boolean {
    const heads = this.#relayHeads.get(documentId);
    const handle = this.repo.handles[documentId as DocumentId];
    return heads !== undefined && handle !== undefined && handle.isReady() && A.hasHeads(handle.doc() as A.Doc<unknown>, heads);
  }
}
