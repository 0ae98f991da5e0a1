import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { expect } from "chai";
import type { Conflict, LedgerRecord } from "@mercora/crdt-model";
import { api, waitFor } from "../scripts/lib/processes.ts";
import type { StoreHarness } from "../scripts/lib/store.ts";
import { sell, smallCatalog, startStore } from "./helpers/fixtures.ts";

const ZONE = "America/Argentina/Buenos_Aires";

/** Outage length between the two WAN returns; long enough that the terminal notices and stays offline a while. */
const SECOND_OUTAGE_MS = 5_000;

interface Status {
  mode: string;
  lastSeq: number;
  pending: number;
  ledgers: { documentId: string; part: number; records: number }[];
}

async function status(http: string): Promise<Status> {
  return (await api<Status>(http, "/status")).body;
}

async function ackedAtRelay(store: StoreHarness, branch: string, terminal: string): Promise<number> {
  const summary = await api<{ terminals: { id: string; ackedSeq: number }[] }>(store.relayUrl, `/api/hq/branches/${branch}`);
  return summary.body.terminals.find((t) => t.id === terminal)!.ackedSeq;
}

describe("sync through a second outage", function () {
  const { csv, products } = smallCatalog(40);
  const product = products[2]!;
  let fixture: Awaited<ReturnType<typeof startStore>>;
  // Two records per ledger part, so the relay can receive the first two tickets without the other three.
  const smallLedgers = { T1: { MERCORA_LEDGER_PART_CAP: "2" } };

  before(async function () {
    fixture = await startStore(
      [
        { id: "Q", name: "Almacén Don Pepe", timeZone: ZONE, terminals: ["T1"], openingStock: { default: 50 }, terminalEnv: smallLedgers },
        { id: "K", name: "Almacén Doña Rosa", timeZone: ZONE, terminals: ["T1"], openingStock: { default: 50 }, terminalEnv: smallLedgers },
        { id: "S", name: "Librería Sur", timeZone: ZONE, terminals: ["T1"], openingStock: { default: 50 }, terminalFlags: { T1: ["--clock-offset=600000"] } },
      ],
      csv,
    );
  });

  after(async function () {
    await fixture?.stop();
  });

  /**
   * Sells five tickets offline, lets the WAN return with only the first
   * ledger part getting through, so the relay acknowledges two, then cuts
   * the WAN again. Returns the tickets.
   */
  async function queueFiveAndAckTwo(branch: string): Promise<LedgerRecord[]> {
    const { store } = fixture;
    const http = store.terminal(branch, "T1").http;
    const wan = store.wan.get(`${branch}/T1`)!;
    await store.isolate(branch, "T1");
    await store.waitForMode(branch, "T1", "offline");
    const tickets: LedgerRecord[] = [];
    for (let i = 0; i < 5; i++) {
      const sale = await sell(http, product);
      expect(sale.status, JSON.stringify(sale.body)).to.equal(201);
      tickets.push(sale.body.record as unknown as LedgerRecord);
    }
    const before = await status(http);
    expect(before.pending).to.equal(5);
    expect(before.ledgers.map((l) => l.records)).to.deep.equal([2, 2, 1]);

    const laterParts = new Set(before.ledgers.filter((l) => l.part > 1).map((l) => l.documentId));
    wan.inspecting = true;
    wan.filter = (message) => (message.direction === "up" && message.documentId !== null && laterParts.has(message.documentId) ? "drop" : "pass");
    await store.restoreWan(branch, "T1");
    await waitFor("the relay to acknowledge two", async () => ((await ackedAtRelay(store, branch, "T1")) === 2 ? true : undefined));
    await waitFor("T1 to read 3 pending", async () => ((await status(http)).pending === 3 ? true : undefined));
    expect(wan.messages.some((m) => m.dropped), "the link held the later ledger parts back").to.equal(true);
    await store.cutWan(branch, "T1");
    wan.filter = null;
    await store.waitForMode(branch, "T1", "offline");
    return tickets;
  }

  async function expectAllFiveOnce(branch: string, tickets: LedgerRecord[]): Promise<void> {
    const { store } = fixture;
    const http = store.terminal(branch, "T1").http;
    await waitFor("T1's queue to drain", async () => ((await status(http)).pending === 0 ? true : undefined), 60_000);
    expect(await ackedAtRelay(store, branch, "T1")).to.equal(5);
    const records = await api<LedgerRecord[]>(store.relayUrl, `/api/hq/branches/${branch}/records`);
    for (const ticket of tickets) expect(records.body.filter((r) => r.id === ticket.id), ticket.id).to.have.length(1);
    expect(records.body.filter((r) => r.terminal === "T1")).to.have.length(5);
  }

  it("drains 5, then 3, then 0", async function () {
    const { store } = fixture;
    const tickets = await queueFiveAndAckTwo("Q");
    // The terminal is left alone while the WAN is down.
    await new Promise((resolve) => setTimeout(resolve, SECOND_OUTAGE_MS));
    expect((await status(store.terminal("Q", "T1").http)).pending).to.equal(3);
    await store.restoreWan("Q", "T1");
    await expectAllFiveOnce("Q", tickets);
  });

  it("drains after a kill during the outage", async function () {
    const { store } = fixture;
    const tickets = await queueFiveAndAckTwo("K");
    await store.killTerminal("K", "T1");
    const restarted = await store.restartTerminal("K", "T1");
    const after = await status(restarted.http);
    expect(after.lastSeq).to.equal(5);
    expect(after.pending).to.equal(3);
    await store.restoreWan("K", "T1");
    await expectAllFiveOnce("K", tickets);
  });

  it("recovers from a dropped reply and goes quiet", async function () {
    const { store } = fixture;
    const http = store.terminal("S", "T1").http;
    const wan = store.wan.get("S/T1")!;
    // T1's clock is 10 minutes fast, which raises a clock-skew conflict it detects itself.
    const skew = await waitFor("the clock-skew conflict at the relay", async () => {
      const response = await api<Conflict>(store.relayUrl, "/api/hq/branches/S/conflicts/clock-skew%3AT1");
      return response.status === 200 ? response.body : undefined;
    });
    const state = JSON.parse(await readFile(join(fixture.root, "relay", "relay.json"), "utf8")) as { branches: Record<string, { conflictsUrl: string }> };
    const conflictsId = state.branches.S!.conflictsUrl.replace(/^automerge:/, "");

    // Both sides change the conflicts document while apart: each acknowledges the conflict.
    await store.isolate("S", "T1");
    await store.waitForMode("S", "T1", "offline");
    const body = { manager: "gerente", pin: "2468", action: "acknowledge", reason: "clock fixed by the technician" };
    const atTerminal = await api(http, `/conflicts/${encodeURIComponent(skew.id)}/resolutions`, { body });
    expect(atTerminal.status, JSON.stringify(atTerminal.body)).to.equal(201);
    const atHq = await api(store.relayUrl, `/api/hq/branches/S/conflicts/${encodeURIComponent(skew.id)}/resolutions`, { body });
    expect(atHq.status, JSON.stringify(atHq.body)).to.equal(201);

    let dropped = 0;
    wan.inspecting = true;
    wan.filter = (message) => {
      if (dropped > 0 || message.direction !== "down" || message.type !== "sync" || message.documentId !== conflictsId) return "pass";
      dropped += 1;
      return "drop";
    };
    await store.restoreWan("S", "T1");
    await waitFor("the relay's first reply to be dropped", async () => (dropped === 1 ? true : undefined));
    // The terminal reconnects with the same peer id.
    await store.cutWan("S", "T1");
    await store.restoreWan("S", "T1");
    await store.waitForConvergence("S", 60_000);
    for (const [base, prefix] of [[http, ""], [store.relayUrl, "/api/hq/branches/S"]] as const) {
      const merged = await api<Conflict>(base, `${prefix}/conflicts/${encodeURIComponent(skew.id)}`);
      expect(merged.body.audit, base).to.have.length(2);
    }

    // Once converged, no sync message crosses the link for a while. Clock
    // broadcasts (ephemeral) and HTTP health checks keep flowing.
    const syncCount = () => wan.messages.filter((m) => m.type === "sync" || m.type === "request").length;
    let previous = -1;
    await waitFor("sync to go quiet", async () => {
      const count = syncCount();
      const quiet = count === previous;
      previous = count;
      return quiet ? true : undefined;
    }, 30_000, 1_000);
    const settled = syncCount();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(syncCount(), "sync messages after convergence").to.equal(settled);
  });
});
