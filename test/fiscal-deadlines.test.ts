import { expect } from "chai";
import type { FiscalDebt, LedgerRecord } from "@mercora/crdt-model";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { sell, smallCatalog, startStore } from "./helpers/fixtures.ts";

interface FiscalStatus {
  fiscal: { pending: number; overdue: number; records: FiscalDebt[] };
}

const HOUR_MS = 3_600_000;

describe("fiscal deadlines", function () {
  const { csv, products } = smallCatalog(30);
  let fixture: Awaited<ReturnType<typeof startStore>>;

  before(async function () {
    fixture = await startStore(
      [{ id: "M", name: "Abarrotes La Güera", timeZone: "America/Mexico_City", terminals: ["T1"], openingStock: { default: 20 } }],
      csv,
      { country: "MX" },
    );
  });

  after(async function () {
    await fixture?.stop();
  });

  it("shows timers until the relay settles them", async function () {
    const { store } = fixture;
    const http = store.terminal("M", "T1").http;
    await store.isolate("M", "T1");
    await store.waitForMode("M", "T1", "offline");
    const sales: LedgerRecord[] = [];
    for (const product of products.slice(0, 2)) sales.push((await sell(http, product)).body.record as unknown as LedgerRecord);
    for (const sale of sales) {
      expect(sale.transmitBy, "Mexico: 72 hours from the document").to.equal(new Date(Date.parse(sale.at) + 72 * HOUR_MS).toISOString());
      expect(sale.provisionalFolio).to.match(/^T1-P-/);
    }

    const status = (await api<FiscalStatus>(http, "/status")).body.fiscal;
    expect(status.pending).to.equal(2);
    expect(status.overdue).to.equal(0);
    expect(status.records.map((d) => d.record)).to.deep.equal(sales.map((s) => s.id));
    for (const debt of status.records) {
      expect(debt.waitingFor).to.equal("relay");
      expect(debt.provisional).to.equal(true);
      expect(debt.msLeft).to.be.within(71 * HOUR_MS, 72 * HOUR_MS);
    }

    await store.reconnectAll();
    await store.waitForConvergence("M");
    await waitFor("the debt to settle at T1", async () => ((await api<FiscalStatus>(http, "/status")).body.fiscal.pending === 0 ? true : undefined));
    const atRelay = await waitFor("the debt to settle at the relay", async () => {
      const response = await api<{ pending: number }>(store.relayUrl, "/api/hq/branches/M/fiscal");
      return response.body.pending === 0 ? response.body : undefined;
    });
    expect(atRelay.pending).to.equal(0);
    const summary = await api<{ fiscal: { pending: number } }>(store.relayUrl, "/api/hq/branches/M");
    expect(summary.body.fiscal.pending).to.equal(0);
    const records = await api<LedgerRecord[]>(store.relayUrl, "/api/hq/branches/M/records");
    expect(records.body.map((r) => r.transmitBy)).to.deep.equal(sales.map((s) => s.transmitBy));
  });
});
