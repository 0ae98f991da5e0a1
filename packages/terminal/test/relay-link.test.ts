import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import * as A from "@automerge/automerge";
import { cbor } from "@automerge/automerge-repo";
import type { PeerId } from "@automerge/automerge-repo";
import { expect } from "chai";
import { pino } from "pino";
import { WebSocket, WebSocketServer } from "ws";
import { waitFor } from "../../../scripts/lib/processes.ts";
import {
  AuthenticatedWebSocketServerAdapter,
  ResilientWebSocketClientAdapter,
  SYNC_CLIENT_DEFLATE,
  SYNC_DEFLATE,
  worthCompressing,
} from "../src/network.ts";

type Records = { records: Record<string, string> };

/** Builds a document of `count` records shaped like ledger records: random hashes and signatures, repeated SKUs and names. */
function ledgerLike(count: number): A.Doc<Records> {
  let doc = A.from<Records>({ records: {} });
  for (let i = 0; i < count; i++) {
    doc = A.change(doc, (d) => {
      d.records[`B-T1-${String(i + 1).padStart(8, "0")}`] = JSON.stringify({
        kind: "sale",
        seq: i + 1,
        lines: [{ sku: `7790${(i % 40).toString().padStart(9, "0")}`, name: "Filtro de aceite", quantity: 1, price: 1250 }],
        tenders: [{ method: "cash", amount: 1250 }],
        hash: randomBytes(32).toString("hex"),
        signature: randomBytes(64).toString("base64"),
      });
    });
  }
  return doc;
}

/** Returns the sync message `doc` sends a peer that has the first `peerHas` of its changes, after the peer's opening message. */
function syncMessageFor(doc: A.Doc<Records>, peerHas: number): Uint8Array {
  const [peer] = A.applyChanges(A.init<Records>(), A.getAllChanges(doc).slice(0, peerHas));
  const [, opening] = A.generateSyncMessage(peer, A.initSyncState());
  const [received, state] = A.receiveSyncMessage(A.clone(doc), A.initSyncState(), opening!);
  const [, message] = A.generateSyncMessage(received, state);
  return message!;
}

function envelope(senderId: string, targetId: string, data: Uint8Array) {
  return { type: "sync" as const, senderId: senderId as PeerId, targetId: targetId as PeerId, documentId: "4NMNnkMhL8jXrkJ6oMjJjq3ne1Dz" as never, data };
}

/** Polls `condition` every 10 ms for up to 2 s. */
const until = (what: string, condition: () => boolean) => waitFor(what, async () => (condition() ? true : undefined), 2000, 10);

describe("the sync link between a terminal and the relay", function () {
  this.timeout(30_000);
  const ledger = ledgerLike(400);
  const wholeDocument = syncMessageFor(ledger, 0);
  const fewChanges = syncMessageFor(ledger, 396);
  const silent = pino({ level: "silent" });
  let cleanup: (() => Promise<void>)[] = [];

  afterEach(async function () {
    for (const step of cleanup.reverse()) await step();
    cleanup = [];
  });

  /**
   * Starts the relay's sync adapter on 127.0.0.1 with the relay's
   * compression settings, and counts the bytes each TCP connection reads.
   */
  async function startRelay(carryEphemeral: boolean) {
    const http = createServer();
    const connections: Socket[] = [];
    http.on("connection", (socket) => connections.push(socket));
    const wss = new WebSocketServer({ server: http, perMessageDeflate: SYNC_DEFLATE });
    const peers = new WeakMap<object, string>();
    wss.on("connection", (socket, request) => peers.set(socket, new URL(request.url!, "http://x").searchParams.get("peer")!));
    const adapter = new AuthenticatedWebSocketServerAdapter(
      wss as unknown as ConstructorParameters<typeof AuthenticatedWebSocketServerAdapter>[0],
      (socket) => peers.get(socket) ?? null,
      () => undefined,
      5000,
      0,
      { carryEphemeral },
    );
    const received: { type: string; data?: Uint8Array }[] = [];
    adapter.on("message", (message) => received.push(message as { type: string; data?: Uint8Array }));
    adapter.connect("relay" as PeerId, {});
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    cleanup.push(async () => {
      adapter.disconnect();
      await new Promise((resolve) => wss.close(resolve));
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    });
    const { port } = http.address() as AddressInfo;
    const types = () => received.map((message) => message.type);
    return { adapter, received, types, connections, url: (peer: string) => `ws://127.0.0.1:${port}/sync?peer=${encodeURIComponent(peer)}` };
  }

  /** Connects a terminal's client adapter to `url` as peer T1 of store S1. */
  async function connectTerminal(url: string, options: { carryEphemeral?: boolean } = {}) {
    const terminal = new ResilientWebSocketClientAdapter(url, 100, silent, undefined, options);
    cleanup.push(async () => terminal.disconnect());
    const ready = new Promise((resolve) => terminal.once("peer-candidate", resolve));
    terminal.connect("terminal:S1:T1" as PeerId, {});
    await ready;
    return terminal;
  }

  /** Connects a bare ws client that joins as peer T1 and records the sync data it receives. */
  async function connectClient(relay: Awaited<ReturnType<typeof startRelay>>) {
    const client = new WebSocket(relay.url("terminal:S1:T1"), { perMessageDeflate: SYNC_CLIENT_DEFLATE });
    cleanup.push(async () => client.terminate());
    const upgraded = new Promise<Socket>((resolve, reject) => client.once("upgrade", (response) => resolve(response.socket)).once("error", reject));
    const opened = new Promise((resolve) => client.once("open", resolve));
    const received: Uint8Array[] = [];
    client.on("message", (bytes: Buffer) => {
      const message = cbor.decode(bytes) as { type: string; data?: Uint8Array };
      if (message.type === "sync") received.push(new Uint8Array(message.data!));
    });
    const [wire] = await Promise.all([upgraded, opened]);
    client.send(cbor.encode({ type: "join", senderId: "terminal:S1:T1", peerMetadata: {}, supportedProtocolVersions: ["1"] }));
    await until("the relay to accept the join", () => relay.adapter.sockets["terminal:S1:T1" as PeerId] !== undefined);
    return { client, wire, received };
  }

  it("tells saved documents from changes", function () {
    expect(worthCompressing(wholeDocument), "whole document").to.equal(false);
    expect(worthCompressing(fewChanges), "four changes").to.equal(true);
    expect(worthCompressing(new Uint8Array(100)), "short message").to.equal(true);
    expect(worthCompressing(randomBytes(4096)), "no chunk").to.equal(true);
  });

  it("compresses only changes from a terminal to the relay", async function () {
    const relay = await startRelay(false);
    const terminal = await connectTerminal(relay.url("terminal:S1:T1"));
    const wire = relay.connections[0]!;
    const sent = async (data: Uint8Array) => {
      const before = wire.bytesRead;
      const count = relay.received.length;
      terminal.send(envelope("terminal:S1:T1", "relay", data));
      await until("the relay to receive the message", () => relay.received.length > count);
      expect(relay.received.at(-1)!.data).to.deep.equal(data);
      return wire.bytesRead - before;
    };
    // An uncompressed frame carries the whole envelope, so it is longer than the data. A deflated one is shorter.
    expect(await sent(wholeDocument)).to.be.greaterThan(wholeDocument.byteLength);
    expect(await sent(fewChanges)).to.be.lessThan(fewChanges.byteLength * 0.8);
  });

  it("compresses only changes from the relay to a terminal", async function () {
    const relay = await startRelay(false);
    const { wire, received } = await connectClient(relay);
    const sent = async (data: Uint8Array) => {
      const before = wire.bytesRead;
      const count = received.length;
      relay.adapter.send(envelope("relay", "terminal:S1:T1", data));
      await until("the terminal to receive the message", () => received.length > count);
      expect(received.at(-1)).to.deep.equal(new Uint8Array(data));
      return wire.bytesRead - before;
    };
    expect(await sent(wholeDocument)).to.be.greaterThan(wholeDocument.byteLength);
    expect(await sent(fewChanges)).to.be.lessThan(fewChanges.byteLength * 0.8);
  });

  it("carries no clock broadcast from a terminal", async function () {
    const relay = await startRelay(true);
    type Outgoing = Parameters<ResilientWebSocketClientAdapter["send"]>[0];
    const clock = (count: number) =>
      ({ type: "ephemeral", senderId: "terminal:S1:T1", targetId: "relay", documentId: "4NMNnkMhL8jXrkJ6oMjJjq3ne1Dz", count, sessionId: "s1", data: cbor.encode({ type: "clock" }) }) as unknown as Outgoing;
    // A LAN link, the default, carries it, and a relay link does not.
    const lan = await connectTerminal(relay.url("terminal:S1:T1"));
    lan.send(clock(1));
    lan.send(envelope("terminal:S1:T1", "relay", fewChanges));
    await until("the first sync message", () => relay.types().includes("sync"));
    expect(relay.types()).to.deep.equal(["ephemeral", "sync"]);
    lan.disconnect();
    const wan = await connectTerminal(relay.url("terminal:S1:T1"), { carryEphemeral: false });
    wan.send(clock(2));
    wan.send(envelope("terminal:S1:T1", "relay", fewChanges));
    await until("the second sync message", () => relay.types().length > 2);
    expect(relay.types()).to.deep.equal(["ephemeral", "sync", "sync"]);
  });

  it("drops clock broadcasts at the relay", async function () {
    const relay = await startRelay(false);
    const { client } = await connectClient(relay);
    // The terminal's own broadcast, then one forwarded from a LAN peer, which names another sender.
    // The relay drops both without closing the socket.
    for (const [senderId, sessionId] of [["terminal:S1:T1", "s1"], ["terminal:S1:T2", "s2"]]) {
      client.send(cbor.encode({ type: "ephemeral", senderId, targetId: "relay", documentId: "4NMNnkMhL8jXrkJ6oMjJjq3ne1Dz", count: 1, sessionId, data: cbor.encode({ type: "clock" }) }));
    }
    client.send(cbor.encode(envelope("terminal:S1:T1", "relay", fewChanges)));
    await until("the sync message", () => relay.types().includes("sync"));
    expect(relay.types()).to.deep.equal(["sync"]);
    expect(client.readyState).to.equal(WebSocket.OPEN);
  });
});
