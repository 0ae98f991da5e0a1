import { createServer } from "node:net";
import type { Server, Socket } from "node:net";
import type { AddressInfo } from "node:net";
import type { PeerId } from "@automerge/automerge-repo";
import { expect } from "chai";
import { pino } from "pino";
import { ResilientWebSocketClientAdapter } from "../src/network.ts";

/** Starts a TCP server on 127.0.0.1 that accepts connections and never completes the websocket upgrade, as a relay too busy to respond. */
async function silentServer(): Promise<{ server: Server; url: string; accepted: () => number; open: () => number }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    // Read and drop the upgrade request, so the end of the stream (and the close) is seen.
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server: Object.assign(server, {
      closeAll: () => sockets.forEach((s) => s.destroy()),
    }),
    url: `ws://127.0.0.1:${port}/sync`,
    accepted: () => accepted,
    open: () => sockets.size,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("ResilientWebSocketClientAdapter", function () {
  this.timeout(20_000);
  const silent = pino({ level: "silent" });
  let stop: (() => Promise<void>) | null = null;

  afterEach(async function () {
    await stop?.();
    stop = null;
  });

  async function start(handshakeTimeoutMs: number, retryMs = 100) {
    const relay = await silentServer();
    const adapter = new ResilientWebSocketClientAdapter(relay.url, retryMs, silent, undefined, { handshakeTimeoutMs });
    adapter.connect("terminal:S1:T1" as PeerId, {});
    stop = async () => {
      adapter.disconnect();
      (relay.server as Server & { closeAll(): void }).closeAll();
      await new Promise((resolve) => relay.server.close(resolve));
    };
    return { ...relay, adapter };
  }

  it("keeps one socket during a slow handshake", async function () {
    const relay = await start(60_000);
    // Ten retry intervals pass with the upgrade unanswered.
    await sleep(1000);
    expect(relay.accepted()).to.equal(1);
    expect(relay.open()).to.equal(1);
  });

  it("retries at once only without a live socket", async function () {
    // A retry interval of a minute, so any second attempt within the test comes from retryNow.
    const relay = await start(60_000, 60_000);
    await sleep(200);
    expect(relay.adapter.retryNow()).to.equal(false);
    await sleep(200);
    expect(relay.accepted()).to.equal(1);

    // The relay drops the connection; the adapter keeps no open or connecting socket.
    (relay.server as Server & { closeAll(): void }).closeAll();
    await sleep(200);
    expect(relay.adapter.retryNow()).to.equal(true);
    await sleep(200);
    expect(relay.accepted()).to.equal(2);
  });

  it("closes a handshake that outlasts its timeout before it connects again", async function () {
    const relay = await start(250);
    await sleep(1500);
    // About one attempt per 250 ms, and each replaced socket was closed.
    expect(relay.accepted()).to.be.at.least(3);
    expect(relay.open()).to.be.at.most(1);
  });
});
