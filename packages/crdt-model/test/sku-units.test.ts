import { expect } from "chai";
import { SkuUnits } from "../src/index.ts";

describe("SkuUnits", function () {
  it("reads what it was given", function () {
    const units = new SkuUnits([
      ["779", 3],
      ["780", 0],
    ]);
    expect(units.get("779")).to.equal(3);
    expect(units.get("780")).to.equal(0);
    expect(units.has("780")).to.equal(true);
    expect(units.get("781")).to.equal(undefined);
    expect(units.size).to.equal(2);
  });

  it("keeps each instance apart", function () {
    const first = new SkuUnits([["sku-a", 5]]);
    const second = new SkuUnits([["sku-b", -2]]);
    expect(first.get("sku-b")).to.equal(undefined);
    expect(second.get("sku-a")).to.equal(undefined);
    expect(Object.fromEntries(second.entries())).to.deep.equal({ "sku-b": -2 });
  });

  it("deletes, clears and lists entries", function () {
    const units = new SkuUnits([
      ["d1", 1],
      ["d2", 2],
      ["d3", 3],
    ]);
    units.delete("d2");
    units.delete("d2");
    expect(units.size).to.equal(2);
    expect([...units.keys()].filter((sku) => sku.startsWith("d"))).to.deep.equal(["d1", "d3"]);
    units.clear();
    expect(units.size).to.equal(0);
    expect(units.get("d1")).to.equal(undefined);
    units.set("d1", 9);
    expect(units.get("d1")).to.equal(9);
  });

  it("grows past the table size", function () {
    const units = new SkuUnits();
    for (let i = 0; i < 20_000; i++) units.set(`grow-${i}`, i);
    expect(units.size).to.equal(20_000);
    expect(units.get("grow-19999")).to.equal(19_999);
    expect(units.get("grow-0")).to.equal(0);
  });
});
