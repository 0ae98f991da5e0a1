import net from "node:net";
import { FrameSplitter } from "./ws-frames.ts";
import type { LinkMessage, MessageFilter } from "./ws-frames.ts";

/**
 * A TCP link between two addresses on this machine that can be cut and
 * restored, standing in for a store's WAN uplink or a LAN cable. Cutting it
 * closes the listening socket, so new connections are refused, and destroys
 * every connection in flight, as a failed fiber or an unplugged cable does.
 * It only ever connects to the target it was given.
 */
export class LinkProxy {
  #server: net.Server | null = null;
  readonly #sockets = new Set<net.Socket>();
  #port = 0;
  #up = false;
  bytesForwarded = 0;
  /**
   * When true, websocket connections to `/sync` made from then on are split
   * into frames: each is recorded in `messages` and passed to `filter`,
   * which may drop it. Other connections (HTTP health checks) are piped.
   */
  inspecting = false;
  filter: MessageFilter | null = null;
  /** Frames seen on inspected connections, with the time each crossed and whether it was dropped; the last 10,000. */
  readonly messages: (LinkMessage & { at: number; dropped: boolean })[] = [];

  constructor(
    readonly name: string,
    readonly target: { host: string; port: number },
    readonly listenHost = "127.0.0.1",
  ) {
    if (!/^127\.|^localhost$|^::1$/.test(target.host) || !/^127\.|^localhost$|^::1$/.test(listenHost)) {
      throw new Error(`Link ${name} must stay on loopback; got target ${target.host} and listen ${listenHost}`);
    }
  }

  /** The port the link listens on; fixed after the first `open()`. */
  get port(): number {
    return this.#port;
  }

  get up(): boolean {
    return this.#up;
  }

  /** Starts forwarding; the first call picks a free port, later calls reuse it. */
  async open(): Promise<number> {
    if (this.#up) return this.#port;
    const server = net.createServer((client) => this.#forward(client));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, this.listenHost, () => resolve());
    });
    const address = server.address();
    this.#port = typeof address === "object" && address ? address.port : this.#port;
    this.#server = server;
    this.#up = true;
    return this.#port;
  }

  /** Cuts the link: refuses new connections and drops the open ones. */
  async cut(): Promise<void> {
    if (!this.#up) return;
    this.#up = false;
    const server = this.#server;
    this.#server = null;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
  }

  #forward(client: net.Socket): void {
    const upstream = net.connect(this.target.port, this.target.host);
    this.#sockets.add(client);
    this.#sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on("error", drop);
    upstream.on("error", drop);
    client.on("close", drop);
    upstream.on("close", drop);
    client.on("data", (chunk) => {
      this.bytesForwarded += chunk.length;
    });
    upstream.on("data", (chunk) => {
      this.bytesForwarded += chunk.length;
    });
    if (this.inspecting) this.#inspect(client, upstream);
    else {
      client.pipe(upstream);
      upstream.pipe(client);
    }
  }

  #inspect(client: net.Socket, upstream: net.Socket): void {
    client.once("data", (first: Buffer) => {
      if (!first.toString("latin1", 0, 9).startsWith("GET /sync")) {
        upstream.write(first);
        client.pipe(upstream);
        upstream.pipe(client);
        return;
      }
      const up = new FrameSplitter("up", (message) => this.#decide(message), (chunk) => upstream.write(chunk));
      const down = new FrameSplitter("down", (message) => this.#decide(message), (chunk) => client.write(chunk));
      up.push(first);
      client.on("data", (chunk: Buffer) => up.push(chunk));
      upstream.on("data", (chunk: Buffer) => down.push(chunk));
    });
  }

  #decide(message: LinkMessage): "pass" | "drop" {
    const verdict = this.filter?.(message) ?? "pass";
    this.messages.push({ ...message, at: Date.now(), dropped: verdict === "drop" });
    if (this.messages.length > 10_000) this.messages.splice(0, this.messages.length - 10_000);
    return verdict;
  }
}
