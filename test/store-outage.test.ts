import { expect } from "chai";
import type { Conflict, LedgerRecord, ProductInput } from "@mercora/crdt-model";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { directoryDocumentId, relayStock, sell, smallCatalog, startStore, stockAt } from "./helpers/fixtures.ts";

const ZONE = "America/Argentina/Buenos_Aires";

describe("store through an outage", function () {
  const { csv, products } = smallCatalog(200);
  const lastUnit = products[10]!;
  const lastUnitOfThree = products[11]!;
  const plenty = products[12]!;
  let fixture: Awaited<ReturnType<typeof startStore>>;

  before(async function () {
    fixture = await startStore(
      [
        {
          id: "A",
          name: "Sucursal Centro",
          timeZone: ZONE,
          terminals: ["T1", "T2", "T3"],
          openingStock: { default: 50, skus: { [lastUnit.sku]: 1, [lastUnitOfThree.sku]: 1 } },
        },
      ],
      csv,
    );
  });

  after(async function () {
    await fixture?.stop();
  });

  it("shares a sale over the LAN without WAN", async function () {
    const { store } = fixture;
    await store.cutWan("A");
    await store.waitForMode("A", "T1", "lan-only");
    await store.waitForMode("A", "T2", "lan-only");
    const sale = await sell(store.terminal("A", "T1").http, plenty, 3);
    expect(sale.status).to.equal(201);
    expect(sale.body.record.offline).to.equal(true);
    const seen = await waitFor("T2 to see the sale", async () => {
      const stock = await stockAt(store.terminal("A", "T2").http, plenty.sku);
      return stock === 47 ? stock : undefined;
    });
    expect(seen).to.equal(47);
    await store.restoreWan("A");
    await store.waitForConvergence("A");
    expect(await relayStock(store, "A", plenty.sku)).to.equal(47);
  });

  it("flags one oversell when two isolated terminals sell the last unit", async function () {
    const { store } = fixture;
    await store.isolate("A", "T1");
    await store.isolate("A", "T2");
    await store.waitForMode("A", "T1", "offline");
    await store.waitForMode("A", "T2", "offline");
    const first = await sell(store.terminal("A", "T1").http, lastUnit);
    const second = await sell(store.terminal("A", "T2").http, lastUnit);
    expect(first.status, JSON.stringify(first.body)).to.equal(201);
    expect(second.status, JSON.stringify(second.body)).to.equal(201);
    expect(await stockAt(store.terminal("A", "T1").http, lastUnit.sku)).to.equal(0);
    expect(await stockAt(store.terminal("A", "T2").http, lastUnit.sku)).to.equal(0);

    await store.reconnectAll();
    await store.waitForConvergence("A");
    const conflicts = await waitFor("the relay to flag the oversell", async () => {
      const response = await api<Conflict[]>(store.relayUrl, "/api/hq/branches/A/conflicts");
      const found = response.body.filter((c) => c.sku === lastUnit.sku);
      return found.length > 0 ? found : undefined;
    });
    for (const id of ["T1", "T2", "T3"]) {
      expect(await stockAt(store.terminal("A", id).http, lastUnit.sku), `stock at ${id}`).to.equal(-1);
    }
    expect(await relayStock(store, "A", lastUnit.sku)).to.equal(-1);
    expect(conflicts).to.have.length(1);
    expect(conflicts[0]!.kind).to.equal("oversell");
    expect(conflicts[0]!.shortfall).to.equal(1);
    const expectedTickets = [first.body.record, second.body.record]
      .sort((a, b) => (a.hlc < b.hlc ? -1 : 1))
      .map((r) => r.id);
    expect(conflicts[0]!.tickets).to.deep.equal(expectedTickets);
    const records = await api<LedgerRecord[]>(store.relayUrl, "/api/hq/branches/A/records");
    for (const id of expectedTickets) {
      expect(records.body.filter((r) => r.id === id), `relay holds ${id} once`).to.have.length(1);
    }
  });

  it("names three tickets when three terminals oversell", async function () {
    const { store } = fixture;
    for (const id of ["T1", "T2", "T3"]) await store.isolate("A", id);
    for (const id of ["T1", "T2", "T3"]) await store.waitForMode("A", id, "offline");
    const sales = [];
    for (const id of ["T1", "T2", "T3"]) {
      const sale = await sell(store.terminal("A", id).http, lastUnitOfThree);
      expect(sale.status, JSON.stringify(sale.body)).to.equal(201);
      sales.push(sale.body.record);
    }
    await store.reconnectAll();
    await store.waitForConvergence("A");
    const conflict = await waitFor("one conflict naming three tickets", async () => {
      const response = await api<Conflict[]>(store.relayUrl, "/api/hq/branches/A/conflicts");
      const found = response.body.filter((c) => c.sku === lastUnitOfThree.sku);
      return found.length === 1 && found[0]!.tickets.length === 3 ? found[0] : undefined;
    });
    expect(conflict.shortfall).to.equal(2);
    expect(conflict.tickets).to.deep.equal(sales.sort((a, b) => (a.hlc < b.hlc ? -1 : 1)).map((r) => r.id));
    expect(await relayStock(store, "A", lastUnitOfThree.sku)).to.equal(-2);
    for (const id of ["T1", "T2", "T3"]) {
      const local = await api<Conflict[]>(store.terminal("A", id).http, "/conflicts");
      expect(local.body.filter((c) => c.sku === lastUnitOfThree.sku), `conflicts at ${id}`).to.have.length(1);
    }
  });

  it("adds nothing when syncing again", async function () {
    const { store } = fixture;
    // Let the reconcilers of every replica finish with what the last test left.
    let previous = "";
    const before = await waitFor("the relay's documents to stay unchanged", async () => {
      const replica = await api<{ heads: Record<string, string[]> }>(store.relayUrl, "/api/hq/branches/A/replica");
      const current = JSON.stringify(replica.body.heads);
      const stable = current === previous;
      previous = current;
      return stable ? replica : undefined;
    }, 30_000, 1500);
    const conflictsBefore = await api<Conflict[]>(store.relayUrl, "/api/hq/branches/A/conflicts");
    await store.cutWan("A");
    await store.cutLan("A");
    await store.waitForMode("A", "T1", "offline");
    await store.reconnectAll();
    await store.waitForMode("A", "T1", "online");
    await store.waitForConvergence("A");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const after = await api<{ heads: Record<string, string[]> }>(store.relayUrl, "/api/hq/branches/A/replica");
    const conflictsAfter = await api<Conflict[]>(store.relayUrl, "/api/hq/branches/A/conflicts");
    // The outage itself is news: every terminal publishes its offline periods in the branch directory.
    const directory = await directoryDocumentId(fixture.root, "A");
    const withoutDirectory = (heads: Record<string, string[]>) => Object.fromEntries(Object.entries(heads).filter(([id]) => id !== directory));
    expect(Object.keys(after.body.heads)).to.include(directory);
    expect(withoutDirectory(after.body.heads)).to.deep.equal(withoutDirectory(before.body.heads));
    expect(conflictsAfter.body).to.deep.equal(conflictsBefore.body);
  });

  it("ingests records pushed through two paths once", async function () {
    const { store } = fixture;
    const t1 = store.terminal("A", "T1");
    await store.cutWan("A", "T1");
    await store.waitForMode("A", "T1", "lan-only");
    const stockBefore = await relayStock(store, "A", plenty.sku);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const sale = await sell(t1.http, plenty, 1);
      expect(sale.status).to.equal(201);
      ids.push(sale.body.record.id);
    }
    // T2 and T3 hold the records over the LAN and push them to the relay while
    // T1 pushes the same records itself once its WAN returns.
    await store.restoreWan("A", "T1");
    await store.waitForConvergence("A");
    const records = await api<LedgerRecord[]>(store.relayUrl, "/api/hq/branches/A/records");
    for (const id of ids) expect(records.body.filter((r) => r.id === id), id).to.have.length(1);
    expect(await relayStock(store, "A", plenty.sku)).to.equal(stockBefore! - 5);
    for (const id of ["T1", "T2", "T3"]) {
      expect(await stockAt(store.terminal("A", id).http, plenty.sku), `stock at ${id}`).to.equal(stockBefore! - 5);
    }
    const branch = await api<{ days: { tickets: number }[]; terminals: { id: string; ackedSeq: number }[] }>(
      store.relayUrl,
      "/api/hq/branches/A",
    );
    const status = await api<{ lastSeq: number }>(t1.http, "/status");
    expect(branch.body.terminals.find((t) => t.id === "T1")!.ackedSeq).to.equal(status.body.lastSeq);
    const ticketsAtRelay = branch.body.days.reduce((sum, d) => sum + d.tickets, 0);
    const salesAtRelay = records.body.filter((r) => r.kind === "sale").length;
    expect(ticketsAtRelay).to.equal(salesAtRelay);
  });

  it("drains the queue after the WAN drops mid catch-up", async function () {
    const { store } = fixture;
    const t3 = store.terminal("A", "T3");
    await store.isolate("A", "T3");
    await store.waitForMode("A", "T3", "offline");
    const before = (await api<{ lastSeq: number; ackedSeq: number }>(t3.http, "/status")).body;
    const count = 120;
    for (let i = 0; i < count; i++) {
      const sale = await sell(t3.http, products[20 + (i % 50)]!, 1);
      expect(sale.status).to.equal(201);
    }
    const queued = (await api<{ pending: number }>(t3.http, "/status")).body.pending;
    expect(queued).to.equal(before.lastSeq - before.ackedSeq + count);
    await store.restoreWan("A", "T3");
    // Cut again as soon as the relay acknowledges anything new.
    await waitFor("the relay to acknowledge part of the queue", async () => {
      const branch = await api<{ terminals: { id: string; ackedSeq: number }[] }>(store.relayUrl, "/api/hq/branches/A");
      const acked = branch.body.terminals.find((t) => t.id === "T3")!.ackedSeq;
      return acked > before.ackedSeq ? acked : undefined;
    }, 30_000, 10);
    await store.cutWan("A", "T3");
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await store.reconnectAll();
    const drained = await waitFor("T3's queue to drain", async () => {
      const status = await api<{ pending: number }>(t3.http, "/status");
      return status.body.pending === 0 ? status.body : undefined;
    }, 60_000);
    expect(drained.pending).to.equal(0);
    const records = await api<LedgerRecord[]>(store.relayUrl, "/api/hq/branches/A/records");
    const own = records.body.filter((r) => r.terminal === "T3");
    expect(new Set(own.map((r) => r.id)).size).to.equal(own.length);
    expect(own.length).to.equal(before.lastSeq + count);
  });
});
