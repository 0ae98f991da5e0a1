import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import type { LedgerRecord } from "@mercora/crdt-model";
import { api, mercoraArgs, startMercora, waitFor } from "../scripts/lib/processes.ts";
import { sell, smallCatalog, startStore, stockAt } from "./helpers/fixtures.ts";

const ZONE = "America/Argentina/Buenos_Aires";

async function chunkFiles(dir: string): Promise<{ path: string; mtimeMs: number; size: number }[]> {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".chunk")) continue;
    const path = join(entry.parentPath, entry.name);
    const info = await stat(path);
    out.push({ path, mtimeMs: info.mtimeMs, size: info.size });
  }
  return out;
}

describe("terminal durability", function () {
  const { csv, products } = smallCatalog(120);
  let fixture: Awaited<ReturnType<typeof startStore>>;

  before(async function () {
    fixture = await startStore(
      [{ id: "A", name: "Sucursal Centro", timeZone: ZONE, terminals: ["T1", "T2"], openingStock: { default: 100 } }],
      csv,
    );
  });

  after(async function () {
    await fixture?.stop();
  });

  it("keeps acknowledged sales after kill -9", async function () {
    const { store } = fixture;
    const t1 = store.terminal("A", "T1");
    await store.isolate("A", "T1");
    const product = products[5]!;
    const before = await stockAt(t1.http, product.sku);
    const acknowledged: string[] = [];
    // Sales go out back to back and the kill follows the last acknowledgement at once.
    for (let i = 0; i < 25; i++) {
      const sale = await sell(t1.http, product, 1);
      expect(sale.status).to.equal(201);
      acknowledged.push(sale.body.record.id);
    }
    await store.killTerminal("A", "T1");
    const restarted = await store.restartTerminal("A", "T1");
    const records = await api<LedgerRecord[]>(restarted.http, "/records");
    const ids = records.body.map((r) => r.id);
    for (const id of acknowledged) expect(ids, `acknowledged ${id}`).to.include(id);
    expect(await stockAt(restarted.http, product.sku)).to.equal(before! - 25);
    const sold = records.body.filter((r) => r.kind === "sale" && r.lines.some((l) => l.sku === product.sku)).length;
    expect(before! - sold).to.equal(await stockAt(restarted.http, product.sku));
    await store.reconnectAll();
    await store.waitForConvergence("A");
  });

  it("keeps a burst of sales after kill -9", async function () {
    const { store } = fixture;
    const t1 = store.terminal("A", "T1");
    await store.isolate("A", "T1");
    const product = products[8]!;
    const before = await stockAt(t1.http, product.sku);
    // Concurrent requests may run their writes without the event loop turning between them, so records may be
    // appended in batches. The kill comes before automerge-repo saves the ledger, so the restart appends them from the log.
    const sales = await Promise.all(Array.from({ length: 12 }, () => sell(t1.http, product, 1)));
    for (const sale of sales) expect(sale.status, JSON.stringify(sale.body)).to.equal(201);
    await store.killTerminal("A", "T1");
    const restarted = await store.restartTerminal("A", "T1");
    const records = await api<LedgerRecord[]>(restarted.http, "/records");
    const ids = records.body.map((r) => r.id);
    for (const sale of sales) expect(ids.filter((id) => id === sale.body.record.id), `acknowledged ${sale.body.record.id}`).to.have.length(1);
    expect(await stockAt(restarted.http, product.sku)).to.equal(before! - 12);
    await store.reconnectAll();
    await store.waitForConvergence("A");
  });

  it("appends waiting sales at a clean stop", async function () {
    const { store } = fixture;
    const t1 = store.terminal("A", "T1");
    await store.isolate("A", "T1");
    const product = products[9]!;
    const sales = await Promise.all(Array.from({ length: 6 }, () => sell(t1.http, product, 1)));
    for (const sale of sales) expect(sale.status, JSON.stringify(sale.body)).to.equal(201);
    await t1.process.stop();
    const logged = (await readFile(t1.process.logPath, "utf8")).length;
    const restarted = await store.restartTerminal("A", "T1");
    const log = (await readFile(restarted.process.logPath, "utf8")).slice(logged);
    // The stop made the ledger changes and its checkpoint covered them, so this start has nothing to replay.
    expect(log).to.include("terminal started");
    expect(log).to.not.include("write-ahead log replayed");
    const records = await api<LedgerRecord[]>(restarted.http, "/records");
    for (const sale of sales) expect(records.body.map((r) => r.id)).to.include(sale.body.record.id);
    await store.reconnectAll();
    await store.waitForConvergence("A");
  });

  it("replays a sale logged before a crash", async function () {
    const { store, root } = fixture;
    const t2 = store.terminal("A", "T2");
    await store.isolate("A", "T2");
    const product = products[6]!;
    const before = await stockAt(t2.http, product.sku);
    await t2.process.stop();
    // Start T2 with the fault that kills it once the sale's record is in the
    // write-ahead log, before it responds and before the ledger change exists.
    const args = mercoraArgs(t2.process.child);
    const faulty = await (async () => {
      process.env.MERCORA_FAULT = "crash-after-log";
      try {
        return await startMercora("faulty T2", args, join(root, "logs", "A-T2-faulty.log"));
      } finally {
        delete process.env.MERCORA_FAULT;
      }
    })();
    const signedIn = await api(faulty.ready.http, "/sessions", { body: { user: "cajero", pin: "1357" } });
    expect(signedIn.status).to.equal(201);
    const attempt = await sell(faulty.ready.http, product, 2).catch((error: Error) => error);
    expect(attempt).to.be.instanceOf(Error);
    expect(await faulty.exited).to.equal(null);
    const restarted = await store.restartTerminal("A", "T2");
    const records = await api<LedgerRecord[]>(restarted.http, "/records");
    const crashed = records.body.filter((r) => r.lines.some((l) => l.sku === product.sku && l.qty === 2));
    expect(crashed).to.have.length(1);
    // The sale and its stock delta are one record of one document, so the stock moved exactly once.
    expect(await stockAt(restarted.http, product.sku)).to.equal(before! - 2);
    const log = await readFile(restarted.process.logPath, "utf8");
    expect(log).to.include("write-ahead log replayed");
    const next = await sell(restarted.http, product, 1);
    expect(next.status).to.equal(201);
    expect(next.body.record.seq).to.equal(crashed[0]!.seq + 1);
    await store.reconnectAll();
    await store.waitForConvergence("A");
  });

  async function damageAndRecover(damage: "flip" | "cut") {
    const { store } = fixture;
    const before = (await readdir(join(store.terminal("A", "T1").dataDir, "automerge", "quarantine")).catch(() => [])).length;
    const t1 = store.terminal("A", "T1");
    const product = products[7]!;
    await store.cutWan("A");
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const sale = await sell(t1.http, product, 1);
      ids.push(sale.body.record.id);
    }
    await waitFor("T2 to hold T1's sales", async () => {
      const records = await api<LedgerRecord[]>(store.terminal("A", "T2").http, "/records?scope=branch");
      return ids.every((id) => records.body.some((r) => r.id === id)) ? true : undefined;
    });
    const status = await api<{ ledgers: { documentId: string }[] }>(t1.http, "/status");
    const ledgerId = status.body.ledgers.at(-1)!.documentId;
    await t1.process.stop();
    await store.cutLan("A");
    // Damage the newest chunk of T1's ledger: flip one byte in its payload.
    // Sync states are loaded only when a peer connects, so damage a chunk of the document itself.
    const chunks = (await chunkFiles(join(t1.dataDir, "automerge", "docs", ledgerId)))
      .filter((c) => !c.path.includes("sync-state"))
      .sort(
      (a, b) => b.mtimeMs - a.mtimeMs,
    );
    const newest = chunks.find((c) => c.size > 64)!;
    const bytes = await readFile(newest.path);
    if (damage === "flip") bytes[bytes.length - 5] = bytes[bytes.length - 5]! ^ 0xff;
    await writeFile(newest.path, damage === "flip" ? bytes : bytes.subarray(0, Math.floor(bytes.length / 2)));

    const restarted = await store.restartTerminal("A", "T1");
    const damaged = await api<{ storage: { ok: boolean; problems: { problem: string }[]; writesBlocked: boolean } }>(
      restarted.http,
      "/status",
    );
    expect(damaged.body.storage.ok).to.equal(false);
    expect(damaged.body.storage.problems.filter((p) => p.problem.includes("damaged")), "reported once").to.have.length(1);
    const quarantined = await readdir(join(t1.dataDir, "automerge", "quarantine"));
    expect(quarantined).to.have.length(before + 1);

    await store.restoreLan("A");
    await waitFor("T1 to get its changes back from T2", async () => {
      const status = await api<{ storage: { writesBlocked: boolean } }>(restarted.http, "/status");
      return status.body.storage.writesBlocked ? undefined : true;
    });
    const records = await api<LedgerRecord[]>(restarted.http, "/records");
    for (const id of ids) expect(records.body.map((r) => r.id), id).to.include(id);
    const sale = await sell(restarted.http, product, 1);
    expect(sale.status).to.equal(201);
    await store.reconnectAll();
    await store.waitForConvergence("A");
  }

  it("recovers from a flipped byte", async function () {
    await damageAndRecover("flip");
  });

  it("recovers from a chunk cut in half", async function () {
    await damageAndRecover("cut");
  });

  /**
   * Reads the messages T1's current process logged: those after the last
   * "terminal stopping". A directory that a peer's sync loads can be
   * followed before "terminal started" is logged.
   */
  async function linesSinceStart(): Promise<{ msg?: string }[]> {
    const text = await readFile(join(fixture.root, "logs", "A-T1.log"), "utf8");
    const lines = text.split("\n").flatMap((line) => {
      try {
        return [JSON.parse(line) as { msg?: string }];
      } catch {
        return [];
      }
    });
    const stopped = lines.map((line) => line.msg).lastIndexOf("terminal stopping");
    return lines.slice(stopped + 1);
  }

  it("restarts from the directory snapshot", async function () {
    const { store } = fixture;
    const product = products[8]!;
    const t1 = store.terminal("A", "T1");
    const restarted = await store.restartTerminal("A", "T1");
    // The clean stop left the snapshot, so the start read it and followed the document only after.
    await stat(join(t1.dataDir, "directory-snapshot.json"));
    const sale = await sell(restarted.http, product, 1);
    expect(sale.status).to.equal(201);
    await waitFor("T1 to load the directory document", async () => {
      const messages = (await linesSinceStart()).map((line) => line.msg);
      return messages.includes("branch directory loaded after start") ? true : undefined;
    });
    const status = await api<{ directoryLoaded: boolean }>(restarted.http, "/status");
    expect(status.body.directoryLoaded).to.equal(true);
    const settings = await api<{ storeName: string; timeZone: string }>(restarted.http, "/store");
    expect(settings.body).to.include({ storeName: "Sucursal Centro", timeZone: ZONE });
    await waitFor("T2 to hold the sale", async () => {
      const records = await api<LedgerRecord[]>(store.terminal("A", "T2").http, "/records?scope=branch");
      return records.body.some((r) => r.id === sale.body.record.id) ? true : undefined;
    });
    await store.waitForConvergence("A");
  });

  it("loads the directory when its snapshot is damaged", async function () {
    const { store } = fixture;
    const t1 = store.terminal("A", "T1");
    await t1.process.stop();
    const path = join(t1.dataDir, "directory-snapshot.json");
    const bytes = await readFile(path);
    bytes[bytes.length - 3] = bytes[bytes.length - 3]! ^ 0xff;
    await writeFile(path, bytes);
    const restarted = await store.restartTerminal("A", "T1");
    const status = await api<{ directoryLoaded: boolean }>(restarted.http, "/status");
    expect(status.body.directoryLoaded).to.equal(true);
    const since = (await linesSinceStart()).map((line) => line.msg);
    expect(since).to.not.include("branch directory loaded after start");
    const sale = await sell(restarted.http, products[8]!, 1);
    expect(sale.status).to.equal(201);
    // The next stop writes a readable snapshot again.
    const again = await store.restartTerminal("A", "T1");
    await waitFor("T1 to load the directory document after a start from its snapshot", async () => {
      const messages = (await linesSinceStart()).map((line) => line.msg);
      return messages.includes("branch directory loaded after start") ? true : undefined;
    });
    const after = await api<{ directoryLoaded: boolean }>(again.http, "/status");
    expect(after.body.directoryLoaded).to.equal(true);
    await store.waitForConvergence("A");
  });
});
