import type { Repo } from "@automerge/automerge-repo";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { AuthenticatedWebSocketServerAdapter, ResilientWebSocketClientAdapter } from "./network.ts";

/** The peer id in a device token of a URL, read without checking it again. */
function peerIdFromUrl(url: string): string | null {
  const token = new URL(url, "ws://lan").searchParams.get("token");
  const body = token?.split(".")[0];
  if (!body) return null;
  try {
    return String((JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as { peerId?: unknown }).peerId ?? "") || null;
  } catch {
    return null;
  }
}

export interface LanPeer {
  id: string;
  url: string;
}

/**
 * The terminal's side of the store LAN: a websocket server for peers that
 * dial in, and one client per peer this terminal dials. Each pair of
 * terminals keeps one connection: a terminal dials directory peers only
 * when their id sorts after its own, and each peer id at most once.
 */
export class LanNetwork {
  #server: WebSocketServer | null = null;
  #listenUrl: string | null = null;
  #serverAdapter: AuthenticatedWebSocketServerAdapter | null = null;
  readonly #dialed = new Map<string, ResilientWebSocketClientAdapter>();

  readonly #socketPeers = new WeakMap<object, string>();

  /**
   * `deviceToken` makes the token this terminal sends when it dials, and
   * `verify` checks the token of a peer dialing in; a peer without a valid
   * token of an activated device of the branch is refused at the upgrade.
   */
  constructor(
    private readonly repo: Repo,
    private readonly terminal: string,
    private readonly log: Logger,
    private readonly retryMs = 1000,
    private readonly deviceToken: () => string = () => "",
    private readonly verify: (url: URL) => { peerId: string } | { reason: string } = () => ({ reason: "no verifier" }),
  ) {}

  get listenUrl(): string | null {
    return this.#listenUrl;
  }

  get dialedPeers(): string[] {
    return [...this.#dialed.keys()];
  }

  async listen(address: { host: string; port: number }): Promise<void> {
    const rejected = new Map<string, number>();
    const server = new WebSocketServer({
      host: address.host,
      port: address.port,
      // No compression on the LAN, where bandwidth is plentiful. Deflating and inflating each sync message on the
      // thread pool delayed a sale by about 1 ms on its way to a peer (p50 8.6 ms with it, 7.6 ms without, 100 sales).
      perMessageDeflate: false,
      verifyClient: (info, done) => {
        const result = this.verify(new URL(info.req.url ?? "/", "ws://lan"));
        if ("reason" in result) {
          const count = (rejected.get(result.reason) ?? 0) + 1;
          rejected.set(result.reason, count);
          if (count === 1 || count % 100 === 0) this.log.warn({ reason: result.reason, count }, "LAN peer rejected");
          done(false, 401, result.reason);
          return;
        }
        done(true);
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", (error) =>
        reject(new Error(`Cannot listen for LAN peers on ${address.host}:${address.port}: ${error.message}`)),
      );
    });
    server.on("connection", (socket, request) => {
      socket.on("error", (error) => this.log.debug({ err: error }, "LAN socket error"));
      // verifyClient checked this token before the upgrade; here only its peer id is read.
      const claims = peerIdFromUrl(request.url ?? "");
      if (claims) this.#socketPeers.set(socket, claims);
    });
    const bound = server.address();
    const port = typeof bound === "object" && bound ? bound.port : address.port;
    this.#server = server;
    this.#listenUrl = `ws://${address.host}:${port}`;
    this.#serverAdapter = new AuthenticatedWebSocketServerAdapter(
      server as unknown as ConstructorParameters<typeof AuthenticatedWebSocketServerAdapter>[0],
      (socket) => this.#socketPeers.get(socket) ?? null,
      (peerId, claimed) => this.log.warn({ peerId, claimed }, "LAN message with another peer id refused; connection closed"),
    );
    this.repo.networkSubsystem.addNetworkAdapter(this.#serverAdapter);
    this.log.info({ url: this.#listenUrl }, "listening for LAN peers");
  }

  /** Dials a peer once; later calls for the same peer id are ignored. */
  dial(peer: LanPeer): void {
    if (peer.id === this.terminal || this.#dialed.has(peer.id)) return;
    const adapter = new ResilientWebSocketClientAdapter(peer.url, this.retryMs, this.log, () => `${peer.url}?token=${this.deviceToken()}`);
    this.#dialed.set(peer.id, adapter);
    this.repo.networkSubsystem.addNetworkAdapter(adapter);
    this.log.info({ peer: peer.id, url: peer.url }, "dialing LAN peer");
  }

  /**
   * Closes every LAN connection and the server. Each adapter leaves the
   * repo's network subsystem as it disconnects, so a later `repo.shutdown()`
   * does not disconnect it again. The client adapter of
   * automerge-repo-network-websocket 2.5.6 throws an assertion error,
   * synchronously, when it is disconnected twice.
   */
  async close(): Promise<void> {
    const adapters = [...this.#dialed.values(), ...(this.#serverAdapter ? [this.#serverAdapter] : [])];
    this.#dialed.clear();
    this.#serverAdapter = null;
    for (const adapter of adapters) {
      try {
        this.repo.networkSubsystem.removeNetworkAdapter(adapter);
      } catch (error) {
        this.log.debug({ err: error }, "LAN adapter was not connected when it was removed");
      }
    }
    const server = this.#server;
    if (!server) return;
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
