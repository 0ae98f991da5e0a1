import type { Patch } from "@automerge/automerge";
import type { DocHandle, Repo } from "@automerge/automerge-repo";
import {
  CATALOG_EDIT_KIND,
  describeFieldConflict,
  putDetection,
  readDetections,
  readEditedFieldConflicts,
  readFieldConflicts,
  resolutionReplicas,
  readActions,
  str,
} from "@mercora/crdt-model";
import type { CatalogDoc, ConflictsDoc, Detection, FieldConflict, HybridLogicalClock } from "@mercora/crdt-model";
import type { Logger } from "pino";
import type { RelayBranch } from "./branch.ts";
import { RELAY_REPLICA } from "./branch.ts";

/** Products a detection run examines: the SKUs a merge touched, or every edited product. */
type Scope = Set<string> | "all";

/**
 * Raises a `catalog-edit` conflict for every product field that has
 * concurrent values after a merge, in every branch's conflicts document
 * (the catalog is franchise-wide), and withdraws it once the field has one
 * value again. It runs on the SKUs where a catalog change may have made or
 * ended a conflict, and on every edited product when the relay starts or a
 * branch opens.
 */
export class CatalogConflictDetector {
  #catalog: DocHandle<CatalogDoc> | null = null;
  #pending: Scope | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> = Promise.resolve();
  #closed = false;
  /** SKUs with an open catalog-edit conflict, as of the last run. */
  readonly #open = new Set<string>();
  /** Conflict ids a manager is resolving, by branch: their detections stay for the audit entry. */
  readonly #kept = new Map<string, Set<string>>();

  constructor(
    private readonly repo: Repo,
    private readonly clock: HybridLogicalClock,
    private readonly branches: () => Iterable<Pick<RelayBranch, "id" | "conflicts">>,
    private readonly log: Logger,
  ) {}

  /** Follows the catalog: each change schedules a run on the SKUs where it may have made or ended a conflict. */
  attach(catalog: DocHandle<CatalogDoc>): void {
    this.#catalog = catalog;
    catalog.on("change", ({ patches }) => {
      const skus = this.#skusToExamine(patches);
      if (skus.size > 0) this.schedule(skus);
    });
    this.schedule("all");
  }

  /**
   * Picks the SKUs a change may have given or taken concurrent values: those
   * with a new stamp, those whose field patch Automerge flags as a conflict,
   * and those with an open conflict. A catalog import that only adds
   * products touches none of them, so it costs no detection run.
   */
  #skusToExamine(patches: Patch[]): Set<string> {
    const skus = new Set<string>();
    for (const patch of patches) {
      const [root, key] = patch.path;
      if (typeof key !== "string") continue;
      if (root === "fieldEdits") skus.add(key.slice(0, key.lastIndexOf("/")));
      const flagged = patch.action === "conflict" || (patch.action === "put" && patch.conflict);
      if (root === "products" && (flagged || this.#open.has(key))) skus.add(key);
    }
    return skus;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  /** Runs detection soon, once for a burst of changes. */
  schedule(scope: Scope): void {
    if (this.#closed) return;
    this.#pending = mergeScopes(this.#pending, scope);
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.refresh();
    }, 50);
  }

  /**
   * Runs detection on the whole catalog for one branch only, after any run
   * in progress: what a branch the relay just opened needs. The other
   * branches' detections are up to date, and examining them all at every
   * open made creating n branches cost n² reads.
   */
  examineBranch(branch: Pick<RelayBranch, "id" | "conflicts">): Promise<void> {
    if (this.#closed) return this.#running;
    this.#running = this.#running
      .then(() => this.#detect("all", [branch]))
      .catch((error) => this.log.error({ err: error, branch: branch.id }, "catalog conflict detection failed"));
    return this.#running;
  }

  /** Runs detection now on what is pending plus `scope`, after any run in progress. */
  refresh(scope: Scope | null = null): Promise<void> {
    const run = mergeScopes(this.#pending, scope ?? new Set());
    this.#pending = null;
    this.#running = this.#running
      .then(() => this.#detect(run))
      .catch((error) => this.log.error({ err: error }, "catalog conflict detection failed"));
    return this.#running;
  }

  /**
   * Keeps a branch's detection of a conflict when the field has one value
   * again, because a manager's action on it is being appended to that
   * branch's audit trail.
   */
  keep(branch: string, conflictId: string): void {
    const ids = this.#kept.get(branch) ?? new Set<string>();
    ids.add(conflictId);
    this.#kept.set(branch, ids);
  }

  /** Waits for pending and running detection, so a reader sees the latest merge's conflicts. */
  async idle(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#pending) await this.refresh();
    await this.#running;
  }

  async #detect(scope: Scope, branches: Iterable<Pick<RelayBranch, "id" | "conflicts">> = this.branches()): Promise<void> {
    const catalog = this.#catalog;
    if (!catalog || this.#closed) return;
    const doc = catalog.doc();
    const found = scope === "all" ? readEditedFieldConflicts(doc) : [...scope].flatMap((sku) => readFieldConflicts(doc, sku));
    const now = this.clock.now();
    const detections = found.map((conflict) => toDetection(conflict, str(doc.products[conflict.sku]?.name), now));
    if (scope === "all") this.#open.clear();
    else for (const sku of scope) this.#open.delete(sku);
    for (const conflict of found) this.#open.add(conflict.sku);
    for (const branch of branches) await this.#write(branch, detections, scope);
  }

  /**
   * Writes the relay's catalog-edit detections of one branch: new and
   * changed ones are put, and those in scope that no longer match a
   * conflict are withdrawn. Nothing is written when nothing changed.
   */
  async #write(branch: Pick<RelayBranch, "id" | "conflicts">, detections: Detection[], scope: Scope): Promise<void> {
    const own = readDetections(branch.conflicts.doc(), RELAY_REPLICA);
    const current = new Set(detections.map((d) => d.id));
    const puts = detections
      .filter((d) => !own.has(d.id) || !sameCandidates(own.get(d.id)!, d))
      .map((d) => ({ ...d, firstDetectedAt: own.get(d.id)?.firstDetectedAt ?? d.firstDetectedAt }));
    const acted = conflictsWithActions(branch.conflicts.doc());
    for (const id of this.#kept.get(branch.id) ?? []) acted.add(id);
    const withdrawn = [...own.values()]
      .filter((d) => d.kind === CATALOG_EDIT_KIND && !current.has(d.id) && (scope === "all" || scope.has(d.sku)))
      .filter((d) => !acted.has(d.id))
      .map((d) => d.id);
    if (puts.length === 0 && withdrawn.length === 0) return;
    branch.conflicts.change((doc) => {
      for (const detection of puts) putDetection(doc, RELAY_REPLICA, detection);
      // A detection a manager acted on in this branch stays, so its audit entry keeps a
      // conflict to belong to. Elsewhere it is deleted once the field has one value again;
      // the manager's choice stays in the field's stamp in the catalog (kind "choice").
      for (const id of withdrawn) delete doc.detections[RELAY_REPLICA]![id];
    });
    await this.repo.flush([branch.conflicts.documentId]);
    for (const detection of puts) {
      this.log.warn({ branch: branch.id, conflict: detection.id, detail: detection.detail }, "catalog edit conflict detected");
    }
    if (withdrawn.length > 0) this.log.info({ branch: branch.id, conflicts: withdrawn }, "catalog edit conflicts withdrawn");
  }
}

function toDetection(conflict: FieldConflict, productName: string, now: string): Detection {
  return {
    id: conflict.id,
    kind: CATALOG_EDIT_KIND,
    sku: conflict.sku,
    shortfall: 0,
    stock: 0,
    tickets: [],
    subject: conflict.field,
    detail: describeFieldConflict(conflict, productName),
    firstDetectedAt: now,
    detectedAt: now,
    detectedBy: RELAY_REPLICA,
    candidates: conflict.candidates,
    values: [...new Set(conflict.candidates.map((candidate) => candidate.value))],
  };
}

function sameCandidates(stored: Detection, fresh: Detection): boolean {
  return JSON.stringify([stored.candidates, stored.values]) === JSON.stringify([fresh.candidates, fresh.values]);
}

/** Ids of the conflicts of a branch that some replica recorded a manager action on. */
function conflictsWithActions(doc: ConflictsDoc): Set<string> {
  const out = new Set<string>();
  for (const replica of resolutionReplicas(doc)) {
    for (const { action } of readActions(doc, replica)) out.add(action.conflictId);
  }
  return out;
}

function mergeScopes(a: Scope | null, b: Scope): Scope {
  if (a === "all" || b === "all") return "all";
  return new Set([...(a ?? []), ...b]);
}
