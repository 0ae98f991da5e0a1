import type { DocumentId, PeerId, Repo as RepoClass } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { expect } from "chai";
import { ListeningWebSocketServerAdapter } from "@mercora/terminal";
import { repoScope, sleep } from "./repo-scope.ts";

/** automerge-repo does not export the type of its `shareConfig` option. */
type ShareConfig = NonNullable<NonNullable<ConstructorParameters<typeof RepoClass>[0]>["shareConfig"]>;

// The relay relies on the share-config hooks that patches/@automerge+automerge-repo+2.5.6.patch adds.
// If `npm install` did not apply the patch, automerge-repo ignores them and these tests fail.
describe("automerge-repo share scope hooks (patched)", function () {
  this.timeout(20_000);
  const scope = repoScope();

  /**
   * Starts a server repo whose policies accept every peer and document,
   * plus the given hooks, with one document of branch S1 and one of S2.
   * Connects a terminal of S1 that accepts whatever it is offered, and
   * returns the document ids it was offered.
   */
  async function offered(hooks: (own: () => DocumentId) => Partial<ShareConfig>): Promise<{ offered: string[]; own: DocumentId; other: DocumentId }> {
    const { wss, url } = await scope.listen();
    let ownId: DocumentId | null = null;
    const server = new scope.Repo({
      network: [new ListeningWebSocketServerAdapter(wss as never)],
      peerId: "relay" as PeerId,
      shareConfig: { announce: async () => true, access: async () => true, ...hooks(() => ownId!) },
    });
    scope.defer(() => server.shutdown());
    const own = server.create({ branch: "S1" });
    const other = server.create({ branch: "S2" });
    ownId = own.documentId;
    const client = new scope.Repo({
      network: [new WebSocketClientAdapter(url, 1000)],
      peerId: "terminal:S1:T1" as PeerId,
      sharePolicy: async () => true,
    });
    scope.defer(() => client.shutdown());
    await new Promise<void>((resolve) => client.networkSubsystem.once("peer", () => resolve()));
    // The server announces as the peer connects; wait until its document arrives, then a little longer.
    for (let i = 0; i < 100 && !client.handles[own.documentId]; i++) await sleep(50);
    await sleep(300);
    return { offered: Object.keys(client.handles), own: own.documentId, other: other.documentId };
  }

  it("offers a connecting peer only the documents documentsFor lists", async function () {
    const { offered: ids, own, other } = await offered((own) => ({ documentsFor: () => [own()] }));
    expect(ids).to.include(own);
    expect(ids).to.not.include(other);
  });

  it("offers nothing mayShare refuses, though announce accepts it", async function () {
    const { offered: ids, own, other } = await offered((own) => ({ mayShare: (_peer, documentId) => documentId === own() }));
    expect(ids).to.include(own);
    expect(ids).to.not.include(other);
  });

  it("offers every document announce accepts when no hook is set", async function () {
    const { offered: ids, own, other } = await offered(() => ({}));
    expect(ids).to.include.members([own, other]);
  });
});
