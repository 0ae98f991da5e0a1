import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import type { Conflict, LedgerRecord } from "@mercora/crdt-model";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { sell, smallCatalog, startStore } from "./helpers/fixtures.ts";

const TOOLS = join(import.meta.dirname, "helpers", "tools.ts");

async function runTool<T>(...args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", TOOLS, ...args], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as T;
}

interface Summary {
  days: { tickets: number }[];
  terminals: { id: string; ackedSeq: number }[];
}

describe("records the relay rejects", function () {
  const { csv, products } = smallCatalog(40);
  const product = products[4]!;
  let fixture: Awaited<ReturnType<typeof startStore>>;

  before(async function () {
    fixture = await startStore(
      [{ id: "B", name: "Farmacia Norte", timeZone: "America/Bogota", terminals: ["T1"], openingStock: { default: 100 }, fiscal: { scheme: "authority-range", blockSize: 5, lowWater: 0 } }],
      csv,
    );
    const range = await api(fixture.store.relayUrl, "/api/hq/branches/B/folio-ranges", { body: { prefix: "001-", from: 111, to: 200, validUntil: "2099-12-31" } });
    expect(range.status, JSON.stringify(range.body)).to.equal(201);
    await waitFor("a block for T1", async () => {
      const status = await api<{ folios: { numbersLeft: number } }>(fixture.store.terminal("B", "T1").http, "/status");
      return status.body.folios.numbersLeft === 5 ? true : undefined;
    });
  });

  after(async function () {
    await fixture?.stop();
  });

  /** Stops T1, writes a forged sale into its storage, starts it again and waits for the relay to acknowledge it. */
  async function forge(fields: string[]): Promise<{ id: string; conflict: Conflict; ticketsBefore: number; ticketsAfter: number }> {
    const { store } = fixture;
    await store.waitForConvergence("B");
    const before = (await api<Summary>(store.relayUrl, "/api/hq/branches/B")).body;
    const t1 = store.terminal("B", "T1");
    await t1.process.stop();
    const { appended } = await runTool<{ appended: string }>("append-sale", t1.dataDir, "cajero", "1357", ...fields);
    await store.restartTerminal("B", "T1");
    const id = `integrity:${appended}`;
    const conflict = await waitFor(`${id} at the relay`, async () => {
      const response = await api<Conflict>(store.relayUrl, `/api/hq/branches/B/conflicts/${encodeURIComponent(id)}`);
      return response.status === 200 ? response.body : undefined;
    });
    const after = (await api<Summary>(store.relayUrl, "/api/hq/branches/B")).body;
    const tickets = (summary: Summary) => summary.days.reduce((sum, day) => sum + day.tickets, 0);
    return { id: appended, conflict, ticketsBefore: tickets(before), ticketsAfter: tickets(after) };
  }

  it("rejects a folio outside the terminal's block", async function () {
    const first = (await sell(fixture.store.terminal("B", "T1").http, product)).body.record as unknown as LedgerRecord;
    expect(first.folio).to.equal("001-00000111");
    const forged = await forge(["folio=001-00000199", "folioNumber=199"]);
    expect(forged.conflict.detail).to.equal("folio 001-00000199 is outside the blocks handed to terminal T1");
    expect(forged.ticketsAfter, "kept out of the totals").to.equal(forged.ticketsBefore);
    const log = await readFile(fixture.store.relay.logPath, "utf8");
    expect(log).to.match(new RegExp(`"conflict":"integrity:${forged.id}","reason":"folio 001-00000199 is outside[^"]*","msg":"record failed verification"`));
  });

  it("rejects a folio already used", async function () {
    const forged = await forge(["folio=001-00000111", "folioNumber=111"]);
    expect(forged.conflict.detail).to.match(/^folio 001-00000111 is already used by B-T1-00000001$/);
    expect(forged.ticketsAfter).to.equal(forged.ticketsBefore);
    // The forged 199 lies outside T1's block, so it spends nothing; the repeated 111 counts as used.
    const next = (await sell(fixture.store.terminal("B", "T1").http, product)).body.record as unknown as LedgerRecord;
    expect(next.folio).to.equal("001-00000112");
  });

  it("rejects a record of an unknown terminal", async function () {
    const forged = await forge(["terminal=T9", "provisionalFolio=T9-P-000001"]);
    expect(forged.id).to.match(/^B-T9-/);
    expect(forged.conflict.detail).to.equal("record terminal T9 is not ledger owner T1");
    expect(forged.ticketsAfter).to.equal(forged.ticketsBefore);
    const log = await readFile(fixture.store.relay.logPath, "utf8");
    expect(log).to.include("record terminal T9 is not ledger owner T1");
  });
});
