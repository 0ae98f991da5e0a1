import { createRequire } from "node:module";
import * as A from "@automerge/automerge";
import { Repo } from "@automerge/automerge-repo";
import type { DocHandle } from "@automerge/automerge-repo";
import { expect } from "chai";
import { pino } from "pino";
import {
  HybridLogicalClock,
  RuleError,
  ValidationError,
  applyProductEdit,
  initCatalog,
  initConflicts,
  listConflicts,
  putProducts,
  readProduct,
  taxProfile,
} from "@mercora/crdt-model";
import type { CatalogDoc, ConflictsDoc, Product } from "@mercora/crdt-model";
import { CatalogConflictDetector, CatalogEdits } from "../src/index.ts";

const SKU = "7790060054954";
const log = pino({ level: "silent" });

const product: Product = {
  sku: SKU,
  barcode: SKU,
  name: "Yerba Mate Suave 500 g",
  brand: "Playadito",
  presentation: "500.0 gr",
  price: 16000,
  taxCode: "IVA21",
  active: true,
  stockBuffer: 0,
};

/** Builds a catalog made before edit stamps existed, one branch's conflicts, and a starter of the relay's catalog services. */
function relaySide() {
  const repo = new Repo({ network: [] });
  const profile = taxProfile("AR");
  const { fieldEdits: _dropped, ...older } = initCatalog({ ...profile, rounding: profile.rounding });
  const catalog = repo.create<CatalogDoc>(older as CatalogDoc);
  catalog.change((doc) => putProducts(doc, [product]));
  const conflicts = repo.create<ConflictsDoc>(initConflicts("A", ["T1", "relay"]));
  const branches = [{ id: "A", conflicts }];
  const start = () => {
    const detector = new CatalogConflictDetector(repo, new HybridLogicalClock("relay"), () => branches, log);
    return new CatalogEdits(repo, () => catalog, detector, log);
  };
  return { repo, catalog, conflicts, start };
}

/** Merges into the relay's catalog an edit made on a copy that did not see the relay's latest changes. */
function mergeEditorEdit(catalog: DocHandle<CatalogDoc>, copy: A.Doc<CatalogDoc>, price: number): void {
  const edited = A.change(copy, (doc) =>
    applyProductEdit(doc, SKU, { price }, { kind: "edit", user: "ana", userName: "Ana Ruiz", source: "hq:ana", at: "2026-03-01T10:00:00.000Z", reason: null, conflictId: null }),
  );
  catalog.update((doc) => A.merge(doc, edited));
}

describe("relay catalog edits", function () {
  before(async function () {
    // mocha loads test files through tsx's CommonJS hook. There automerge-repo
    // gets the CommonJS build of Automerge's slim entry, which nothing else
    // initializes, so this test gives it the WebAssembly module.
    const require = createRequire(import.meta.url);
    const slim = require("@automerge/automerge/slim") as typeof import("@automerge/automerge/slim");
    const { automergeWasmBase64 } = require("@automerge/automerge/automerge.wasm.base64") as { automergeWasmBase64: string };
    if (!slim.isWasmInitialized()) await slim.initializeBase64Wasm(automergeWasmBase64);
  });

  it("adds stamps to an older catalog", async function () {
    const { catalog, start } = relaySide();
    expect(catalog.doc().fieldEdits).to.equal(undefined);

    await start().follow(catalog);

    expect(catalog.doc().fieldEdits).to.deep.equal({});
  });

  it("detects, resolves and withdraws", async function () {
    const { catalog, conflicts, start } = relaySide();
    const edits = start();
    await edits.follow(catalog);
    const copy = A.clone(catalog.doc());
    await edits.edit(SKU, { user: "bruno", userName: "Bruno Paz", price: 18000 });
    mergeEditorEdit(catalog, copy, 17500);

    await edits.detector.idle();

    const [conflict] = listConflicts(conflicts.doc());
    expect(conflict!.kind).to.equal("catalog-edit");
    expect(conflict!.subject).to.equal("price");
    expect(conflict!.candidates!.map((c) => [c.value, c.setBy, c.source])).to.have.deep.members([
      ["17500", "ana", "hq:ana"],
      ["18000", "bruno", "relay"],
    ]);
    let invalid: unknown = null;
    await edits.chooseValue(conflict!.id, { value: "16000", manager: "gerente", reason: "old price" }).catch((error) => (invalid = error));
    expect(invalid).to.be.instanceOf(ValidationError);
    expect((invalid as ValidationError).code).to.equal("VALUE_INVALID");

    const choice = await edits.chooseValue(conflict!.id, { value: 17500, manager: "gerente", reason: "supplier list" });

    expect(choice.value).to.equal("17500");
    expect(readProduct(catalog.doc(), SKU)!.price).to.equal(17500);
    expect(listConflicts(conflicts.doc())).to.deep.equal([]);
    let again: unknown = null;
    await edits.chooseValue(conflict!.id, { value: 17500, manager: "gerente", reason: "twice" }).catch((error) => (again = error));
    expect((again as RuleError).code).to.equal("CONFLICT_RESOLVED");
  });

  it("finds conflicts again after a restart", async function () {
    const { catalog, conflicts, start } = relaySide();
    const before = start();
    await before.follow(catalog);
    const copy = A.clone(catalog.doc());
    await before.edit(SKU, { user: "bruno", stockBuffer: 4 });
    mergeEditorEdit(catalog, copy, 17500);
    await before.detector.idle();
    expect(listConflicts(conflicts.doc()), "edits of two fields are no conflict").to.deep.equal([]);
    // The relay stops, and a price conflict arrives while it is down.
    before.detector.close();
    const copy2 = A.clone(catalog.doc());
    await before.edit(SKU, { user: "bruno", price: 19000 });
    mergeEditorEdit(catalog, copy2, 17000);

    const after = start();
    await after.follow(catalog);
    await after.detector.idle();

    const found = listConflicts(conflicts.doc());
    expect(found.map((c) => c.subject)).to.deep.equal(["price"]);
    expect(found[0]!.candidates!.map((c) => c.value)).to.have.members(["17000", "19000"]);
  });

  it("gives a branch opened later the open conflicts", async function () {
    const { repo, catalog, conflicts, start } = relaySide();
    const edits = start();
    await edits.follow(catalog);
    const copy = A.clone(catalog.doc());
    await edits.edit(SKU, { user: "bruno", price: 18000 });
    mergeEditorEdit(catalog, copy, 17500);
    await edits.detector.idle();
    const heads = conflicts.heads();
    const later = { id: "B", conflicts: repo.create<ConflictsDoc>(initConflicts("B", ["T1", "relay"])) };

    await edits.detector.examineBranch(later);

    expect(listConflicts(later.conflicts.doc()).map((c) => c.subject)).to.deep.equal(["price"]);
    expect(conflicts.heads(), "the branch that already had it is not written again").to.deep.equal(heads);
  });
});
