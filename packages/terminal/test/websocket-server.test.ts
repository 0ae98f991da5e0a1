import type { AddressInfo } from "node:net";
import { cbor } from "@automerge/automerge-repo";
import type { PeerId } from "@automerge/automerge-repo";
import { expect } from "chai";
import { WebSocket, WebSocketServer } from "ws";
import { AuthenticatedWebSocketServerAdapter } from "../src/network.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const KEEPALIVE_MS = 200;

/**
 * Runs the sync server adapter on 127.0.0.1 with a 200 ms keepalive. Each
 * client names its peer id in the query string, standing in for the device
 * token the relay checks at the upgrade.
 */
async function startServer(missedPingsAllowed: number) {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => wss.once("listening", resolve));
  const peers = new WeakMap<object, string>();
  wss.on("connection", (socket, request) => peers.set(socket, new URL(request.url!, "http://x").searchParams.get("peer")!));
  const adapter = new AuthenticatedWebSocketServerAdapter(
    wss as unknown as ConstructorParameters<typeof AuthenticatedWebSocketServerAdapter>[0],
    (socket) => peers.get(socket) ?? null,
    () => undefined,
    KEEPALIVE_MS,
    missedPingsAllowed,
  );
  const disconnected: string[] = [];
  adapter.on("peer-disconnected", ({ peerId }) => disconnected.push(peerId));
  adapter.connect("relay" as PeerId, {});
  const { port } = wss.address() as AddressInfo;
  return { wss, adapter, disconnected, url: (peer: string) => `ws://127.0.0.1:${port}/sync?peer=${encodeURIComponent(peer)}` };
}

/** Connects a client that joins as `peer` and sends no pong, like a peer whose pongs arrive late. */
async function deafClient(url: string, peer: string): Promise<WebSocket> {
  const socket = new WebSocket(url, { autoPong: false });
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  socket.send(cbor.encode({ type: "join", senderId: peer, peerMetadata: {}, supportedProtocolVersions: ["1"] }));
  return socket;
}

const closed = (socket: WebSocket) => socket.readyState === WebSocket.CLOSED || socket.readyState === WebSocket.CLOSING;

describe("AuthenticatedWebSocketServerAdapter keepalive", function () {
  this.timeout(20_000);
  let stop: (() => Promise<void>) | null = null;

  afterEach(async function () {
    await stop?.();
    stop = null;
  });

  async function start(missedPingsAllowed: number) {
    const server = await startServer(missedPingsAllowed);
    const clients: WebSocket[] = [];
    stop = async () => {
      for (const client of clients) client.terminate();
      server.adapter.disconnect();
      await new Promise((resolve) => server.wss.close(resolve));
    };
    return { ...server, join: async (peer: string) => clients[clients.push(await deafClient(server.url(peer), peer)) - 1]! };
  }

  it("closes a silent socket by default", async function () {
    const server = await start(0);
    const client = await server.join("terminal:S1:T1");
    await sleep(KEEPALIVE_MS * 3.5);
    expect(closed(client)).to.equal(true);
    expect(server.disconnected).to.deep.equal(["terminal:S1:T1"]);
  });

  it("waits out the allowed missed rounds", async function () {
    const server = await start(2);
    const client = await server.join("terminal:S1:T1");
    await sleep(KEEPALIVE_MS * 2.5);
    expect(closed(client)).to.equal(false);
    await sleep(KEEPALIVE_MS * 3);
    expect(closed(client)).to.equal(true);
  });

  it("counts messages as signs of life", async function () {
    const server = await start(0);
    const client = await server.join("terminal:S1:T1");
    const chatter = setInterval(
      () => client.send(cbor.encode({ type: "ephemeral", senderId: "terminal:S1:T1", targetId: "relay", count: 1, sessionId: "s", data: new Uint8Array([1]) })),
      KEEPALIVE_MS / 4,
    );
    try {
      await sleep(KEEPALIVE_MS * 5);
      expect(closed(client)).to.equal(false);
    } finally {
      clearInterval(chatter);
    }
  });

  it("reports the closed socket's peer", async function () {
    const server = await start(10);
    const clients = [];
    for (let i = 1; i <= 20; i++) clients.push(await server.join(`terminal:S1:T${i}`));
    clients[6]!.close();
    await sleep(100);
    expect(server.disconnected).to.deep.equal(["terminal:S1:T7"]);
  });

  it("reports a replaced peer once", async function () {
    const server = await start(10);
    const first = await server.join("terminal:S1:T1");
    const second = await server.join("terminal:S1:T1");
    await sleep(100);
    // The join on the second socket closed the first and reported the peer gone once.
    expect(closed(first)).to.equal(true);
    expect(server.disconnected).to.deep.equal(["terminal:S1:T1"]);
    expect(closed(second)).to.equal(false);
  });
});
