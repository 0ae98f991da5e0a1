import type { PeerId } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { expect } from "chai";
import { ListeningWebSocketServerAdapter } from "@mercora/terminal";
import { repoScope, sleep, waitUntil } from "./repo-scope.ts";

type Ledger = { records: Record<string, string> };

// The change to DocSynchronizer's "doc-unavailable" case is in
// patches/@automerge+automerge-repo+2.5.6.patch. A terminal that stops
// syncing a peer's ledger with the relay refuses the relay's next message of
// it, and the relay then stops sending that ledger's changes to the terminal.
describe("refused sync (patched automerge-repo)", function () {
  this.timeout(30_000);
  const scope = repoScope();

  async function setUp() {
    const { wss, url } = await scope.listen();
    const server = new scope.Repo({
      network: [new ListeningWebSocketServerAdapter(wss as never)],
      peerId: "relay" as PeerId,
      shareConfig: { announce: async () => false, access: async () => true },
    });
    scope.defer(() => server.shutdown());
    const handle = server.create<Ledger>({ records: { r1: "first" } });
    const allowed = { on: true };
    const policy = async () => allowed.on;
    const client = new scope.Repo({
      network: [new WebSocketClientAdapter(url, 1000)],
      peerId: "terminal:S1:T2" as PeerId,
      shareConfig: { announce: policy, access: policy },
    });
    scope.defer(() => client.shutdown());
    let received = 0;
    client.networkSubsystem.on("message", (message) => {
      if ("documentId" in message && message.documentId === handle.documentId && message.type === "sync") received += 1;
    });
    return { handle, client, allowed, received: () => received };
  }

  it("stops sending to a peer that refused", async function () {
    const { handle, client, allowed, received } = await setUp();
    const copy = await client.find<Ledger>(handle.documentId);
    expect(copy.doc().records.r1).to.equal("first");
    // The first sync ends with a few more messages; one refused among them would end it early.
    await sleep(500);

    allowed.on = false;
    client.shareConfigChanged();
    await sleep(300);
    const before = received();
    handle.change((doc) => void (doc.records.r2 = "refused by the peer"));
    expect(await waitUntil(() => received() > before, 5000), "the first change still goes out").to.equal(true);
    await sleep(300);
    const countAfterRejection = received();
    handle.change((doc) => void (doc.records.r3 = "not sent"));
    handle.change((doc) => void (doc.records.r4 = "not sent either"));
    await sleep(1000);
    expect(received(), "messages after the refusal").to.equal(countAfterRejection);
    expect(copy.doc().records.r2).to.equal(undefined);
  });

  it("syncs again when the peer asks", async function () {
    const { handle, client, allowed } = await setUp();
    const copy = await client.find<Ledger>(handle.documentId);
    await sleep(500);
    allowed.on = false;
    client.shareConfigChanged();
    await sleep(300);
    handle.change((doc) => void (doc.records.r2 = "refused by the peer"));
    await sleep(500);

    allowed.on = true;
    client.shareConfigChanged();
    expect(await waitUntil(() => copy.doc().records.r2 === "refused by the peer", 5000)).to.equal(true);
  });
});
