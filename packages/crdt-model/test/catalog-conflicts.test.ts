import * as A from "@automerge/automerge";
import { expect } from "chai";
import {
  ValidationError,
  applyProductEdit,
  initCatalog,
  parseProductEdit,
  putProducts,
  readFieldConflicts,
  readEditedFieldConflicts,
  readProduct,
  readProductEdits,
  setProductField,
  taxProfile,
} from "../src/index.ts";
import type { CatalogDoc, FieldEdit, Product } from "../src/index.ts";

const SKU = "7790060054954";

function product(overrides: Partial<Product> = {}): Product {
  return {
    sku: SKU,
    barcode: SKU,
    name: "Yerba Mate Suave 500 g",
    brand: "Playadito",
    presentation: "500.0 gr",
    price: 16000,
    taxCode: "IVA21",
    active: true,
    stockBuffer: 0,
    ...overrides,
  };
}

function stamp(user: string, source: string, at: string): FieldEdit {
  return { kind: "edit", user, userName: user.toUpperCase(), source, at, reason: null, conflictId: null };
}

/** Builds two replicas of a catalog with one product, as the relay creates it. */
function twoReplicas(): [A.Doc<CatalogDoc>, A.Doc<CatalogDoc>] {
  const profile = taxProfile("AR");
  const base = A.change(A.init<CatalogDoc>(), (doc) => {
    Object.assign(doc, initCatalog({ ...profile, rounding: profile.rounding }));
    putProducts(doc, [product()]);
  });
  return [A.clone(base), A.clone(base)];
}

describe("catalog edit conflicts", function () {
  it("names both concurrent prices", function () {
    let [ana, bruno] = twoReplicas();
    ana = A.change(ana, (doc) => applyProductEdit(doc, SKU, { price: 17500 }, stamp("ana", "hq:ana", "2026-03-01T10:00:00.000Z")));
    bruno = A.change(bruno, (doc) => applyProductEdit(doc, SKU, { price: 18000 }, stamp("bruno", "hq:bruno", "2026-03-01T11:00:00.000Z")));
    const merged = A.merge(ana, bruno);

    const conflicts = readFieldConflicts(merged, SKU);

    expect(conflicts).to.have.length(1);
    expect(conflicts[0]!.field).to.equal("price");
    expect(conflicts[0]!.id).to.match(new RegExp(`^catalog-edit:${SKU}:price:[0-9a-f]{12}$`));
    expect(conflicts[0]!.candidates.map((c) => [c.value, c.setBy, c.source])).to.deep.equal([
      ["17500", "ana", "hq:ana"],
      ["18000", "bruno", "hq:bruno"],
    ]);
    expect(readEditedFieldConflicts(merged).map((c) => c.id)).to.deep.equal([conflicts[0]!.id]);
  });

  it("ignores edits of different fields", function () {
    let [ana, bruno] = twoReplicas();
    ana = A.change(ana, (doc) => applyProductEdit(doc, SKU, { name: "Yerba Suave 500 g" }, stamp("ana", "hq:ana", "2026-03-01T10:00:00.000Z")));
    bruno = A.change(bruno, (doc) => applyProductEdit(doc, SKU, { stockBuffer: 3 }, stamp("bruno", "hq:bruno", "2026-03-01T11:00:00.000Z")));
    const merged = A.merge(ana, bruno);

    expect(readFieldConflicts(merged, SKU)).to.deep.equal([]);
    expect(readProduct(merged, SKU)!.name).to.equal("Yerba Suave 500 g");
    expect(readProduct(merged, SKU)!.stockBuffer).to.equal(3);
  });

  it("ignores the same value set twice", function () {
    let [ana, bruno] = twoReplicas();
    ana = A.change(ana, (doc) => applyProductEdit(doc, SKU, { price: 17500 }, stamp("ana", "hq:ana", "2026-03-01T10:00:00.000Z")));
    bruno = A.change(bruno, (doc) => applyProductEdit(doc, SKU, { price: 17500 }, stamp("bruno", "hq:bruno", "2026-03-01T11:00:00.000Z")));

    expect(readFieldConflicts(A.merge(ana, bruno), SKU)).to.deep.equal([]);
  });

  it("clears once a value is chosen", function () {
    let [ana, bruno] = twoReplicas();
    ana = A.change(ana, (doc) => applyProductEdit(doc, SKU, { stockBuffer: 2 }, stamp("ana", "hq:ana", "2026-03-01T10:00:00.000Z")));
    bruno = A.change(bruno, (doc) => applyProductEdit(doc, SKU, { stockBuffer: 5 }, stamp("bruno", "hq:bruno", "2026-03-01T11:00:00.000Z")));
    const merged = A.merge(ana, bruno);
    const [conflict] = readFieldConflicts(merged, SKU);
    expect(conflict!.candidates.map((c) => c.value)).to.deep.equal(["2", "5"]);
    const choice: FieldEdit = { ...stamp("gerente", "relay", "2026-03-02T09:00:00.000Z"), kind: "choice", reason: "supplier lead time", conflictId: conflict!.id };

    // The chosen value is written even where it already wins, so it supersedes both.
    const resolved = A.change(merged, (doc) => setProductField(doc, SKU, "stockBuffer", readProduct(merged, SKU)!.stockBuffer, choice));

    expect(readFieldConflicts(resolved, SKU)).to.deep.equal([]);
    expect(readProductEdits(resolved, SKU).stockBuffer).to.include({ kind: "choice", user: "gerente", reason: "supplier lead time" });
  });

  it("names a CSV import that changed the price", function () {
    let [relay, ana] = twoReplicas();
    relay = A.change(relay, (doc) => putProducts(doc, [product({ price: 16500 })], { ...stamp("csv-import", "relay", "2026-03-01T09:00:00.000Z"), kind: "import" }));
    ana = A.change(ana, (doc) => applyProductEdit(doc, SKU, { price: 17500, stockBuffer: 2 }, stamp("ana", "hq:ana", "2026-03-01T10:00:00.000Z")));
    const merged = A.merge(relay, ana);

    const conflicts = readFieldConflicts(merged, SKU);

    expect(conflicts.map((c) => c.field)).to.deep.equal(["price"]);
    expect(conflicts[0]!.candidates.map((c) => c.setBy)).to.deep.equal(["csv-import", "ana"]);
    expect(readProduct(merged, SKU)!.stockBuffer, "the import updates fields in place").to.equal(2);
  });
});

describe("catalog edit validation", function () {
  const [doc] = twoReplicas();

  it("accepts editable fields", function () {
    expect(parseProductEdit(doc, { price: 0, name: "  Yerba  ", active: false, stockBuffer: 4, taxCode: "IVA10.5" })).to.deep.equal({
      price: 0,
      name: "Yerba",
      active: false,
      stockBuffer: 4,
      taxCode: "IVA10.5",
    });
  });

  const cases: [string, unknown, string, RegExp][] = [
    ["price with decimals", { price: 175.5 }, "PRICE_INVALID", /price 175\.5 is not a whole number of minor units .*2 decimals.*26499 for 264\.99/],
    ["price as text", { price: "175.50" }, "PRICE_INVALID", /price "175\.50" must be a number of minor units/],
    ["negative price", { price: -1 }, "PRICE_INVALID", /price -1 is negative/],
    ["unknown tax code", { taxCode: "IVA99" }, "TAX_UNKNOWN", /Tax code "IVA99" is not in the catalog; use one of .*IVA21/],
    ["empty name", { name: "  " }, "NAME_INVALID", /name "  " must be text of 1 to 200 characters/],
    ["active as text", { active: "no" }, "ACTIVE_INVALID", /active "no" must be true or false/],
    ["fractional stock buffer", { stockBuffer: 1.5 }, "STOCK_BUFFER_INVALID", /stockBuffer 1\.5 must be a whole number/],
    ["unknown field", { barcode: "1" }, "FIELD_UNKNOWN", /Field "barcode" cannot be edited; the editable fields are price, name/],
    ["empty edit", {}, "EDIT_EMPTY", /sets no field/],
  ];
  for (const [name, input, code, message] of cases) {
    it(`rejects ${name}`, function () {
      let error: unknown = null;
      try {
        parseProductEdit(doc, input);
      } catch (caught) {
        error = caught;
      }
      expect(error).to.be.instanceOf(ValidationError);
      expect((error as ValidationError).code).to.equal(code);
      expect((error as ValidationError).message).to.match(message);
    });
  }
});
