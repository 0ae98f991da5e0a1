import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DocumentId, PeerId } from "@automerge/automerge-repo";
import { expect } from "chai";
import { DurableFileStorageAdapter } from "@mercora/crdt-model";
import { repoScope } from "./repo-scope.ts";

// The change to `Repo.flush` is in patches/@automerge+automerge-repo+2.5.6.patch.
// A terminal keeps handles of peer ledgers that no connected peer offered it,
// and those never load. Unpatched, they failed the flush of every document.
describe("flush with a handle that never loaded (patched automerge-repo)", function () {
  const scope = repoScope();

  it("saves the loaded documents", async function () {
    const dir = await mkdtemp(join(tmpdir(), "mercora-flush-"));
    scope.defer(() => rm(dir, { recursive: true, force: true }));
    const repo = new scope.Repo({ storage: new DurableFileStorageAdapter(dir), peerId: "terminal:S1:T1" as PeerId, network: [] });
    scope.defer(() => repo.shutdown());
    const loaded = repo.create<{ sale: string }>({ sale: "first" });
    // A document id no peer has: the handle ends unavailable.
    const missing = await repo.find("2AgnJtw8m2NEMmLRL7tD4FsxTGj8" as DocumentId, { signal: AbortSignal.timeout(1000) }).catch(() => null);
    expect(missing).to.equal(null);

    await repo.flush();
    await repo.flush([loaded.documentId, "2AgnJtw8m2NEMmLRL7tD4FsxTGj8" as DocumentId]);
    const stored = await readdir(dir, { recursive: true });
    expect(stored.some((path) => path.includes(loaded.documentId)), stored.join(", ")).to.equal(true);
  });
});
