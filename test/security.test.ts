import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect } from "chai";
import WebSocket from "ws";
import { Keystore, makeDeviceToken, recordHash } from "@mercora/crdt-model";
import type { Conflict, LedgerRecord } from "@mercora/crdt-model";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { sell, smallCatalog, startStore } from "./helpers/fixtures.ts";

const ZONE = "America/Argentina/Buenos_Aires";
const TOOLS = join(import.meta.dirname, "helpers", "tools.ts");

/** Runs a tool of test/helpers/tools.ts in its own process and returns its JSON line. */
async function runTool<T>(...args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", TOOLS, ...args], { timeout: 60_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as T;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

/** Opens a websocket and resolves with "open" or the HTTP status of the refusal. */
function tryConnect(url: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.on("open", () => {
      socket.close();
      resolve("open");
    });
    socket.on("unexpected-response", (_request, response) => resolve(`refused ${response.statusCode}`));
    socket.on("error", (error) => resolve(`error ${error.message}`));
  });
}

describe("terminal security", function () {
  const { csv, products } = smallCatalog(60);
  let fixture: Awaited<ReturnType<typeof startStore>>;

  before(async function () {
    fixture = await startStore(
      [
        { id: "A", name: "Sucursal Centro", timeZone: ZONE, terminals: ["T1", "T2"], openingStock: { default: 50 } },
        { id: "B", name: "Sucursal Norte", timeZone: ZONE, terminals: ["T1"], openingStock: { default: 50 } },
      ],
      csv,
    );
  });

  after(async function () {
    await fixture?.stop();
  });

  it("stores no plain text after a day of sales", async function () {
    const { store, root } = fixture;
    const t1 = store.terminal("A", "T1");
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const sale = await sell(t1.http, products[i % 6]!, 1);
      expect(sale.status).to.equal(201);
      ids.push(sale.body.record.id);
    }
    await api(t1.http, "/cash-movements", { body: { reason: "opening-float", amount: 100000 } });
    await store.waitForConvergence("A");
    await t1.process.stop();
    await store.restartTerminal("A", "T1");
    const secrets = [...products.slice(0, 6).map((p) => p.name), "Luis Cajero", "Ana Gerente", ...ids];
    for (const folder of [t1.dataDir, join(root, "relay")]) {
      const files = await filesUnder(folder);
      expect(files.length, folder).to.be.greaterThan(5);
      for (const file of files) {
        let bytes: Buffer;
        try {
          bytes = await readFile(file);
        } catch (error) {
          // The relay keeps running, so a temporary chunk listed above may have been renamed since.
          if ((error as NodeJS.ErrnoException).code === "ENOENT" && file.endsWith(".tmp")) continue;
          throw error;
        }
        for (const secret of secrets) {
          expect(bytes.includes(Buffer.from(secret)), `${secret} in ${file}`).to.equal(false);
        }
      }
    }
  });

  it("refuses connections without valid credentials", async function () {
    const { store } = fixture;
    const relayWs = store.relayUrl.replace(/^http/, "ws");
    expect(await tryConnect(`${relayWs}/sync`)).to.equal("refused 401");
    expect(await tryConnect(`${relayWs}/sync?token=forged.token`)).to.equal("refused 401");
    const lanPort = store.terminal("A", "T2").lanPort;
    expect(await tryConnect(`ws://127.0.0.1:${lanPort}`)).to.equal("refused 401");
    // A token signed by T1's real device key but claiming T2's peer id.
    const keystore = await Keystore.open(join(store.terminal("A", "T1").dataDir, "keystore"), { create: false });
    const deviceKey = (await keystore.deviceKey())!;
    const claimT2 = makeDeviceToken(deviceKey, { branch: "A", terminal: "T1", peerId: "terminal:A:T2", issuedAt: Date.now() });
    expect(await tryConnect(`${relayWs}/sync?token=${claimT2}`)).to.equal("refused 401");
    const asT2 = makeDeviceToken(deviceKey, { branch: "A", terminal: "T2", peerId: "terminal:A:T2", issuedAt: Date.now() });
    expect(await tryConnect(`${relayWs}/sync?token=${asT2}`)).to.equal("refused 401");
    const own = makeDeviceToken(deviceKey, { branch: "A", terminal: "T1", peerId: "terminal:A:T1", issuedAt: Date.now() });
    expect(await tryConnect(`${relayWs}/sync?token=${own}`)).to.equal("open");
    expect(await tryConnect(`${relayWs}/sync?token=${own}`), "a token works once").to.equal("refused 401");
  });

  it("keeps branch B's ledger from branch A", async function () {
    const { store } = fixture;
    const sale = await sell(store.terminal("B", "T1").http, products[1]!, 1);
    expect(sale.status).to.equal(201);
    const status = await api<{ ledgers: { documentId: string }[] }>(store.terminal("B", "T1").http, "/status");
    const ledgerB = status.body.ledgers[0]!.documentId;
    await store.waitForConvergence("B");
    // A client with branch A's T1 device key asks the relay for branch B's ledger by id.
    // T1 itself is stopped meanwhile, since two connections with one peer id displace each other.
    const ownLedger = (await api<{ ledgers: { documentId: string }[] }>(store.terminal("A", "T1").http, "/status")).body.ledgers[0]!.documentId;
    await store.terminal("A", "T1").process.stop();
    const keystore = join(store.terminal("A", "T1").dataDir, "keystore");
    const asA = await runTool<{ found: boolean }>("fetch-doc", store.relayUrl, keystore, "A", "T1", ledgerB);
    expect(asA.found).to.equal(false);
    const control = await runTool<{ found: boolean }>("fetch-doc", store.relayUrl, keystore, "A", "T1", ownLedger);
    expect(control.found, `the same client gets its own branch's ledger: ${JSON.stringify(control)}`).to.equal(true);
    await store.restartTerminal("A", "T1");
  });

  it("detects a final record edited in storage", async function () {
    const { store } = fixture;
    const t2 = store.terminal("A", "T2");
    const product = products.find((p) => p.price > 1000)!;
    const sale = await sell(t2.http, product, 1);
    const original = sale.body.record as unknown as LedgerRecord;
    await store.waitForConvergence("A");
    const status = await api<{ ledgers: { documentId: string }[] }>(t2.http, "/status");
    await t2.process.stop();
    // Someone with the storage key changes the price of the stored record.
    const edited = await runTool<{ edited: string }>("edit-record", t2.dataDir, status.body.ledgers.at(-1)!.documentId, original.id, "100");
    expect(edited.edited).to.equal(original.id);
    await store.restartTerminal("A", "T2");
    const conflicts = await waitFor("the relay to flag the edit", async () => {
      const response = await api<Conflict[]>(store.relayUrl, "/api/hq/branches/A/conflicts");
      const found = response.body.filter((c) => c.kind === "integrity");
      return found.length > 0 ? found : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const settled = (await api<Conflict[]>(store.relayUrl, "/api/hq/branches/A/conflicts")).body.filter((c) => c.kind === "integrity");
    expect(settled).to.have.length(1);
    expect(conflicts[0]!.tickets).to.deep.equal([original.id]);
    // The terminal that holds the edited copy sees a hash mismatch, its peers and the relay the edit itself.
    expect(settled[0]!.detail).to.match(new RegExp(`lines\\.0\\.unitPrice was ${product.price}, now 100|does not match the content`));
    const held = await api<LedgerRecord[]>(store.relayUrl, "/api/hq/branches/A/records");
    const kept = held.body.find((r) => r.id === original.id)!;
    expect(kept.lines[0]!.unitPrice, "the relay keeps the original values").to.equal(product.price);
    expect(recordHash(kept), "the original values match the hash").to.equal(original.hash);
    const atT1 = await api<Conflict[]>(store.terminal("A", "T1").http, "/conflicts");
    expect(atT1.body.filter((c) => c.kind === "integrity").map((c) => c.id)).to.deep.equal([`integrity:${original.id}`]);
  });

  it("refuses a revoked device and flags it", async function () {
    const { store } = fixture;
    const revoked = await api(store.relayUrl, "/api/hq/branches/B/devices/T1/revoke", { method: "POST" });
    expect(revoked.status).to.equal(200);
    await store.waitForMode("B", "T1", "offline").catch(() => undefined);
    const conflict = await waitFor("the revoked device to be flagged", async () => {
      const response = await api<Conflict[]>(store.relayUrl, "/api/hq/branches/B/conflicts");
      return response.body.find((c) => c.kind === "revoked-device");
    });
    expect(conflict.subject).to.equal("T1");
    const status = await api<{ relayConnected: boolean }>(store.terminal("B", "T1").http, "/status");
    expect(status.body.relayConnected).to.equal(false);
  });

  it("rejects a used or unknown activation code", async function () {
    const { store } = fixture;
    // B/T1 was revoked above, so HQ may enroll a replacement for it.
    const enrollment = await api<{ code: string }>(store.relayUrl, "/api/hq/branches/B/enrollments", { body: { terminal: "T1" } });
    expect(enrollment.status, JSON.stringify(enrollment.body)).to.equal(201);
    const body = { branch: "B", terminal: "T1", code: enrollment.body.code, publicKey: "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=" };
    const first = await api(store.relayUrl, "/api/activate", { body });
    expect(first.status).to.equal(200);
    const again = await api<{ message: string }>(store.relayUrl, "/api/activate", { body });
    expect(again.status).to.equal(403);
    expect(again.body.message).to.include("already used");
    const unknown = await api<{ message: string }>(store.relayUrl, "/api/activate", { body: { ...body, code: "NOPE" } });
    expect(unknown.status).to.equal(403);
  });

  it("refuses HQ routes without the token", async function () {
    for (const path of ["/api/hq/branches", "/%61pi/hq/branches", "/api/%68q/branches/A/records", "/%68q"]) {
      const response = await fetch(`${fixture.store.relayUrl}${path}`);
      expect(response.status, path).to.equal(401);
    }
    const enroll = await fetch(`${fixture.store.relayUrl}/%61pi/hq/branches/A/enrollments`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ terminal: "T1" }),
    });
    expect(enroll.status).to.equal(401);
  });

  it("refuses to enroll an active terminal", async function () {
    const response = await api<{ message: string }>(fixture.store.relayUrl, "/api/hq/branches/A/enrollments", { body: { terminal: "T1" } });
    expect(response.status).to.equal(409);
    expect(response.body.message).to.include("revoke it first");
  });
});
