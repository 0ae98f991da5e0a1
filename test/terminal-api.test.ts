import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { sell, smallCatalog, startStore, stockAt } from "./helpers/fixtures.ts";

const ZONE = "America/Argentina/Buenos_Aires";

describe("terminal API", function () {
  const { csv, products } = smallCatalog(60);
  const product = products[3]!;
  const other = products[4]!;
  const buffered = products[8]!;
  let fixture: Awaited<ReturnType<typeof startStore>>;
  let http: string;

  before(async function () {
    fixture = await startStore(
      [{ id: "A", name: "Sucursal Centro", timeZone: ZONE, terminals: ["T1"], openingStock: { default: 10, skus: { [buffered.sku]: 3 } } }],
      csv,
    );
    http = fixture.store.terminal("A", "T1").http;
    // Give one SKU a stock buffer of 2 by importing its catalog row again.
    const header = csv.split("\n")[0]!;
    const row = csv.split("\n").find((line) => line.startsWith(`"${buffered.sku}"`))!;
    const imported = await api(fixture.store.relayUrl, "/api/hq/catalog?stockBuffer=2", {
      rawBody: `${header}\n${row}\n`,
      contentType: "text/csv",
    });
    expect(imported.status).to.equal(200);
    await waitFor("the buffer to reach the terminal", async () => {
      const found = await api<{ stockBuffer: number }>(http, `/products/${buffered.sku}`);
      return found.body.stockBuffer === 2 ? true : undefined;
    });
  });

  after(async function () {
    await fixture?.stop();
  });

  async function expectRejected(body: unknown, status: number, code: string, raw?: string) {
    const before = await api<{ lastSeq: number }>(http, "/status");
    const stock = await stockAt(http, product.sku);
    const response = raw === undefined ? await api<{ error: string; message: string }>(http, "/sales", { body }) : await api<{ error: string; message: string }>(http, "/sales", { rawBody: raw });
    expect(response.status, JSON.stringify(response.body)).to.equal(status);
    expect(response.body.error).to.equal(code);
    expect(response.body.message).to.be.a("string").and.not.equal("");
    const after = await api<{ lastSeq: number }>(http, "/status");
    expect(after.body.lastSeq, "no record written").to.equal(before.body.lastSeq);
    expect(await stockAt(http, product.sku), "stock unchanged").to.equal(stock);
    return response.body;
  }

  it("rejects an unknown SKU", async function () {
    const body = await expectRejected({ lines: [{ sku: "0000000000000", qty: 1 }], tenders: [{ type: "cash", amount: 100 }] }, 400, "SKU_UNKNOWN");
    expect(body.message).to.include("0000000000000");
  });

  it("rejects zero, negative and fractional quantities", async function () {
    for (const qty of [0, -1, 1.5, "2"]) {
      const body = await expectRejected(
        { lines: [{ sku: product.sku, qty }], tenders: [{ type: "cash", amount: product.price }] },
        400,
        "LINE_QTY_INVALID",
      );
      expect(body.message).to.include(JSON.stringify(qty));
    }
  });

  it("rejects tenders short of the total", async function () {
    const body = await expectRejected(
      { lines: [{ sku: product.sku, qty: 2 }], tenders: [{ type: "cash", amount: product.price }, { type: "card", amount: product.price - 1 }] },
      400,
      "TENDERS_SHORT",
    );
    expect(body.message).to.include("leave 1 still due");
  });

  it("rejects card tenders over the total", async function () {
    await expectRejected(
      { lines: [{ sku: product.sku, qty: 1 }], tenders: [{ type: "card", amount: product.price + 100 }] },
      400,
      "TENDERS_OVER",
    );
  });

  it("rejects malformed JSON", async function () {
    await expectRejected(undefined, 400, "BODY_INVALID", '{"lines": [');
  });

  it("rejects a sale without lines", async function () {
    await expectRejected({ lines: [], tenders: [{ type: "cash", amount: 1 }] }, 400, "LINES_MISSING");
  });

  it("sells split tenders with change on cash", async function () {
    const total = product.price * 2 + other.price;
    const response = await api<{ record: { total: number; change: number; tax: number; lines: { tax: number }[]; tenders: unknown[] } }>(http, "/sales", {
      body: {
        lines: [{ sku: product.sku, qty: 2 }, { barcode: other.barcode, qty: 1 }],
        tenders: [{ type: "card", amount: total - 1000 }, { type: "transfer", amount: 500 }, { type: "cash", amount: 1000 }],
      },
    });
    expect(response.status).to.equal(201);
    expect(response.body.record.total).to.equal(total);
    expect(response.body.record.change).to.equal(500);
    expect(response.body.record.tax).to.equal(response.body.record.lines.reduce((s, l) => s + l.tax, 0));
  });

  it("returns the same record for a repeated request id", async function () {
    const first = await sell(http, product, 1, "till-1-ticket-77");
    const again = await sell(http, product, 1, "till-1-ticket-77");
    expect(first.status).to.equal(201);
    expect(again.status).to.equal(200);
    expect(again.body.duplicate).to.equal(true);
    expect(again.body.record.id).to.equal(first.body.record.id);
  });

  it("refuses an offline sale below the stock buffer", async function () {
    const { store } = fixture;
    await store.cutWan("A");
    await store.waitForMode("A", "T1", "offline");
    const refused = await sell(http, buffered, 2);
    expect(refused.status).to.equal(409);
    expect(refused.body.error).to.equal("STOCK_BUFFER");
    expect(refused.body.message).to.include("known stock is 3");
    expect(refused.body.message).to.include("buffer for this SKU is 2");
    const allowed = await sell(http, buffered, 1);
    expect(allowed.status).to.equal(201);
    await store.restoreWan("A");
    await store.waitForMode("A", "T1", "online");
    const online = await sell(http, buffered, 2);
    expect(online.status).to.equal(201);
    expect(await stockAt(http, buffered.sku)).to.equal(0);
  });

  it("logs the manual offline switch", async function () {
    const { store } = fixture;
    const missingPin = await api<{ error: string }>(http, "/wan/offline", { body: { offline: true, manager: "gerente" } });
    expect(missingPin.status).to.equal(400);
    expect(missingPin.body.error).to.equal("MANAGER_PIN_MISSING");
    const cashier = await api<{ error: string }>(http, "/wan/offline", { body: { offline: true, manager: "cajero", pin: "1357" } });
    expect(cashier.status).to.equal(409);
    expect(cashier.body.error).to.equal("MANAGER_REQUIRED");
    const switched = await api<{ manualOffline: boolean }>(http, "/wan/offline", {
      body: { offline: true, manager: "gerente", pin: "2468", reason: "mudanza de caja" },
    });
    expect(switched.body.manualOffline).to.equal(true);
    const status = await store.waitForMode("A", "T1", "offline");
    expect(status).to.include({ manualOffline: true });
    // The relay is reachable, yet the terminal stays offline until switched back.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await api<{ mode: string }>(http, "/status")).body.mode).to.equal("offline");
    await api(http, "/wan/offline", { body: { offline: false, manager: "gerente", pin: "2468" } });
    await store.waitForMode("A", "T1", "online");
    const log = await readFile(join(store.terminal("A", "T1").dataDir, "connectivity.jsonl"), "utf8");
    const events = log.trim().split("\n").map((line) => JSON.parse(line) as { event: string; by?: string; reason?: string });
    const manualOff = events.find((e) => e.event === "manual-offline");
    expect(manualOff).to.include({ by: "gerente", reason: "mudanza de caja" });
    expect(events.some((e) => e.event === "manual-online" && e.by === "gerente")).to.equal(true);
  });

  it("reports cash movements and bad ones", async function () {
    const ok = await api<{ record: { kind: string; cashAmount: number; reason: string } }>(http, "/cash-movements", {
      body: { reason: "opening-float", amount: 500000, cashier: "Lucía" },
    });
    expect(ok.status).to.equal(201);
    expect(ok.body.record).to.include({ kind: "cash-movement", cashAmount: 500000, reason: "opening-float" });
    const bad = await api<{ error: string }>(http, "/cash-movements", { body: { reason: "tip", amount: 10 } });
    expect(bad.status).to.equal(400);
    expect(bad.body.error).to.equal("CASH_REASON_INVALID");
  });

  it("prints a receipt for every sale", async function () {
    const receipts = await waitFor("receipts to be written", async () => {
      const status = await api<{ printer: { printed: number } }>(http, "/status");
      return status.body.printer.printed > 0 ? status.body.printer : undefined;
    });
    expect(receipts.printed).to.be.greaterThan(0);
    const status = await api<{ ledgers: { businessDay: string }[] }>(http, "/status");
    const text = await readFile(join(`${fixture.store.terminal("A", "T1").dataDir}-receipts`, `${status.body.ledgers[0]!.businessDay}.txt`), "utf8");
    expect(text).to.include("TOTAL");
    expect(text).to.include(product.name.slice(0, 20));
  });
});
