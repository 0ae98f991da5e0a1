import { expect } from "chai";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { sell, smallCatalog, startStore } from "./helpers/fixtures.ts";

const ZONE = "America/Argentina/Buenos_Aires";

describe("POST /wan/reconnect", function () {
  const { csv, products } = smallCatalog(20);
  let fixture: Awaited<ReturnType<typeof startStore>>;
  let http: string;

  before(async function () {
    // A websocket retry of ten minutes, so within this test only the endpoint brings the link back.
    fixture = await startStore(
      [{ id: "R", name: "Sucursal Norte", timeZone: ZONE, terminals: ["T1"], openingStock: { default: 50 } }],
      csv,
      ["--retry", "600000"],
    );
    http = fixture.store.terminal("R", "T1").http;
  });

  after(async function () {
    await fixture?.stop();
  });

  async function ackedSeq(): Promise<number> {
    const branch = await api<{ terminals: { id: string; ackedSeq: number }[] }>(fixture.store.relayUrl, "/api/hq/branches/R");
    return branch.body.terminals.find((t) => t.id === "T1")?.ackedSeq ?? 0;
  }

  it("opens the websocket before the retry", async function () {
    const { store } = fixture;
    const first = await sell(http, products[1]!, 1);
    await waitFor("the relay to acknowledge the first sale", async () => ((await ackedSeq()) >= first.body.record.seq ? true : undefined));

    await store.cutWan("R");
    await store.waitForMode("R", "T1", "offline");
    const offline = await sell(http, products[2]!, 1);
    expect(offline.body.record.offline).to.equal(true);
    await store.restoreWan("R");
    // The health check finds the relay again, but the websocket waits for its next retry.
    await store.waitForMode("R", "T1", "online");
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await ackedSeq()).to.be.below(offline.body.record.seq);

    const response = await api<{ attempted: boolean; online: boolean }>(http, "/wan/reconnect", { method: "POST" });
    expect(response.status).to.equal(202);
    expect(response.body.attempted).to.equal(true);
    await waitFor("the relay to acknowledge the offline sale", async () => ((await ackedSeq()) >= offline.body.record.seq ? true : undefined));

    // With the socket open, a second request starts no attempt.
    const again = await api<{ attempted: boolean }>(http, "/wan/reconnect", { method: "POST" });
    expect(again.body.attempted).to.equal(false);
  });

  it("rejects under the manual offline switch", async function () {
    const switched = await api(http, "/wan/offline", { body: { offline: true, manager: "gerente", pin: "2468", reason: "prueba" } });
    expect(switched.status).to.equal(200);
    const rejected = await api<{ error: string; message: string }>(http, "/wan/reconnect", { method: "POST" });
    expect(rejected.status).to.equal(409);
    expect(rejected.body.error).to.equal("WAN_SWITCHED_OFF");
    expect(rejected.body.message).to.include("POST /wan/offline");
    await api(http, "/wan/offline", { body: { offline: false, manager: "gerente", pin: "2468" } });
    await fixture.store.waitForMode("R", "T1", "online");
  });
});
