import { expect } from "chai";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { relayStock, sell, smallCatalog, startStore, stockAt } from "./helpers/fixtures.ts";

describe("stock baselines", function () {
  const { csv, products } = smallCatalog(40);
  const product = products[2]!;
  let fixture: Awaited<ReturnType<typeof startStore>>;

  before(async function () {
    fixture = await startStore(
      [{ id: "A", name: "Sucursal Centro", timeZone: "America/Argentina/Buenos_Aires", terminals: ["T1", "T2"], openingStock: { default: 30 } }],
      csv,
    );
  });

  after(async function () {
    await fixture?.stop();
  });

  it("counts offline sales once across a roll", async function () {
    const { store } = fixture;
    for (let i = 0; i < 3; i++) expect((await sell(store.terminal("A", "T1").http, product, 1)).status).to.equal(201);
    await store.waitForConvergence("A");
    // T2 is cut off and keeps selling while the relay opens a new epoch.
    await store.isolate("A", "T2");
    await store.waitForMode("A", "T2", "offline");
    for (let i = 0; i < 4; i++) expect((await sell(store.terminal("A", "T2").http, product, 1)).status).to.equal(201);
    const rolled = await api<{ epoch: number }>(store.relayUrl, "/api/hq/branches/A/inventory/roll", { method: "POST" });
    expect(rolled.status).to.equal(200);
    expect(rolled.body.epoch).to.equal(2);
    await waitFor("T1 to switch epochs", async () => {
      const status = await api<{ inventoryEpoch: number }>(store.terminal("A", "T1").http, "/status");
      return status.body.inventoryEpoch === 2 ? true : undefined;
    });
    expect(await stockAt(store.terminal("A", "T1").http, product.sku)).to.equal(27);
    await store.reconnectAll();
    await waitFor("T2 to switch epochs", async () => {
      const status = await api<{ inventoryEpoch: number }>(store.terminal("A", "T2").http, "/status");
      return status.body.inventoryEpoch === 2 ? true : undefined;
    });
    await store.waitForConvergence("A");
    expect(await relayStock(store, "A", product.sku)).to.equal(23);
    expect(await stockAt(store.terminal("A", "T1").http, product.sku)).to.equal(23);
    expect(await stockAt(store.terminal("A", "T2").http, product.sku)).to.equal(23);
  });

  it("moves stock with goods received and adjustments", async function () {
    const { store } = fixture;
    const other = products[5]!;
    const t1 = store.terminal("A", "T1").http;
    const t2 = store.terminal("A", "T2").http;
    const received = await api<{ record: { stock: { sku: string; delta: number }[] } }>(t1, "/stock/receipts", {
      body: { lines: [{ sku: other.sku, qty: 5 }], reason: "delivery 42" },
    });
    expect(received.status, JSON.stringify(received.body)).to.equal(201);
    expect(received.body.record.stock).to.deep.equal([{ sku: other.sku, delta: 5 }]);
    const adjusted = await api(t2, "/stock/adjustments", { body: { lines: [{ sku: other.sku, qty: -2 }], reason: "broken" } });
    expect(adjusted.status, JSON.stringify(adjusted.body)).to.equal(201);
    const refused = await api<{ error: string }>(t2, "/stock/adjustments", { body: { lines: [{ sku: other.sku, qty: 0 }] } });
    expect(refused.status).to.equal(400);
    expect(refused.body.error).to.equal("LINE_QTY_INVALID");
    await store.waitForConvergence("A");
    expect(await relayStock(store, "A", other.sku)).to.equal(33);
    expect(await stockAt(t1, other.sku)).to.equal(33);
    expect(await stockAt(t2, other.sku)).to.equal(33);
  });
});
