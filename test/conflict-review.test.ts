import { readFile } from "node:fs/promises";
import { expect } from "chai";
import type { AuditEntry, Conflict, LedgerRecord } from "@mercora/crdt-model";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { MANAGER, relayStock, sell, smallCatalog, startStore, stockAt } from "./helpers/fixtures.ts";

const ZONE = "America/Argentina/Buenos_Aires";

interface ApiFailure {
  error: string;
  message: string;
}

describe("conflict review", function () {
  const { csv, products } = smallCatalog(60);
  const contested = products[5]!;
  const plenty = products[6]!;
  let fixture: Awaited<ReturnType<typeof startStore>>;
  const replicas = () => {
    const { store } = fixture;
    return [
      { name: "T1", base: store.terminal("R", "T1").http, prefix: "" },
      { name: "T2", base: store.terminal("R", "T2").http, prefix: "" },
      { name: "relay", base: store.relayUrl, prefix: "/api/hq/branches/R" },
    ];
  };

  before(async function () {
    fixture = await startStore(
      [{ id: "R", name: "Ferretería Central", timeZone: ZONE, terminals: ["T1", "T2"], openingStock: { default: 50, skus: { [contested.sku]: 1 } } }],
      csv,
    );
  });

  after(async function () {
    await fixture?.stop();
  });

  /** Both terminals sell the last unit of `contested` while cut off, then reconnect; returns the oversell. */
  async function oversell(expectedId: string): Promise<{ conflict: Conflict; sales: LedgerRecord[] }> {
    const { store } = fixture;
    await store.isolate("R", "T1");
    await store.isolate("R", "T2");
    await store.waitForMode("R", "T1", "offline");
    await store.waitForMode("R", "T2", "offline");
    const sales: LedgerRecord[] = [];
    for (const id of ["T1", "T2"]) {
      const sale = await sell(store.terminal("R", id).http, contested);
      expect(sale.status, JSON.stringify(sale.body)).to.equal(201);
      sales.push(sale.body.record as unknown as LedgerRecord);
    }
    await store.reconnectAll();
    await store.waitForConvergence("R");
    const conflict = await waitFor(`${expectedId} on every replica`, async () => {
      for (const replica of replicas()) {
        const found = await api<Conflict>(replica.base, `${replica.prefix}/conflicts/${encodeURIComponent(expectedId)}`);
        if (found.status !== 200 || found.body.tickets.length !== 2) return undefined;
      }
      return (await api<Conflict>(store.relayUrl, `/api/hq/branches/R/conflicts/${encodeURIComponent(expectedId)}`)).body;
    });
    return { conflict, sales };
  }

  it("lets one of two apart resolutions stand", async function () {
    const { store } = fixture;
    const { conflict, sales } = await oversell(`oversell:${contested.sku}`);
    expect(conflict.status).to.equal("open");
    expect(conflict.actions.map((a) => a.action)).to.deep.equal(["accept-backorder", "record-found-stock", "refund-customer"]);

    await store.isolate("R", "T1");
    await store.isolate("R", "T2");
    await store.waitForMode("R", "T1", "offline");
    await store.waitForMode("R", "T2", "offline");
    const path = `/conflicts/${encodeURIComponent(conflict.id)}/resolutions`;
    const found = await api<{ conflict: Conflict; entry: AuditEntry }>(store.terminal("R", "T1").http, path, {
      body: { ...MANAGER, action: "record-found-stock", quantity: 1, reason: "one more box in the back room" },
    });
    expect(found.status, JSON.stringify(found.body)).to.equal(201);
    expect(found.body.entry.outcome).to.equal("standing");
    expect(found.body.conflict.status).to.equal("resolved");
    const refunded = await api<{ conflict: Conflict; entry: AuditEntry }>(store.terminal("R", "T2").http, path, {
      body: { ...MANAGER, action: "refund-customer", value: sales[1]!.id, reason: "customer prefers the money back" },
    });
    expect(refunded.status, JSON.stringify(refunded.body)).to.equal(201);
    expect(refunded.body.entry.outcome).to.equal("standing");
    expect(found.body.entry.records).to.have.length(1);
    expect(refunded.body.entry.records).to.have.length(1);

    // The rule in docs/conflicts.md: the earliest action by HLC is standing, ties go to the lower replica id.
    const entries = [found.body.entry, refunded.body.entry];
    const byRule = (a: AuditEntry, b: AuditEntry) => {
      if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1;
      return a.replica < b.replica ? -1 : 1;
    };
    const expectedStanding = [...entries].sort(byRule)[0]!;
    await store.reconnectAll();
    await store.waitForConvergence("R");
    for (const replica of replicas()) {
      const merged = await waitFor(`both actions at ${replica.name}`, async () => {
        const response = await api<Conflict>(replica.base, `${replica.prefix}/conflicts/${encodeURIComponent(conflict.id)}`);
        return response.body.audit?.length === 2 ? response.body : undefined;
      });
      expect(merged.status, replica.name).to.equal("resolved");
      expect(merged.resolution!.id, replica.name).to.equal(expectedStanding.id);
      expect(merged.audit.map((e) => e.outcome), replica.name).to.deep.equal(["standing", "superseded"]);
      expect(merged.audit.map((e) => e.id).sort(), replica.name).to.deep.equal(entries.map((e) => e.id).sort());
      const audit = await api<AuditEntry[]>(replica.base, `${replica.prefix}/audit?limit=10`);
      expect(audit.body.filter((e) => e.conflictId === conflict.id), replica.name).to.have.length(2);
      const open = await api<Conflict[]>(replica.base, `${replica.prefix}/conflicts`);
      expect(open.body.map((c) => c.id), replica.name).to.not.include(conflict.id);
    }

    // Both records the actions wrote stand: -1 + 1 found + 1 refunded.
    const records = await api<LedgerRecord[]>(store.relayUrl, "/api/hq/branches/R/records");
    for (const id of [...found.body.entry.records, ...refunded.body.entry.records]) {
      expect(records.body.filter((r) => r.id === id), id).to.have.length(1);
    }
    const adjustment = records.body.find((r) => r.id === found.body.entry.records[0])!;
    expect(adjustment.kind).to.equal("stock-adjustment");
    expect(adjustment.cashier).to.equal("gerente");
    const refund = records.body.find((r) => r.id === refunded.body.entry.records[0])!;
    expect(refund.kind).to.equal("refund");
    expect(refund.refundOf).to.equal(sales[1]!.id);
    expect(await relayStock(store, "R", contested.sku)).to.equal(1);
    for (const id of ["T1", "T2"]) expect(await stockAt(store.terminal("R", id).http, contested.sku), id).to.equal(1);
  });

  it("rejects bad resolutions with nothing written", async function () {
    const { store } = fixture;
    const t1 = store.terminal("R", "T1");
    const resolved = `/conflicts/${encodeURIComponent(`oversell:${contested.sku}`)}/resolutions`;

    const cases: [string, Record<string, unknown>, number, string][] = [
      [resolved, { ...MANAGER, action: "accept-backorder", reason: "again" }, 409, "CONFLICT_RESOLVED"],
      ["/conflicts/oversell%3Anothing/resolutions", { ...MANAGER, action: "acknowledge", reason: "x" }, 404, "CONFLICT_UNKNOWN"],
    ];
    for (const [path, body, status, code] of cases) {
      const response = await api<ApiFailure>(t1.http, path, { body });
      expect(response.status, JSON.stringify(response.body)).to.equal(status);
      expect(response.body.error).to.equal(code);
    }

    // A later oversell of the resolved SKU is a new conflict, with only the new tickets.
    const { conflict, sales } = await oversell(`oversell:${contested.sku}:2`);
    expect(conflict.tickets, "only the new tickets").to.have.members(sales.map((s) => s.id));
    const auditBefore = (await api<AuditEntry[]>(t1.http, "/audit")).body.length;
    const seqBefore = (await api<{ lastSeq: number }>(t1.http, "/status")).body.lastSeq;
    const path = `/conflicts/${encodeURIComponent(conflict.id)}/resolutions`;
    const bad: [Record<string, unknown>, number, string][] = [
      [{ ...MANAGER, action: "accept-loss", reason: "wrong kind" }, 400, "ACTION_INVALID"],
      [{ ...MANAGER, action: "accept-backorder" }, 400, "REASON_MISSING"],
      [{ ...MANAGER, action: "record-found-stock", quantity: 0, reason: "none" }, 400, "QUANTITY_INVALID"],
      [{ ...MANAGER, action: "refund-customer", value: "R-T9-00000001", reason: "unknown ticket" }, 400, "VALUE_INVALID"],
      [{ manager: "gerente", pin: "0000", action: "accept-backorder", reason: "wrong PIN" }, 409, "PIN_WRONG"],
      [{ manager: "cajero", pin: "1357", action: "accept-backorder", reason: "not a manager" }, 409, "MANAGER_REQUIRED"],
      [{ manager: "nadie", pin: "1357", action: "accept-backorder", reason: "unknown user" }, 409, "USER_UNKNOWN"],
    ];
    for (const [body, status, code] of bad) {
      const response = await api<ApiFailure>(t1.http, path, { body });
      expect(response.status, JSON.stringify(response.body)).to.equal(status);
      expect(response.body.error).to.equal(code);
    }
    const invalid = await api<ApiFailure>(t1.http, path, { body: { ...MANAGER, action: "accept-loss", reason: "wrong kind" } });
    expect(invalid.body.message).to.include("use one of accept-backorder, record-found-stock, refund-customer");
    const hq = await api<ApiFailure>(store.relayUrl, `/api/hq/branches/R${path}`, { body: { manager: "gerente", pin: "9999", action: "accept-backorder", reason: "wrong PIN at HQ" } });
    expect(hq.status).to.equal(409);
    expect(hq.body.error).to.equal("PIN_WRONG");

    expect((await api<AuditEntry[]>(t1.http, "/audit")).body).to.have.length(auditBefore);
    expect((await api<{ lastSeq: number }>(t1.http, "/status")).body.lastSeq, "no record written").to.equal(seqBefore);
    expect((await api<Conflict>(t1.http, `/conflicts/${encodeURIComponent(conflict.id)}`)).body.status).to.equal("open");
    const log = await readFile(t1.process.logPath, "utf8");
    expect(log).to.match(/"action":"resolution of conflict oversell:[^"]+:2".*"msg":"wrong PIN"/);
    expect(log).to.include("PIN rejected: not a manager");
  });

  it("resolves at HQ with a refund from the relay", async function () {
    const { store } = fixture;
    const [conflict] = (await api<Conflict[]>(store.relayUrl, "/api/hq/branches/R/conflicts")).body.filter((c) => c.sku === contested.sku);
    expect(conflict!.id).to.equal(`oversell:${contested.sku}:2`);
    const ticket = conflict!.tickets[0]!;
    const resolved = await api<{ conflict: Conflict; entry: AuditEntry }>(
      store.relayUrl,
      `/api/hq/branches/R/conflicts/${encodeURIComponent(conflict!.id)}/resolutions`,
      { body: { ...MANAGER, action: "refund-customer", value: ticket, reason: "HQ refunds the customer by phone" } },
    );
    expect(resolved.status, JSON.stringify(resolved.body)).to.equal(201);
    expect(resolved.body.entry.replica).to.equal("relay");
    expect(resolved.body.entry.records).to.deep.equal(["R-relay-00000001"]);
    expect(resolved.body.conflict.status).to.equal("resolved");
    await store.waitForConvergence("R");
    for (const id of ["T1", "T2"]) {
      const seen = await waitFor(`the HQ resolution at ${id}`, async () => {
        const response = await api<Conflict>(store.terminal("R", id).http, `/conflicts/${encodeURIComponent(conflict!.id)}`);
        return response.body.status === "resolved" ? response.body : undefined;
      });
      expect(seen.resolution!.replica).to.equal("relay");
      // The resolution and the refund travel in different documents, so the refund can arrive after it.
      const record = await waitFor(`the relay's refund at ${id}`, async () => {
        const response = await api<LedgerRecord>(store.terminal("R", id).http, "/records/R-relay-00000001");
        return response.status === 200 ? response.body : undefined;
      });
      expect(record.refundOf).to.equal(ticket);
      expect(await stockAt(store.terminal("R", id).http, contested.sku), id).to.equal(0);
    }
    const branch = await api<{ terminals: { id: string }[] }>(store.relayUrl, "/api/hq/branches/R");
    expect(branch.body.terminals.map((t) => t.id)).to.deep.equal(["T1", "T2"]);
    const acked = await waitFor("the relay to ingest its own record", async () => {
      const replica = await api<LedgerRecord[]>(store.relayUrl, "/api/hq/branches/R/records");
      return replica.body.some((r) => r.id === "R-relay-00000001") ? true : undefined;
    });
    expect(acked).to.equal(true);
    expect(await relayStock(store, "R", contested.sku)).to.equal(0);
    const integrity = (await api<Conflict[]>(store.relayUrl, "/api/hq/branches/R/conflicts?status=all")).body.filter((c) => c.kind === "integrity");
    expect(integrity, JSON.stringify(integrity)).to.deep.equal([]);
  });
});
