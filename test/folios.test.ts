import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import type { Conflict, LedgerRecord } from "@mercora/crdt-model";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { sell, smallCatalog, startStore } from "./helpers/fixtures.ts";

const ZONE = "America/Bogota";
const TOOLS = join(import.meta.dirname, "helpers", "tools.ts");

/** Runs a tool of test/helpers/tools.ts in its own process and returns its JSON line. */
async function runTool<T>(...args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", TOOLS, ...args], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as T;
}

interface FolioStatus {
  folios: { scheme: string; numbersLeft: number | null; provisionalWaiting: number; reprintOffers: { record: string; folio: string }[] };
}

describe("fiscal folios", function () {
  const { csv, products } = smallCatalog(40);
  const product = products[3]!;
  let fixture: Awaited<ReturnType<typeof startStore>>;

  before(async function () {
    fixture = await startStore(
      [
        {
          id: "F",
          name: "Droguería El Sol",
          timeZone: ZONE,
          terminals: ["T1", "T2"],
          openingStock: { default: 100 },
          fiscal: { scheme: "authority-range", blockSize: 5, lowWater: 0 },
        },
        {
          id: "G",
          name: "Droguería La Luna",
          timeZone: ZONE,
          terminals: ["T1", "T2"],
          openingStock: { default: 100 },
          fiscal: { scheme: "authority-range", blockSize: 5, lowWater: 0 },
        },
        {
          id: "L",
          name: "Droguería La Loma",
          timeZone: ZONE,
          terminals: ["T1"],
          openingStock: { default: 100 },
          fiscal: { scheme: "authority-range", blockSize: 5, lowWater: 2 },
        },
        {
          id: "C",
          name: "Soda La Esquina",
          timeZone: "America/Costa_Rica",
          terminals: ["T1"],
          openingStock: { default: 100 },
          fiscal: { scheme: "self-numbered", branchCode: "002" },
        },
      ],
      csv,
    );
  });

  after(async function () {
    await fixture?.stop();
  });

  it("replaces provisional folios in order", async function () {
    const { store } = fixture;
    const t1 = store.terminal("F", "T1").http;
    const t2 = store.terminal("F", "T2").http;
    const range = await api(store.relayUrl, "/api/hq/branches/F/folio-ranges", {
      body: { prefix: "001-", from: 111, to: 125, validUntil: "2099-12-31" },
    });
    expect(range.status, JSON.stringify(range.body)).to.equal(201);
    for (const http of [t1, t2]) {
      await waitFor("a block of 5 numbers", async () => ((await api<FolioStatus>(http, "/status")).body.folios.numbersLeft === 5 ? true : undefined));
    }
    await store.isolate("F", "T1");
    await store.isolate("F", "T2");
    const finals: string[] = [];
    for (const http of [t1, t2]) {
      for (let i = 0; i < 5; i++) {
        const sale = await sell(http, product);
        finals.push((sale.body.record as unknown as LedgerRecord).folio!);
      }
    }
    // Each terminal used its own block of five, offline, and together they cover the first ten numbers.
    expect([...finals].sort()).to.deep.equal([111, 112, 113, 114, 115, 116, 117, 118, 119, 120].map((n) => `001-00000${n}`));
    for (const own of [finals.slice(0, 5), finals.slice(5)]) {
      const numbers = own.map((f) => Number(f.slice(4)));
      expect(numbers, "consecutive within a block").to.deep.equal([0, 1, 2, 3, 4].map((i) => numbers[0]! + i));
    }

    const provisional: LedgerRecord[] = [];
    for (const [http, count] of [[t1, 2], [t2, 3]] as const) {
      for (let i = 0; i < count; i++) {
        const sale = await sell(http, product);
        expect(sale.status).to.equal(201);
        provisional.push(sale.body.record as unknown as LedgerRecord);
      }
    }
    expect(provisional.map((r) => r.provisionalFolio)).to.deep.equal([
      "T1-P-000001",
      "T1-P-000002",
      "T2-P-000001",
      "T2-P-000002",
      "T2-P-000003",
    ]);
    expect(provisional.every((r) => r.folio === null)).to.equal(true);
    const before = await api<string>(t2, `/records/${provisional[2]!.id}/receipt?copy=false`);
    expect(before.body).to.include("T2-P-000001");
    expect(before.body).to.include("PROVISIONAL");

    await store.reconnectAll();
    await store.waitForConvergence("F");
    const offers = await waitFor("every reprint offer", async () => {
      const one = (await api<FolioStatus>(t1, "/status")).body.folios.reprintOffers;
      const two = (await api<FolioStatus>(t2, "/status")).body.folios.reprintOffers;
      return one.length === 2 && two.length === 3 ? [...one, ...two] : undefined;
    });
    const assigned = offers.map((o) => o.folio).sort();
    expect(assigned).to.deep.equal([121, 122, 123, 124, 125].map((n) => `001-00000${n}`));
    // Final folios follow the tickets' chronological (HLC) order.
    const byHlc = [...provisional].sort((a, b) => (a.hlc < b.hlc ? -1 : 1)).map((r) => r.id);
    const folioOf = new Map(offers.map((o) => [o.record, o.folio]));
    expect(byHlc.map((id) => folioOf.get(id))).to.deep.equal(assigned);

    const reprint = await api(t2, `/records/${provisional[2]!.id}/reprint`, { method: "POST" });
    expect(reprint.status).to.equal(202);
    const after = await api<string>(t2, `/records/${provisional[2]!.id}/receipt?copy=false`);
    expect(after.body).to.include(folioOf.get(provisional[2]!.id)!);
    expect(after.body).to.not.include("PROVISIONAL");
    const remaining = (await api<FolioStatus>(t2, "/status")).body.folios.reprintOffers;
    expect(remaining.map((o) => o.record)).to.not.include(provisional[2]!.id);
    const records = await api<LedgerRecord[]>(store.relayUrl, "/api/hq/branches/F/records");
    for (const record of provisional) {
      const held = records.body.filter((r) => r.id === record.id);
      expect(held, record.id).to.have.length(1);
      expect(held[0]!.provisionalFolio, "provisional folio kept as reference").to.equal(record.provisionalFolio);
      expect(held[0]!.folio, "the record itself is never edited").to.equal(null);
    }
    // Every number of the range, 111 to 125, went to exactly one ticket.
    const everyFolio = [...finals, ...assigned].sort();
    expect(everyFolio).to.deep.equal(Array.from({ length: 15 }, (_, i) => `001-00000${111 + i}`));
    const summary = await api<{ folios: { finals: number; poolLeft: number } }>(store.relayUrl, "/api/hq/branches/F");
    expect(summary.body.folios.finals).to.equal(5);
    expect(summary.body.folios.poolLeft).to.equal(0);
  });

  it("keeps every sale with a repeated provisional folio", async function () {
    const { store } = fixture;
    const range = await api(store.relayUrl, "/api/hq/branches/G/folio-ranges", {
      body: { prefix: "001-", from: 111, to: 125, validUntil: "2099-12-31" },
    });
    expect(range.status, JSON.stringify(range.body)).to.equal(201);
    const t1 = store.terminal("G", "T1").http;
    for (const id of ["T1", "T2"]) {
      const http = store.terminal("G", id).http;
      await waitFor("a block of 5 numbers", async () => ((await api<FolioStatus>(http, "/status")).body.folios.numbersLeft === 5 ? true : undefined));
    }
    await store.isolate("G", "T1");
    await store.isolate("G", "T2");
    for (const id of ["T1", "T2"]) {
      for (let i = 0; i < 5; i++) expect((await sell(store.terminal("G", id).http, product)).status).to.equal(201);
    }
    const provisional: LedgerRecord[] = [];
    for (const [id, count] of [["T1", 2], ["T2", 2]] as const) {
      for (let i = 0; i < count; i++) provisional.push((await sell(store.terminal("G", id).http, product)).body.record as unknown as LedgerRecord);
    }
    expect(provisional.map((r) => r.provisionalFolio)).to.deep.equal(["T1-P-000001", "T1-P-000002", "T2-P-000001", "T2-P-000002"]);

    // A second device under T2's id that lost its provisional numbers issues T2-P-000001 again.
    const t2 = store.terminal("G", "T2");
    await t2.process.stop();
    const appended = await runTool<{ appended: string }>("append-sale", t2.dataDir, "cajero", "1357", "provisionalFolio=T2-P-000001");
    await store.restartTerminal("G", "T2");
    await store.reconnectAll();
    await store.waitForConvergence("G");

    const ids = [...provisional.map((r) => r.id), appended.appended];
    const records = await api<LedgerRecord[]>(store.relayUrl, "/api/hq/branches/G/records");
    for (const id of ids) expect(records.body.filter((r) => r.id === id), id).to.have.length(1);
    const finals = await waitFor("a final folio for each of the five tickets", async () => {
      const byRecord = new Map<string, string>();
      for (const http of [t1, store.terminal("G", "T2").http]) {
        for (const record of ids) {
          const receipt = await api<string>(http, `/records/${record}/receipt?copy=false`);
          const match = receipt.status === 200 ? /Folio: (001-\d{8})/.exec(receipt.body) : null;
          if (match) byRecord.set(record, match[1]!);
        }
      }
      return byRecord.size === 5 ? byRecord : undefined;
    });
    expect([...finals.values()].sort()).to.deep.equal([121, 122, 123, 124, 125].map((n) => `001-00000${n}`));
    const duplicates = await waitFor("one duplicate-provisional conflict", async () => {
      const all = await api<Conflict[]>(store.relayUrl, "/api/hq/branches/G/conflicts?status=all");
      const found = all.body.filter((c) => c.kind === "duplicate-provisional");
      return found.length > 0 ? found : undefined;
    });
    expect(duplicates).to.have.length(1);
    expect(duplicates[0]!.id).to.equal("duplicate-provisional:T2-P-000001");
    expect([...duplicates[0]!.tickets].sort()).to.deep.equal([provisional[2]!.id, appended.appended].sort());
  });

  it("tops up blocks and warns on low ranges", async function () {
    const { store } = fixture;
    const http = store.terminal("L", "T1").http;
    const validUntil = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    const range = await api<{ alerts: string[]; poolLeft: number }>(store.relayUrl, "/api/hq/branches/L/folio-ranges", {
      body: { prefix: "SETT", from: 1, to: 12, validUntil },
    });
    expect(range.status, JSON.stringify(range.body)).to.equal(201);
    await waitFor("a first block of 5 numbers", async () => ((await api<FolioStatus>(http, "/status")).body.folios.numbersLeft === 5 ? true : undefined));
    const first = await api<{ folios: { poolLeft: number; alerts: string[] } }>(store.relayUrl, "/api/hq/branches/L");
    expect(first.body.folios.poolLeft).to.equal(7);
    expect(first.body.folios.alerts).to.have.length(1);
    expect(first.body.folios.alerts[0]).to.match(/^range SETT1-12 expires in (9|10) days$/);

    // Three sales leave 2 numbers, equal to the low-water mark, so no new block yet.
    for (let i = 0; i < 3; i++) expect((await sell(http, product)).status).to.equal(201);
    await store.waitForConvergence("L");
    expect((await api<FolioStatus>(http, "/status")).body.folios.numbersLeft).to.equal(2);

    // The fourth sale leaves 1, below the mark, so the relay hands a new block after ingesting it.
    const fourth = (await sell(http, product)).body.record as unknown as LedgerRecord;
    expect(fourth.folio).to.equal("SETT00000004");
    await waitFor("a second block", async () => ((await api<FolioStatus>(http, "/status")).body.folios.numbersLeft === 6 ? true : undefined));
    const low = await api<{ folios: { poolLeft: number; alerts: string[] } }>(store.relayUrl, "/api/hq/branches/L");
    expect(low.body.folios.poolLeft).to.equal(2);
    expect(low.body.folios.alerts).to.include("only 2 folio numbers left in the authorized ranges; load a new range");

    // The terminal finishes its first block, then moves to the second with no gap.
    const folios: string[] = [];
    for (let i = 0; i < 2; i++) folios.push(((await sell(http, product)).body.record as unknown as LedgerRecord).folio!);
    expect(folios).to.deep.equal(["SETT00000005", "SETT00000006"]);
  });

  it("numbers Costa Rican tickets offline", async function () {
    const { store } = fixture;
    const http = store.terminal("C", "T1").http;
    await store.isolate("C", "T1");
    const first = (await sell(http, product)).body.record as unknown as LedgerRecord;
    const second = (await sell(http, product)).body.record as unknown as LedgerRecord;
    expect(first.folio).to.equal("00200001040000000001");
    expect(second.folio).to.equal("00200001040000000002");
    expect(first.folio!.length).to.equal(20);
    expect(first.provisionalFolio).to.equal(null);
    await store.reconnectAll();
  });
});
