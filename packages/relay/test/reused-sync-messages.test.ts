import { randomBytes } from "node:crypto";
import type { DocHandle, DocumentId, PeerId } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { expect } from "chai";
import { ListeningWebSocketServerAdapter } from "@mercora/terminal";
import { repoScope, sleep } from "./repo-scope.ts";

type Ledger = { records: Record<string, string> };

interface GenerateMetric {
  type: string;
  documentId: DocumentId;
  forPeer: PeerId;
  reused?: boolean;
}

// The reuse is in patches/@automerge+automerge-repo+2.5.6.patch. Without the patch, no
// metric reports `reused`, and the first test fails.
describe("reused sync messages (patched automerge-repo)", function () {
  this.timeout(30_000);
  const scope = repoScope();

  /** Starts a server repo with one document of `records` random records, about 1 KB each, and its metrics. */
  async function startServer(records: number) {
    const { wss, url } = await scope.listen();
    const server = new scope.Repo({ network: [new ListeningWebSocketServerAdapter(wss as never)], peerId: "relay" as PeerId, sharePolicy: async () => true });
    scope.defer(() => server.shutdown());
    const metrics: GenerateMetric[] = [];
    server.on("doc-metrics", (event) => {
      if (event.type === "generate-sync-message") metrics.push(event as GenerateMetric);
    });
    const handle = server.create<Ledger>({ records: {} });
    for (let i = 0; i < records; i++) handle.change((doc) => void (doc.records[`r${i}`] = randomBytes(512).toString("hex")));
    return { handle, metrics, url };
  }

  /** Connects a peer repo with no documents and returns its copy of the document once it has `records` records. */
  async function fetchWhole(url: string, peerId: string, documentId: DocumentId, records: number): Promise<DocHandle<Ledger>> {
    const client = new scope.Repo({ network: [new WebSocketClientAdapter(url, 1000)], peerId: peerId as PeerId, sharePolicy: async () => true });
    scope.defer(() => client.shutdown());
    const handle = await client.find<Ledger>(documentId);
    for (let i = 0; i < 200 && Object.keys(handle.doc().records).length < records; i++) await sleep(50);
    return handle;
  }

  it("sends a second empty peer the same message", async function () {
    const { handle, metrics, url } = await startServer(150);
    const first = await fetchWhole(url, "terminal:S1:T2", handle.documentId, 150);
    const second = await fetchWhole(url, "terminal:S1:T3", handle.documentId, 150);
    expect(Object.keys(first.doc().records)).to.have.length(150);
    expect(second.doc()).to.deep.equal(handle.doc());
    const reused = metrics.filter((metric) => metric.reused);
    expect(reused.map((m) => m.forPeer)).to.deep.equal(["terminal:S1:T3"]);
  });

  it("keeps syncing changes after a reused message", async function () {
    const { handle, url } = await startServer(150);
    const first = await fetchWhole(url, "terminal:S1:T2", handle.documentId, 150);
    const second = await fetchWhole(url, "terminal:S1:T3", handle.documentId, 150);
    handle.change((doc) => void (doc.records.late = "added after both peers synced"));
    for (let i = 0; i < 100 && (!first.doc().records.late || !second.doc().records.late); i++) await sleep(50);
    expect(first.doc().records.late).to.equal("added after both peers synced");
    expect(second.doc().records.late).to.equal("added after both peers synced");
    second.change((doc) => void (doc.records.fromPeer = "T3"));
    for (let i = 0; i < 100 && handle.doc().records.fromPeer !== "T3"; i++) await sleep(50);
    expect(handle.doc().records.fromPeer).to.equal("T3");
  });

  it("makes a new message once the heads move", async function () {
    const { handle, metrics, url } = await startServer(150);
    await fetchWhole(url, "terminal:S1:T2", handle.documentId, 150);
    handle.change((doc) => void (doc.records.extra = "one more"));
    const second = await fetchWhole(url, "terminal:S1:T3", handle.documentId, 151);
    expect(second.doc().records.extra).to.equal("one more");
    expect(metrics.filter((metric) => metric.reused)).to.deep.equal([]);
  });
});
