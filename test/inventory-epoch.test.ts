import { expect } from "chai";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { relayStock, sell, smallCatalog, startStore, stockAt } from "./helpers/fixtures.ts";

describe("inventory epochs", function () {
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
});
