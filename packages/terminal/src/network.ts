import { cbor } from "@automerge/automerge-repo";
import { WebSocketClientAdapter, WebSocketServerAdapter } from "@automerge/automerge-repo-network-websocket";
import type { Logger } from "pino";
import type { PerMessageDeflateOptions } from "ws";

/** zlib settings of every sync websocket's deflate, at the relay and at a terminal's client. */
const SYNC_ZLIB_OPTIONS = { level: 1, memLevel: 5 };

/**
 * Compression settings (permessage-deflate) for the relay's sync websocket
 * server. A terminal's LAN server does not compress. The ws client that
 * automerge-repo uses offers the extension by default. Sync messages carry
 * record text (hex hashes and signatures, SKUs, names) that deflate
 * shrinks, and messages under the threshold (heads only) are sent as they
 * are.
 * The relay keeps thousands of sockets open, so each socket's zlib state
 * stays small: 4 KiB windows both ways and memLevel 5 put its deflate near
 * 32 KiB and its inflate near 11 KiB, against about 256 KiB and 39 KiB with
 * zlib's defaults (estimates from zlib's memory formula).
 * It uses level 1, zlib's fastest, because the relay compresses every
 * message it sends to every terminal. In the catch-up bench (8,000 tickets), level 6
 * took a median of 4.67 s and sent 524-724 bytes per ticket. Level 1 took
 * 4.22 s and sent 611-724.
 */
export const SYNC_DEFLATE: PerMessageDeflateOptions = {
  threshold: 512,
  serverMaxWindowBits: 12,
  clientMaxWindowBits: 12,
  zlibDeflateOptions: SYNC_ZLIB_OPTIONS,
};

/**
 * Compression settings that a terminal's websocket client offers, with the
 * relay's zlib settings. A terminal back from an outage compresses its
 * whole ledger while it goes on selling. In alternated catch-up runs
 * (8,000 tickets), clients at level 1 took 4.13-4.43 s, against
 * 4.41-4.61 s at zlib's default level. A LAN server declines the offer.
 */
export const SYNC_CLIENT_DEFLATE: PerMessageDeflateOptions = {
  zlibDeflateOptions: SYNC_ZLIB_OPTIONS,
};

/** The four bytes that open every Automerge storage chunk: a saved document, a change, a compressed change. */
const CHUNK_MAGIC = Buffer.from([0x85, 0x6f, 0x4a, 0x83]);

/** Offset of a chunk's type byte from its magic bytes (the magic, then a 4-byte checksum). */
const CHUNK_TYPE_OFFSET = 8;

/** Chunk type of a saved document, whose columns Automerge has already deflated. */
const DOCUMENT_CHUNK = 0;

/** The part of a ws socket that sending uses. */
interface SyncSocket {
  readyState: number;
  send(data: Uint8Array, options: { compress: boolean }): void;
}

/**
 * Returns whether permessage-deflate should compress `bytes`, an encoded
 * sync message: false when its first Automerge chunk is a saved document.
 * Automerge sends a peer that lacks much of a document the whole document
 * in one saved chunk, whose columns it has already deflated (a ledger
 * written offline, the catalog for a new terminal). Deflating that again
 * saved 0.25% of the catch-up bench's bytes for about 0.1 s of CPU at each
 * end. Messages of changes carry record text, which deflate still shrinks.
 * Chunks follow the heads and bloom filters, so the first magic bytes
 * found open the first chunk.
 */
export function worthCompressing(bytes: Uint8Array): boolean {
  if (bytes.byteLength < (SYNC_DEFLATE.threshold ?? 0)) return true;
  const at = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(CHUNK_MAGIC);
  return at < 0 || bytes[at + CHUNK_TYPE_OFFSET] !== DOCUMENT_CHUNK;
}

/** Encodes `message` and sends it on `socket`, compressed when `worthCompressing` returns true. */
function sendEncoded(socket: SyncSocket, message: object): void {
  const bytes = cbor.encode(message);
  socket.send(bytes, { compress: worthCompressing(bytes) });
}

/** How long a websocket handshake may go on before a retry closes it and starts another. */
export const HANDSHAKE_TIMEOUT_MS = 30_000;

/** `readyState` of a websocket whose handshake has not finished. */
const CONNECTING = 0;
/** `readyState` of an open websocket. */
const OPEN = 1;

/**
 * A websocket client adapter that treats every socket error as a lost
 * connection. The stock client adapter rethrows any error other than
 * ECONNREFUSED from its event listener, which ends the process on an
 * ordinary outage (ECONNRESET, ETIMEDOUT, EHOSTUNREACH).
 * It also lets a slow handshake finish. The stock adapter starts a new
 * socket every retry interval until one opens, and leaves the one still
 * connecting open with no listeners. On a link or a relay slower than the
 * interval, each retry left one more idle socket open at the relay.
 */
export class ResilientWebSocketClientAdapter extends WebSocketClientAdapter {
  #attemptStartedAt = 0;
  readonly #handshakeTimeoutMs: number;
  readonly #carryEphemeral: boolean;

  /**
   * `makeUrl`, when given, is called before every connection attempt, so a
   * short-lived device token in the URL is fresh each time. A handshake
   * still going on at a retry is left to finish until `handshakeTimeoutMs`.
   * With `carryEphemeral: false` the adapter sends no ephemeral message (the
   * clock broadcast). A link to the relay sets it, because the relay reads none.
   */
  constructor(
    url: string,
    retryIntervalMs: number,
    private readonly log: Logger,
    private readonly makeUrl?: () => string,
    options: { handshakeTimeoutMs?: number; carryEphemeral?: boolean } = {},
  ) {
    super(url, retryIntervalMs);
    // The patch in patches/ passes socketOptions to each new ws client.
    this.socketOptions = { perMessageDeflate: SYNC_CLIENT_DEFLATE };
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    this.#carryEphemeral = options.carryEphemeral ?? true;
    const self = this as unknown as { onError: (event: unknown) => void };
    let lastCode: string | null = null;
    self.onError = (event: unknown) => {
      const code = (event as { error?: NodeJS.ErrnoException })?.error?.code ?? "unknown";
      // Log each kind of failure once per run of failures, not every retry.
      if (code !== lastCode) log.debug({ url, code }, "websocket connection failed, retrying");
      lastCode = code;
    };
  }

  /**
   * Sends a message, compressed when `worthCompressing` returns true. Drops it
   * when the socket is not open, instead of throwing into automerge-repo,
   * because sync resends on reconnect.
   */
  override send(message: Parameters<WebSocketClientAdapter["send"]>[0]): void {
    if (message.type === "ephemeral" && !this.#carryEphemeral) return;
    const socket = this.socket as unknown as SyncSocket | undefined;
    if (!socket || socket.readyState !== OPEN) {
      this.log.debug({ url: this.url, type: message.type, state: socket?.readyState ?? null }, "message dropped: websocket not open");
      return;
    }
    if ("data" in message && message.data?.byteLength === 0) {
      const documentId = "documentId" in message ? message.documentId : null;
      this.log.warn({ url: this.url, type: message.type, documentId }, "empty sync message dropped: automerge-repo sent a message with no data");
      return;
    }
    sendEncoded(socket, message);
  }

  /** Disconnects, ignoring an adapter that never connected. */
  override disconnect(): void {
    try {
      super.disconnect();
    } catch (error) {
      this.log.debug({ err: error, url: this.url }, "disconnect of an adapter that was not connected");
    }
  }

  /**
   * Starts a connection attempt now instead of at the next retry. Returns
   * false when a socket is open or still connecting, or when the network
   * subsystem has not connected this adapter yet.
   */
  retryNow(): boolean {
    const socket = this.socket as { readyState: number } | undefined;
    if (!this.peerId || (socket && socket.readyState <= OPEN)) return false;
    this.connect(this.peerId, this.peerMetadata);
    return true;
  }

  override connect(...args: Parameters<WebSocketClientAdapter["connect"]>): void {
    const previous = this.socket as { readyState: number; close(): void } | undefined;
    if (previous?.readyState === CONNECTING) {
      if (Date.now() - this.#attemptStartedAt < this.#handshakeTimeoutMs) return;
      this.log.debug({ url: this.url, afterMs: Date.now() - this.#attemptStartedAt }, "websocket handshake timed out, connecting again");
      // Closing a socket that is still connecting aborts its handshake. Its
      // listeners are removed below before the close event fires.
      previous.close();
    }
    this.#attemptStartedAt = Date.now();
    if (this.makeUrl) (this as { url: string }).url = this.makeUrl();
    super.connect(...args);
    // The stock adapter drops its listeners from a socket it replaces on
    // reconnect; a late error on that socket (a 401 answer, a reset) would
    // then be an unhandled 'error' event that ends the process.
    (this.socket as unknown as { on?: (event: string, listener: () => void) => void } | undefined)?.on?.("error", () => undefined);
  }
}

/**
 * A websocket server adapter that is ready as soon as it exists. The stock
 * server adapter reports ready only after its first client connects, and
 * automerge-repo waits for every adapter to be ready before it loads a
 * document from storage, so a terminal with no LAN peer, or a relay with no
 * terminal, would never load its own documents.
 */
export class ListeningWebSocketServerAdapter extends WebSocketServerAdapter {
  override isReady(): boolean {
    return true;
  }

  override whenReady(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * A server adapter that accepts messages only from the peer id each socket
 * proved when it connected. `peerOf` returns that id (set at the upgrade
 * after the device token was checked); a socket with none, or a message
 * that claims another sender, closes the connection.
 */
export class AuthenticatedWebSocketServerAdapter extends ListeningWebSocketServerAdapter {
  readonly #carryEphemeral: boolean;

  /**
   * Pings every socket each `keepAliveMs` and closes a socket that sent
   * nothing (no pong, no message) for `missedPingsAllowed` + 1 rounds in a
   * row, so a silent peer is dropped within `missedPingsAllowed` + 2 rounds.
   * The patch in `patches/` adds the count of missed rounds.
   * With `carryEphemeral: false` it drops every ephemeral message it
   * receives, so automerge-repo neither reads nor forwards them.
   */
  constructor(
    server: ConstructorParameters<typeof WebSocketServerAdapter>[0],
    private readonly peerOf: (socket: object) => string | null,
    private readonly onForgery: (peerId: string | null, claimed: string) => void,
    keepAliveMs = 5000,
    missedPingsAllowed = 0,
    options: { carryEphemeral?: boolean } = {},
  ) {
    super(server, keepAliveMs, missedPingsAllowed);
    this.#carryEphemeral = options.carryEphemeral ?? true;
  }

  override receiveMessage(messageBytes: Uint8Array, socket: Parameters<WebSocketServerAdapter["receiveMessage"]>[1]): void {
    let senderId = "";
    let type = "";
    try {
      const decoded = cbor.decode(messageBytes) as { senderId?: unknown; type?: unknown };
      senderId = String(decoded.senderId ?? "");
      type = String(decoded.type ?? "");
    } catch {
      // Let the stock adapter reject the malformed message.
      super.receiveMessage(messageBytes, socket);
      return;
    }
    const bound = this.peerOf(socket);
    // automerge-repo forwards ephemeral messages with their first sender's id,
    // so only sync, join and request messages must carry the socket's own id.
    // NOTE: an ephemeral message (the clock broadcast) can therefore name
    // another sender; nothing that decides access or stores data reads it.
    const forwarded = type === "ephemeral" && bound !== null;
    if (bound === null || (senderId !== bound && !forwarded)) {
      this.onForgery(bound, senderId);
      socket.close();
      return;
    }
    if (forwarded && !this.#carryEphemeral) return;
    super.receiveMessage(messageBytes, socket);
  }

  /** Sends a message, compressed when `worthCompressing` returns true. */
  override send(message: Parameters<WebSocketServerAdapter["send"]>[0]): void {
    const socket = this.sockets[message.targetId] as unknown as SyncSocket | undefined;
    // The stock adapter logs a message to a peer with no socket and rejects an empty one.
    if (!socket || ("data" in message && message.data?.byteLength === 0)) {
      super.send(message);
      return;
    }
    sendEncoded(socket, message);
  }
}
