import type { DocHandle, DocumentId, PeerId } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { expect } from "chai";
import { pino } from "pino";
import { ListeningWebSocketServerAdapter } from "../src/network.ts";
import { RelayShare } from "../src/relay-share.ts";
import { repoScope, sleep, waitUntil } from "../../relay/test/repo-scope.ts";

type Ledger = { records: Record<string, string> };

/**
 * A terminal repo whose share policy toward the relay is a `RelayShare`,
 * against a relay-like repo that offers nothing unasked, over a real
 * websocket on 127.0.0.1.
 */
describe("RelayShare", function () {
  this.timeout(30_000);
  const scope = repoScope();
  /** Warnings `RelayShare` logged in the current test. */
  let warnings: string[] = [];
  const log = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
  beforeEach(() => (warnings = []));

  async function setUp(lookupSyncMs: number) {
    const { wss, url } = await scope.listen();
    const relay = new scope.Repo({
      network: [new ListeningWebSocketServerAdapter(wss as never)],
      peerId: "relay" as PeerId,
      shareConfig: { announce: async () => false, access: async () => true },
    });
    scope.defer(() => relay.shutdown());
    const peerLedger = relay.create<Ledger>({ records: { r1: "sold on T1" } });
    const shared = relay.create<Ledger>({ records: { ingest: "acknowledged" } });
    let share: RelayShare | null = null;
    const policy = async (peerId: PeerId, documentId?: DocumentId) => share!.offers(peerId, documentId);
    const terminal = new scope.Repo({
      network: [new WebSocketClientAdapter(url, 1000)],
      peerId: "terminal:S1:T2" as PeerId,
      shareConfig: { announce: policy, access: policy },
    });
    scope.defer(() => terminal.shutdown());
    share = new RelayShare(terminal, log, 1000, lookupSyncMs);
    scope.defer(async () => share!.close());
    share.setBranchDocuments({ peerLedgers: new Map([[peerLedger.documentId, "T1"]]), shared: new Set([shared.documentId]) });
    await waitUntil(() => share!.relayConnected, 5000);
    return { relay, terminal, share, peerLedger, shared };
  }

  it("keeps a peer ledger off until fetched", async function () {
    const { terminal, share, peerLedger, shared } = await setUp(60_000);
    const sharedCopy = await terminal.find<Ledger>(shared.documentId);
    expect(sharedCopy.doc().records.ingest).to.equal("acknowledged");
    const unasked = await terminal.find<Ledger>(peerLedger.documentId, { signal: AbortSignal.timeout(1500) }).catch(() => null);
    expect(unasked, "a peer ledger is not requested from the relay").to.equal(null);

    await share.fetch([peerLedger.documentId], 3000);
    const copy = terminal.handles[peerLedger.documentId] as DocHandle<Ledger>;
    expect(copy.isReady()).to.equal(true);
    expect(copy.doc().records.r1).to.equal("sold on T1");
  });

  it("stops syncing a fetched ledger after its time", async function () {
    const { terminal, share, peerLedger } = await setUp(800);
    await share.fetch([peerLedger.documentId], 3000);
    const copy = terminal.handles[peerLedger.documentId] as DocHandle<Ledger>;
    peerLedger.change((doc) => void (doc.records.r2 = "within the lookup's time"));
    expect(await waitUntil(() => copy.doc().records.r2 === "within the lookup's time", 3000)).to.equal(true);

    await sleep(1200);
    peerLedger.change((doc) => void (doc.records.r3 = "after it"));
    await sleep(1000);
    expect(copy.doc().records.r3).to.equal(undefined);

    await share.fetch([peerLedger.documentId], 3000);
    expect(copy.doc().records.r3, "a new lookup brings the ledger up to date").to.equal("after it");
  });

  it("reads an unchanged ledger again", async function () {
    const { share, peerLedger } = await setUp(500);
    await share.fetch([peerLedger.documentId], 3000);
    await sleep(1000);
    // The relay has nothing new to send, so it stays silent, and the heads it sent before still hold.
    await share.fetch([peerLedger.documentId], 3000);
    expect(warnings).to.deep.equal([]);
  });
});
