import type { DocHandle, DocumentId, PeerId } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { expect } from "chai";
import { ListeningWebSocketServerAdapter } from "@mercora/terminal";
import { repoScope, sleep, waitUntil } from "./repo-scope.ts";

type Ledger = { records: Record<string, string> };

// `shareConfig.holdSync` and `DocSynchronizer.releaseHeld` are in
// patches/@automerge+automerge-repo+2.5.6.patch. The relay no longer sets the
// hook (docs/architecture.md explains why), but the patch still provides it.
describe("held sync messages (patched automerge-repo)", function () {
  this.timeout(30_000);
  const scope = repoScope();

  /** Starts a server repo whose messages to `heldPeers` wait while `holding.on` is true. */
  async function startServer(heldPeers: Set<string>) {
    const { wss, url } = await scope.listen();
    const holding = { on: true };
    const server = new scope.Repo({
      network: [new ListeningWebSocketServerAdapter(wss as never)],
      peerId: "relay" as PeerId,
      shareConfig: {
        announce: async () => true,
        access: async () => true,
        holdSync: (peerId) => holding.on && heldPeers.has(peerId),
      },
    });
    scope.defer(() => server.shutdown());
    const handle = server.create<Ledger>({ records: { r1: "first" } });
    return { server, handle, holding, url };
  }

  async function connect(url: string, peerId: string) {
    const client = new scope.Repo({ network: [new WebSocketClientAdapter(url, 1000)], peerId: peerId as PeerId, sharePolicy: async () => true });
    scope.defer(() => client.shutdown());
    return client;
  }

  it("holds a copy until released", async function () {
    const { server, handle, holding, url } = await startServer(new Set(["terminal:S1:T2"]));
    const writer = await connect(url, "terminal:S1:T1");
    const reader = await connect(url, "terminal:S1:T2");
    const ownCopy = await writer.find<Ledger>(handle.documentId);
    const lookup = reader.find<Ledger>(handle.documentId).catch(() => null);
    const early = await Promise.race([lookup, sleep(1000).then(() => "still waiting" as const)]);
    expect(early, "the held peer has no copy yet").to.equal("still waiting");
    expect(ownCopy.doc().records.r1, "a peer that is not held syncs at once").to.equal("first");

    holding.on = false;
    server.synchronizer.docSynchronizers[handle.documentId]?.releaseHeld();
    const copy = (await lookup) as DocHandle<Ledger> | null;
    expect(copy?.doc().records.r1).to.equal("first");
  });

  it("keeps syncing after a release", async function () {
    const { server, handle, holding, url } = await startServer(new Set(["terminal:S1:T2"]));
    const reader = await connect(url, "terminal:S1:T2");
    const lookup = reader.find<Ledger>(handle.documentId);
    await sleep(300);
    handle.change((doc) => void (doc.records.r2 = "written while held"));
    holding.on = false;
    server.synchronizer.docSynchronizers[handle.documentId as DocumentId]?.releaseHeld();
    const copy = await lookup;
    expect(await waitUntil(() => copy.doc().records.r2 === "written while held", 5000)).to.equal(true);
    handle.change((doc) => void (doc.records.r3 = "written after the release"));
    expect(await waitUntil(() => copy.doc().records.r3 === "written after the release", 5000)).to.equal(true);
  });
});
