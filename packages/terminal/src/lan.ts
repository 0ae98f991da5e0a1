import type { Repo } from "@automerge/automerge-repo";
import type { Logger } from "pino";
import { WebSocketServer } from "ws";
import { ListeningWebSocketServerAdapter, ResilientWebSocketClientAdapter } from "./network.ts";

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
  readonly #dialed = new Map<string, ResilientWebSocketClientAdapter>();

  constructor(
    private readonly repo: Repo,
    private readonly terminal: string,
    private readonly log: Logger,
    private readonly retryMs = 1000,
  ) {}

  get listenUrl(): string | null {
    return this.#listenUrl;
  }

  get dialedPeers(): string[] {
    return [...this.#dialed.keys()];
  }

  async listen(address: { host: string; port: number }): Promise<void> {
    const server = new WebSocketServer({ host: address.host, port: address.port });
    await new Promise<void>((resolve, reject) => {
      server.once("listening", resolve);
      server.once("error", (error) =>
        reject(new Error(`Cannot listen for LAN peers on ${address.host}:${address.port}: ${error.message}`)),
      );
    });
    server.on("connection", (socket) => {
      socket.on("error", (error) => this.log.debug({ err: error }, "LAN socket error"));
    });
    const bound = server.address();
    const port = typeof bound === "object" && bound ? bound.port : address.port;
    this.#server = server;
    this.#listenUrl = `ws://${address.host}:${port}`;
    this.repo.networkSubsystem.addNetworkAdapter(new ListeningWebSocketServerAdapter(server as unknown as ConstructorParameters<typeof ListeningWebSocketServerAdapter>[0]));
    this.log.info({ url: this.#listenUrl }, "listening for LAN peers");
  }

  /** Dials a peer once; later calls for the same peer id are ignored. */
  dial(peer: LanPeer): void {
    if (peer.id === this.terminal || this.#dialed.has(peer.id)) return;
    const adapter = new ResilientWebSocketClientAdapter(peer.url, this.retryMs, this.log);
    this.#dialed.set(peer.id, adapter);
    this.repo.networkSubsystem.addNetworkAdapter(adapter);
    this.log.info({ peer: peer.id, url: peer.url }, "dialing LAN peer");
  }

  async close(): Promise<void> {
    for (const adapter of this.#dialed.values()) {
      try {
        adapter.disconnect();
      } catch {
        // Never connected.
      }
    }
    this.#dialed.clear();
    const server = this.#server;
    if (!server) return;
    for (const client of server.clients) client.terminate();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
