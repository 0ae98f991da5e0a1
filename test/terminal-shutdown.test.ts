import { expect } from "chai";
import { api, waitFor } from "../scripts/lib/processes.ts";
import type { MercoraProcess } from "../scripts/lib/processes.ts";
import { sell, smallCatalog, startStore } from "./helpers/fixtures.ts";

const ZONE = "America/Argentina/Buenos_Aires";

/** Sends SIGTERM and returns the exit code, or the signal when the process did not exit by itself within `graceMs`. */
async function terminate(process: MercoraProcess, graceMs: number): Promise<number | string | null> {
  process.child.kill("SIGTERM");
  const timer = setTimeout(() => process.child.kill("SIGKILL"), graceMs);
  await process.exited;
  clearTimeout(timer);
  return process.child.signalCode ?? process.child.exitCode;
}

describe("terminal shutdown", function () {
  const { csv, products } = smallCatalog(40);
  let fixture: Awaited<ReturnType<typeof startStore>>;

  before(async function () {
    fixture = await startStore([{ id: "A", name: "Sucursal Centro", timeZone: ZONE, terminals: ["T1", "T2"], openingStock: { default: 50 } }], csv);
  });

  after(async function () {
    await fixture?.stop();
  });

  it("exits on SIGTERM after dialing a LAN peer", async function () {
    const { store } = fixture;
    // T1 dials T2 because its id sorts first, so only T1 holds a LAN client adapter.
    const t1 = store.terminal("A", "T1");
    await waitFor("T1 to reach T2 over the LAN", async () => {
      const status = await api<{ lanPeers: string[] }>(t1.http, "/status");
      return status.body.lanPeers.length > 0 ? true : undefined;
    });
    const sale = await sell(t1.http, products[3]!, 1);
    expect(sale.status, JSON.stringify(sale.body)).to.equal(201);

    // The CLI exits with code 0 once Terminal.stop() resolves; a SIGKILL after the grace time means it never did.
    const outcome = await terminate(t1.process, 20_000);
    expect(outcome).to.equal(0);
  });

  it("exits on SIGTERM after its LAN peer dropped", async function () {
    const { store } = fixture;
    const t2 = store.terminal("A", "T2");
    await store.restartTerminal("A", "T1");
    const t1 = store.terminal("A", "T1");
    await waitFor("T1 to reach T2 over the LAN again", async () => {
      const status = await api<{ lanPeers: string[] }>(t1.http, "/status");
      return status.body.lanPeers.length > 0 ? true : undefined;
    });
    expect(await terminate(t2.process, 20_000)).to.equal(0);
    await waitFor("T1 to notice T2 left", async () => {
      const status = await api<{ lanPeers: string[] }>(t1.http, "/status");
      return status.body.lanPeers.length === 0 ? true : undefined;
    });

    expect(await terminate(t1.process, 20_000)).to.equal(0);
  });
});
