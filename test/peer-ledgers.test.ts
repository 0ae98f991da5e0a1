import { expect } from "chai";
import type { LedgerRecord } from "@mercora/crdt-model";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { MANAGER, sell, smallCatalog, startStore, stockAt } from "./helpers/fixtures.ts";

const ZONE = "America/Mexico_City";

interface Status {
  lastSeq: number;
  ackedSeq: number;
  pending: number;
  ledgers: { documentId: string }[];
  forwarding: string[];
}

interface ZReport {
  sales: { count: number; total: number };
}

/**
 * A terminal gets its peers' ledgers over the LAN. Over the WAN the relay
 * sends it a peer's ledger only for a lookup that needs one, and a terminal
 * sends the relay a peer's ledger only when that peer has no WAN.
 */
describe("peer ledgers over the WAN", function () {
  const { csv, products } = smallCatalog(60);
  const product = products[5]!;
  let fixture: Awaited<ReturnType<typeof startStore>>;

  before(async function () {
    fixture = await startStore(
      [{ id: "P", name: "Refaccionaria del Norte", timeZone: ZONE, terminals: ["T1", "T2", "T3"], openingStock: { default: 40 } }],
      csv,
      ["--forward-after", "1000"],
    );
  });

  after(async function () {
    await fixture?.stop();
  });

  const http = (id: string) => fixture.store.terminal("P", id).http;
  const status = async (id: string) => (await api<Status>(http(id), "/status")).body;
  const heads = async (url: string) => (await api<{ heads: Record<string, string[]> }>(url, "/replica")).body.heads;
  const acked = async (id: string) => {
    const branch = await api<{ terminals: { id: string; ackedSeq: number }[] }>(fixture.store.relayUrl, "/api/hq/branches/P");
    return branch.body.terminals.find((t) => t.id === id)!.ackedSeq;
  };

  it("counts peer sales from the baseline", async function () {
    const { store } = fixture;
    await store.cutLan("P");
    const before = (await stockAt(http("T3"), product.sku))!;
    const sale = await sell(http("T1"), product, 3);
    expect(sale.status, JSON.stringify(sale.body)).to.equal(201);
    await waitFor("T3 to count T1's sale", async () => ((await stockAt(http("T3"), product.sku)) === before - 3 ? true : undefined));
    await waitFor("the relay to acknowledge T1's sale", async () => ((await acked("T1")) >= sale.body.record.seq ? true : undefined));
    // Give a copy of the ledger time to arrive, if the relay sent one.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const ledger = (await status("T1")).ledgers.at(-1)!.documentId;
    const atRelay = (await api<{ heads: Record<string, string[]> }>(store.relayUrl, "/api/hq/branches/P/replica")).body.heads[ledger];
    const atT3 = (await heads(http("T3")))[ledger];
    expect(atRelay, "the relay holds T1's ledger").to.be.an("array");
    expect(atT3, "T3 holds no copy of T1's newest changes").to.not.deep.equal(atRelay);
  });

  it("fetches peer sales for a Z report", async function () {
    const sale = await sell(http("T1"), product, 1);
    expect(sale.status).to.equal(201);
    const day = (sale.body.record as unknown as LedgerRecord).businessDay;
    await waitFor("the relay to acknowledge T1's sale", async () => ((await acked("T1")) >= sale.body.record.seq ? true : undefined));
    const atT1 = (await api<ZReport>(http("T1"), `/reports/z?day=${day}&scope=branch`)).body;
    const atT3 = (await api<ZReport>(http("T3"), `/reports/z?day=${day}&scope=branch`)).body;
    expect(atT3.sales).to.deep.equal(atT1.sales);
    expect(atT3.sales.count).to.be.at.least(2);
  });

  it("counts a peer's refund of a ticket", async function () {
    const sale = await sell(http("T1"), product, 2);
    expect(sale.status).to.equal(201);
    const refund = (qty: number) => ({
      original: sale.body.record.id,
      lines: [{ line: 1, qty }],
      tenders: [{ type: "cash", amount: product.price * qty }],
      reason: "customer returned it",
      ...MANAGER,
    });
    const first = await api<{ record: LedgerRecord }>(http("T1"), "/refunds", { body: refund(1) });
    expect(first.status, JSON.stringify(first.body)).to.equal(201);
    await waitFor("the relay to acknowledge T1's refund", async () => ((await acked("T1")) >= first.body.record.seq ? true : undefined));

    const tooMany = await api<{ error: string }>(http("T2"), "/refunds", { body: refund(2) });
    expect(tooMany.status, JSON.stringify(tooMany.body)).to.equal(400);
    expect(tooMany.body.error).to.equal("REFUND_EXCEEDS_SOLD");
    const rest = await api<{ record: LedgerRecord }>(http("T2"), "/refunds", { body: refund(1) });
    expect(rest.status, JSON.stringify(rest.body)).to.equal(201);
    expect(rest.body.record.refundOf).to.equal(sale.body.record.id);
  });

  it("forwards records of a peer without WAN", async function () {
    const { store } = fixture;
    await store.restoreLan("P");
    // The ledgers T2 and T3 looked up above sync with the relay until their WAN drops, so drop it.
    for (const id of ["T2", "T3"]) {
      await store.cutWan("P", id);
      await store.waitForMode("P", id, "lan-only");
      await store.restoreWan("P", id);
      await store.waitForMode("P", id, "online");
    }
    await store.cutWan("P", "T1");
    await store.waitForMode("P", "T1", "lan-only");
    const sale = await sell(http("T1"), product, 1);
    expect(sale.status).to.equal(201);
    expect(sale.body.record.offline).to.equal(true);
    await waitFor(
      "a peer to carry T1's sale to the relay",
      async () => ((await acked("T1")) >= sale.body.record.seq ? true : undefined),
      30_000,
    );
    const forwarding = [...(await status("T2")).forwarding, ...(await status("T3")).forwarding];
    expect(forwarding).to.include("T1");
    await store.restoreWan("P", "T1");
    await store.waitForConvergence("P");
  });
});
