import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { DocHandle, DocumentId, Repo } from "@automerge/automerge-repo";
import { addResolutionMaps, imm, readDirectoryUrls, str } from "@mercora/crdt-model";
import type { CatalogDoc, HybridLogicalClock } from "@mercora/crdt-model";
import { ConflictReview, PinGuard } from "@mercora/terminal";
import type { ActionHandler } from "@mercora/terminal";
import type { Logger } from "pino";
import type { RelayBranch } from "./branch.ts";
import { RELAY_REPLICA } from "./branch.ts";
import { RelayLedger } from "./relay-ledger.ts";

export interface BranchReviewOptions {
  repo: Repo;
  clock: HybridLogicalClock;
  /** The relay's data folder; PIN attempts of each branch's users are kept under `pins/BRANCH`. */
  dataDir: string;
  log: Logger;
  /** Action handlers by conflict kind, registered with `Relay.registerActionHandler`; read at each resolution. */
  handlers: ReadonlyMap<string, ActionHandler>;
  catalog: () => DocHandle<CatalogDoc> | null;
  onDocument: (documentId: string) => void;
}

/**
 * Gives a branch its conflict review at HQ before the branch opens. The
 * relay checks the manager's PIN (with the same lockout as a terminal)
 * and signs actions with the key it unlocks. The records actions write go
 * to the relay's own ledger, which this returns, to be opened once the
 * branch's documents are loaded.
 */
export async function attachBranchReview(branch: RelayBranch, options: BranchReviewOptions): Promise<RelayLedger> {
  const pinsDir = join(options.dataDir, "pins", branch.id);
  await mkdir(pinsDir, { recursive: true });
  const log = options.log.child({ component: "conflict-review" });
  const pins = new PinGuard(() => branch.permissions, pinsDir, log);
  await pins.open();
  const ledger = new RelayLedger(branch, options.repo, options.clock, log, options.onDocument, options.catalog);
  branch.review = new ConflictReview({
    branch: branch.id,
    replica: RELAY_REPLICA,
    conflicts: () => branch.conflicts,
    permissions: () => branch.permissions,
    pins,
    clock: options.clock,
    now: () => Date.now(),
    runWrites: (signer, task) => ledger.run(signer, task),
    findRecord: async (id) => branch.record(id),
    records: () => branch.records(),
    store: () => ({
      currency: str(options.catalog()?.doc().currency),
      cashRoundingIncrement: readDirectoryUrls(branch.directory.doc()).cashRoundingIncrement,
    }),
    flush: (ids) => options.repo.flush(ids as DocumentId[]),
    handlers: options.handlers,
    log,
  });
  return ledger;
}

/**
 * Creates what conflict review needs in a branch's documents, for branches
 * created before it existed: a resolution map per replica in the conflicts
 * document, and the relay's entry in the directory and the ingest marks.
 * (The stock baseline needs none: the relay writes its mark when it first
 * folds a record of its own.) Only the relay creates these containers,
 * so adding them late is safe; a terminal cannot record an action until
 * it has synced them.
 */
export async function addReviewContainers(branch: RelayBranch, repo: Repo, log: Logger): Promise<void> {
  const added: string[] = [];
  branch.conflicts.change((doc) => {
    const replicas = addResolutionMaps(doc, Object.keys(doc.detections));
    if (replicas.length > 0) added.push(`resolution maps of ${replicas.join(", ")}`);
  });
  if (!branch.directory.doc().terminals[RELAY_REPLICA]) {
    branch.directory.change((doc) => {
      doc.terminals[RELAY_REPLICA] = { name: imm("HQ"), lanUrl: null, ledgers: {} };
    });
    added.push("the relay's directory entry");
  }
  if (branch.ingest.doc().acked[RELAY_REPLICA] === undefined) {
    branch.ingest.change((doc) => {
      doc.acked[RELAY_REPLICA] = 0;
    });
    added.push("the relay's ingest mark");
  }
  if (added.length === 0) return;
  await repo.flush([branch.conflicts, branch.directory, branch.ingest].map((h) => h.documentId));
  log.info({ branch: branch.id, added }, "conflict review containers added");
}
