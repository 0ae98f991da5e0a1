import { expect } from "chai";
import type { Conflict, LedgerRecord, ZReport } from "@mercora/crdt-model";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { MANAGER, relayStock, sell, smallCatalog, startStore, stockAt } from "./helpers/fixtures.ts";

const ZONE = "America/Argentina/Buenos_Aires";

interface VoidResponse {
  record: LedgerRecord;
  duplicate: boolean;
  receipt: string;
  error?: string;
  message?: string;
}

describe("voids", function () {
  const { csv, products } = smallCatalog(60);
  const product = products[7]!;
  let fixture: Awaited<ReturnType<typeof startStore>>;

  before(async function () {
    fixture = await startStore(
      [{ id: "V", name: "Kiosco El Puente", timeZone: ZONE, terminals: ["T1", "T2"], openingStock: { default: 50 } }],
      csv,
    );
  });

  after(async function () {
    await fixture?.stop();
  });

  it("voids a sale and keeps its folio used", async function () {
    const { store } = fixture;
    const t1 = store.terminal("V", "T1").http;
    const sale = (await sell(t1, product, 2)).body.record as unknown as LedgerRecord;
    expect(sale.folio).to.be.a("string");
    expect(await stockAt(t1, product.sku)).to.equal(48);

    const missing = await api<VoidResponse>(t1, "/voids", { body: { original: sale.id, ...MANAGER } });
    expect(missing.status).to.equal(400);
    expect(missing.body.error).to.equal("REASON_MISSING");
    const wrongPin = await api<VoidResponse>(t1, "/voids", { body: { original: sale.id, manager: "gerente", pin: "0000", reason: "typo" } });
    expect(wrongPin.status).to.equal(409);
    expect(wrongPin.body.error).to.equal("PIN_WRONG");

    const voided = await api<VoidResponse>(t1, "/voids", { body: { original: sale.id, ...MANAGER, reason: "charged twice by mistake" } });
    expect(voided.status, JSON.stringify(voided.body)).to.equal(201);
    const record = voided.body.record;
    expect(record.kind).to.equal("void");
    expect(record.voidOf).to.equal(sale.id);
    expect(record.total).to.equal(sale.total);
    expect(record.folio, "a void issues no folio of its own").to.equal(null);
    expect(record.authorizedBy).to.equal("gerente");
    expect(voided.body.receipt).to.include("*** ANULACIÓN ***");
    expect(voided.body.receipt).to.include(`Folio anulado: ${sale.folio}`);
    expect(voided.body.receipt).to.include(sale.id);
    expect(await stockAt(t1, product.sku)).to.equal(50);

    const again = await api<VoidResponse>(t1, "/voids", { body: { original: sale.id, ...MANAGER, reason: "again" } });
    expect(again.status).to.equal(409);
    expect(again.body.error).to.equal("TICKET_VOIDED");
    const refund = await api<{ error: string }>(t1, "/refunds", {
      body: { original: sale.id, tenders: [{ type: "cash", amount: product.price }], ...MANAGER, lines: [{ line: 1, qty: 1 }] },
    });
    expect(refund.status).to.equal(409);
    expect(refund.body.error).to.equal("TICKET_VOIDED");

    const next = (await sell(t1, product)).body.record as unknown as LedgerRecord;
    expect(next.folioNumber, "the voided number is never issued again").to.equal(sale.folioNumber! + 1);

    const report = (await api<ZReport>(t1, `/reports/z?day=${sale.businessDay}`)).body;
    expect(report.voids.count).to.equal(1);
    expect(report.voids.total).to.equal(sale.total);
    expect(report.voids.tickets).to.deep.equal([sale.id]);
    expect(report.net.total).to.equal(report.sales.total - report.refunds.total - sale.total);

    await store.waitForConvergence("V");
    expect(await relayStock(store, "V", product.sku)).to.equal(49);
    const summary = await api<{ folios: { voided: { void: string; ticket: string; folio: string }[] } }>(store.relayUrl, "/api/hq/branches/V");
    expect(summary.body.folios.voided).to.deep.equal([{ void: record.id, ticket: sale.id, folio: sale.folio, at: record.at }]);
    const relayReport = (await api<ZReport>(store.relayUrl, `/api/hq/branches/V/reports/z?day=${sale.businessDay}`)).body;
    expect(relayReport.voids.count).to.equal(1);
  });

  it("rejects a void of a partly refunded ticket", async function () {
    const t1 = fixture.store.terminal("V", "T1").http;
    const sale = (await sell(t1, product, 2)).body.record as unknown as LedgerRecord;
    const refund = await api(t1, "/refunds", {
      body: { original: sale.id, lines: [{ line: 1, qty: 1 }], tenders: [{ type: "cash", amount: product.price }], ...MANAGER },
    });
    expect(refund.status, JSON.stringify(refund.body)).to.equal(201);
    const voided = await api<VoidResponse>(t1, "/voids", { body: { original: sale.id, ...MANAGER, reason: "changed mind" } });
    expect(voided.status).to.equal(409);
    expect(voided.body.error).to.equal("TICKET_REFUNDED");
    expect(voided.body.message).to.include("refund what is left of it instead");
  });

  it("flags a void and a refund made apart", async function () {
    const { store } = fixture;
    const t1 = store.terminal("V", "T1").http;
    const t2 = store.terminal("V", "T2").http;
    const sale = (await sell(t1, product)).body.record as unknown as LedgerRecord;
    await waitFor("T2 to hold the ticket", async () => ((await api(t2, `/records/${sale.id}`)).status === 200 ? true : undefined));
    await store.isolate("V", "T1");
    await store.isolate("V", "T2");
    await store.waitForMode("V", "T1", "offline");
    await store.waitForMode("V", "T2", "offline");
    const voided = await api<VoidResponse>(t1, "/voids", { body: { original: sale.id, ...MANAGER, reason: "wrong item scanned" } });
    expect(voided.status, JSON.stringify(voided.body)).to.equal(201);
    const refunded = await api<{ record: LedgerRecord }>(t2, "/refunds", {
      body: { original: sale.id, tenders: [{ type: "cash", amount: product.price }], ...MANAGER, reason: "customer returned it" },
    });
    expect(refunded.status, JSON.stringify(refunded.body)).to.equal(201);

    await store.reconnectAll();
    await store.waitForConvergence("V");
    const id = `void-refund:${sale.id}`;
    for (const [name, base, prefix] of [["T1", t1, ""], ["T2", t2, ""], ["relay", store.relayUrl, "/api/hq/branches/V"]] as const) {
      const conflict = await waitFor(`${id} at ${name}`, async () => {
        const response = await api<Conflict>(base, `${prefix}/conflicts/${encodeURIComponent(id)}`);
        return response.status === 200 ? response.body : undefined;
      });
      expect(conflict.kind).to.equal("void-refund");
      expect(conflict.tickets[0]).to.equal(sale.id);
      expect(conflict.tickets.slice(1).sort()).to.deep.equal([voided.body.record.id, refunded.body.record.id].sort());
      expect(conflict.actions.map((a) => a.action)).to.deep.equal(["accept-loss", "recover-from-customer"]);
    }
    const resolved = await api<{ conflict: Conflict }>(t2, `/conflicts/${encodeURIComponent(id)}/resolutions`, {
      body: { ...MANAGER, action: "recover-from-customer", reason: "customer brings the refund back tomorrow" },
    });
    expect(resolved.status, JSON.stringify(resolved.body)).to.equal(201);
    expect(resolved.body.conflict.status).to.equal("resolved");
  });
});
