import { expect } from "chai";
import type { LedgerRecord } from "@mercora/crdt-model";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { sell, smallCatalog, startStore } from "./helpers/fixtures.ts";

const ZONE = "America/Bogota";

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
    }
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
