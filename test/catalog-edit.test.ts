import { readdir, readFile } from "node:fs/promises";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import WebSocket from "ws";
import { Keystore, makeDeviceToken, makeEditorToken } from "@mercora/crdt-model";
import type { AuditEntry, CatalogCandidate, Conflict, FieldEdit, LedgerRecord, Product, ProductInput } from "@mercora/crdt-model";
import { api, waitFor } from "../scripts/lib/processes.ts";
import { enrollEditor, runEditorCommand, serveEditor, stopEditor } from "./helpers/catalog-editors.ts";
import type { EditorHandle } from "./helpers/catalog-editors.ts";
import { smallCatalog, startStore } from "./helpers/fixtures.ts";

const ZONE = "America/Argentina/Buenos_Aires";
const TOOLS = join(import.meta.dirname, "helpers", "tools.ts");
const TERMINALS = [
  ["A", "T1"],
  ["A", "T2"],
  ["B", "T1"],
] as const;

interface ProductView {
  product: Product;
  edits: Record<string, FieldEdit>;
  conflicts: { id: string; field: string; candidates: CatalogCandidate[] }[];
}

async function runTool<T>(...args: string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", TOOLS, ...args], { timeout: 90_000 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as T;
}

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

async function editorStatus(editor: EditorHandle) {
  return (await api<{ relayConnected: boolean; synced: boolean }>(editor.http, "/status")).body;
}

/** Cuts an editor's link, as a laptop loses its internet, and waits until the editor reports the relay disconnected. */
async function disconnect(editor: EditorHandle): Promise<void> {
  await editor.link.cut();
  await waitFor(`editor ${editor.user} to lose the relay`, async () => ((await editorStatus(editor)).relayConnected ? undefined : true));
}

async function reconnect(editor: EditorHandle): Promise<void> {
  await editor.link.open();
  await waitFor(`editor ${editor.user} to sync`, async () => ((await editorStatus(editor)).synced ? true : undefined), 60_000);
}

function catalogEdits(conflicts: Conflict[], sku: string): Conflict[] {
  return conflicts.filter((c) => c.kind === "catalog-edit" && c.sku === sku);
}

describe("catalog edits from HQ", function () {
  const { csv, products } = smallCatalog(60);
  let fixture: Awaited<ReturnType<typeof startStore>>;
  let ana: EditorHandle;
  let bruno: EditorHandle;
  let carla: EditorHandle;

  before(async function () {
    fixture = await startStore(
      [
        { id: "A", name: "Sucursal Centro", timeZone: ZONE, terminals: ["T1", "T2"], openingStock: { default: 50 } },
        { id: "B", name: "Sucursal Norte", timeZone: ZONE, terminals: ["T1"], openingStock: { default: 50 } },
      ],
      csv,
    );
    const { store, root } = fixture;
    ana = await serveEditor(await enrollEditor(store, root, "ana", "Ana Ruiz"), root);
    bruno = await serveEditor(await enrollEditor(store, root, "bruno", "Bruno Paz"), root);
    // Carla's editor is enrolled but not running, so tools and one-shot commands can use her folder.
    carla = await enrollEditor(store, root, "carla", "Carla Sosa");
  });

  after(async function () {
    for (const editor of [ana, bruno, carla]) if (editor) await stopEditor(editor);
    await fixture?.stop();
  });

  describe("concurrent prices of one SKU", function () {
    const product = products[3]!;
    const anaPrice = product.price + 1000;
    const brunoPrice = product.price + 2000;
    let conflictId = "";

    it("raises one conflict per branch", async function () {
      const { store } = fixture;
      await disconnect(ana);
      await disconnect(bruno);

      const byAna = await api<{ changed: string[] }>(ana.http, `/products/${product.sku}`, { method: "PATCH", body: { price: anaPrice } });
      const byBruno = await api<{ changed: string[] }>(bruno.http, `/products/${product.sku}`, { method: "PATCH", body: { price: brunoPrice } });
      expect(byAna.status, JSON.stringify(byAna.body)).to.equal(200);
      expect(byAna.body.changed).to.deep.equal(["price"]);
      expect(byBruno.status, JSON.stringify(byBruno.body)).to.equal(200);
      expect((await editorStatus(ana)).synced, "Ana's edit waits on her laptop").to.equal(false);
      await reconnect(ana);
      await reconnect(bruno);

      const relayConflicts = await waitFor("the relay to see the concurrent prices", async () => {
        const response = await api<{ id: string; field: string; candidates: CatalogCandidate[] }[]>(store.relayUrl, "/api/hq/catalog/conflicts");
        const found = response.body.filter((c) => c.field === "price");
        return found.length > 0 ? found : undefined;
      });
      expect(relayConflicts).to.have.length(1);
      conflictId = relayConflicts[0]!.id;
      for (const branch of ["A", "B"]) {
        const listed = catalogEdits((await api<Conflict[]>(store.relayUrl, `/api/hq/branches/${branch}/conflicts`)).body, product.sku);
        expect(listed.map((c) => c.id), `branch ${branch} at the relay`).to.deep.equal([conflictId]);
        expect(listed[0]!.subject).to.equal("price");
        expect(listed[0]!.detail).to.include("Ana Ruiz").and.to.include("Bruno Paz");
        const candidates = listed[0]!.candidates!.map((c) => [c.value, c.setBy, c.setByName, c.source]);
        expect(candidates).to.have.deep.members([
          [String(anaPrice), "ana", "Ana Ruiz", "hq:ana"],
          [String(brunoPrice), "bruno", "Bruno Paz", "hq:bruno"],
        ]);
      }
    });

    it("reaches every terminal", async function () {
      for (const [branch, id] of TERMINALS) {
        const terminal = fixture.store.terminal(branch, id);
        const listed = await waitFor(`${branch}/${id} to list the catalog conflict`, async () => {
          const found = catalogEdits((await api<Conflict[]>(terminal.http, "/conflicts")).body, product.sku);
          return found.length > 0 ? found : undefined;
        });
        expect(listed.map((c) => c.id), `${branch}/${id}`).to.deep.equal([conflictId]);
        expect(listed[0]!.candidates!.map((c) => c.value)).to.have.members([String(anaPrice), String(brunoPrice)]);
      }
    });

    it("rejects a value that is no candidate", async function () {
      const { store } = fixture;
      const path = `/api/hq/branches/A/conflicts/${encodeURIComponent(conflictId)}/resolutions`;
      const choice = { manager: "gerente", pin: "2468", action: "choose-value", reason: "old price" };
      const refused = await api<{ error: string; message: string }>(store.relayUrl, path, {
        body: { ...choice, value: String(product.price) },
      });
      expect(refused.status).to.equal(400);
      expect(refused.body.error).to.equal("VALUE_INVALID");
      expect(refused.body.message).to.include(String(product.price));
      const wrongPin = await api<{ error: string }>(store.relayUrl, path, { body: { ...choice, pin: "0000", value: String(anaPrice) } });
      expect(wrongPin.status).to.equal(409);
      expect(wrongPin.body.error).to.equal("PIN_WRONG");
      const noReason = await api<{ error: string }>(store.relayUrl, path, { body: { ...choice, reason: undefined, value: String(anaPrice) } });
      expect(noReason.body.error).to.equal("REASON_MISSING");
      const editOfConflict = await api<{ error: string }>(store.relayUrl, `/api/hq/catalog/products/${product.sku}`, {
        method: "PATCH",
        body: { user: "diego", price: 1 },
      });
      expect(editOfConflict.status).to.equal(409);
      expect(editOfConflict.body.error).to.equal("CATALOG_CONFLICT_OPEN");
      const still = await api<{ id: string }[]>(store.relayUrl, "/api/hq/catalog/conflicts");
      expect(still.body.map((c) => c.id), "nothing was written").to.deep.equal([conflictId]);
    });

    it("prices every sale at the chosen value", async function () {
      const { store } = fixture;
      const path = `/api/hq/branches/A/conflicts/${encodeURIComponent(conflictId)}/resolutions`;
      const chosen = await api<{ conflict: Conflict; entry: AuditEntry }>(store.relayUrl, path, {
        body: { manager: "gerente", pin: "2468", action: "choose-value", value: String(brunoPrice), reason: "supplier list of March" },
      });
      expect(chosen.status, JSON.stringify(chosen.body)).to.equal(201);
      expect(chosen.body.conflict.id).to.equal(conflictId);
      expect(chosen.body.conflict.status).to.equal("resolved");
      expect(chosen.body.entry).to.include({ action: "choose-value", value: String(brunoPrice), manager: "gerente", replica: "relay", outcome: "standing" });
      expect(chosen.body.entry.records).to.deep.equal([`catalog:${product.sku}/price`]);
      const view = (await api<ProductView>(store.relayUrl, `/api/hq/catalog/products/${product.sku}`)).body;
      expect(view.product.price).to.equal(brunoPrice);
      expect(view.edits.price).to.include({ kind: "choice", user: "gerente", userName: "Ana Gerente", reason: "supplier list of March", conflictId });
      for (const branch of ["A", "B"]) {
        const open = catalogEdits((await api<Conflict[]>(store.relayUrl, `/api/hq/branches/${branch}/conflicts`)).body, product.sku);
        expect(open, `branch ${branch} at the relay`).to.deep.equal([]);
      }
      const resolved = catalogEdits((await api<Conflict[]>(store.relayUrl, "/api/hq/branches/A/conflicts?status=resolved")).body, product.sku);
      expect(resolved.map((c) => c.id), "branch A keeps the resolved conflict with its audit").to.deep.equal([conflictId]);
      expect(resolved[0]!.resolution?.value).to.equal(String(brunoPrice));
      const again = await api<{ error: string }>(store.relayUrl, path, {
        body: { manager: "gerente", pin: "2468", action: "choose-value", value: String(anaPrice), reason: "second thoughts" },
      });
      expect(again.status).to.equal(409);
      expect(again.body.error).to.equal("CONFLICT_RESOLVED");

      for (const [branch, id] of TERMINALS) {
        const terminal = store.terminal(branch, id);
        await waitFor(`${branch}/${id} to drop the conflict`, async () => {
          const open = catalogEdits((await api<Conflict[]>(terminal.http, "/conflicts")).body, product.sku);
          return open.length === 0 ? true : undefined;
        });
        await waitFor(`${branch}/${id} to see the chosen price`, async () => {
          const seen = await api<Product>(terminal.http, `/products/${product.sku}`);
          return seen.body.price === brunoPrice ? true : undefined;
        });
        const sale = await api<{ record: LedgerRecord }>(terminal.http, "/sales", {
          body: { lines: [{ sku: product.sku, qty: 2 }], tenders: [{ type: "cash", amount: brunoPrice * 2 }] },
        });
        expect(sale.status, JSON.stringify(sale.body)).to.equal(201);
        expect(sale.body.record.lines[0]!.unitPrice, `${branch}/${id}`).to.equal(brunoPrice);
        expect(sale.body.record.total).to.equal(brunoPrice * 2);
      }
      for (const editor of [ana, bruno]) {
        const seen = await waitFor(`editor ${editor.user} to get the choice`, async () => {
          const response = await api<ProductView>(editor.http, `/products/${product.sku}`);
          return response.body.edits.price?.kind === "choice" ? response.body : undefined;
        });
        expect(seen.product.price).to.equal(brunoPrice);
        expect(seen.conflicts).to.deep.equal([]);
      }
    });
  });

  describe("single edits", function () {
    it("merges edits of different fields", async function () {
      const { store } = fixture;
      const product = products[4]!;
      await disconnect(ana);
      await disconnect(bruno);
      const renamed = await api(ana.http, `/products/${product.sku}`, { method: "PATCH", body: { name: `${product.name} (oferta)` } });
      const buffered = await api(bruno.http, `/products/${product.sku}`, { method: "PATCH", body: { stockBuffer: 3 } });
      expect(renamed.status).to.equal(200);
      expect(buffered.status).to.equal(200);
      await reconnect(ana);
      await reconnect(bruno);

      const merged = await waitFor("the relay to hold both edits", async () => {
        const view = (await api<ProductView>(store.relayUrl, `/api/hq/catalog/products/${product.sku}`)).body;
        return view.product.stockBuffer === 3 && view.product.name.endsWith("(oferta)") ? view : undefined;
      });
      expect(merged.edits.name).to.include({ user: "ana", source: "hq:ana" });
      expect(merged.edits.stockBuffer).to.include({ user: "bruno", source: "hq:bruno" });
      // The relay returns the list only after it examined the latest merge.
      const open = await api<{ sku: string }[]>(store.relayUrl, "/api/hq/catalog/conflicts");
      expect(open.body.filter((c) => c.sku === product.sku)).to.deep.equal([]);
      for (const branch of ["A", "B"]) {
        const listed = catalogEdits((await api<Conflict[]>(store.relayUrl, `/api/hq/branches/${branch}/conflicts`)).body, product.sku);
        expect(listed, `branch ${branch}`).to.deep.equal([]);
      }
    });

    it("edits a price through the relay", async function () {
      const { store } = fixture;
      const product = products[5]!;
      const price = product.price + 500;
      const edited = await api<{ changed: string[]; edits: Record<string, FieldEdit> }>(store.relayUrl, `/api/hq/catalog/products/${product.sku}`, {
        method: "PATCH",
        body: { user: "diego", userName: "Diego Luna", price },
      });
      expect(edited.status, JSON.stringify(edited.body)).to.equal(200);
      expect(edited.body.changed).to.deep.equal(["price"]);
      expect(edited.body.edits.price).to.include({ kind: "edit", user: "diego", userName: "Diego Luna", source: "relay" });
      const unchanged = await api<{ changed: string[] }>(store.relayUrl, `/api/hq/catalog/products/${product.sku}`, {
        method: "PATCH",
        body: { user: "diego", price },
      });
      expect(unchanged.body.changed, "the same value writes nothing").to.deep.equal([]);
      const terminal = store.terminal("B", "T1");
      await waitFor("B/T1 to see the new price", async () => {
        const seen = await api<Product>(terminal.http, `/products/${product.sku}`);
        return seen.body.price === price ? true : undefined;
      });
    });

    it("rejects bad edits naming the value", async function () {
      const { store } = fixture;
      const product: ProductInput = products[6]!;
      const path = `/api/hq/catalog/products/${product.sku}`;
      const cases: [Record<string, unknown>, number, string, string][] = [
        [{ user: "diego", price: 175.5 }, 400, "PRICE_INVALID", "175.5"],
        [{ user: "diego", price: "175.50" }, 400, "PRICE_INVALID", "175.50"],
        [{ user: "diego", price: -100 }, 400, "PRICE_INVALID", "-100"],
        [{ user: "diego", taxCode: "IVA99" }, 400, "TAX_UNKNOWN", "IVA99"],
        [{ user: "diego", name: "" }, 400, "NAME_INVALID", '""'],
        [{ user: "diego", active: "si" }, 400, "ACTIVE_INVALID", "si"],
        [{ user: "diego", stockBuffer: -1 }, 400, "STOCK_BUFFER_INVALID", "-1"],
        [{ user: "diego", barcode: "123" }, 400, "FIELD_UNKNOWN", "barcode"],
        [{ price: 100 }, 400, "USER_MISSING", "user"],
        [{ user: "diego garcía", price: 100 }, 400, "USER_INVALID", "diego garcía"],
      ];
      for (const [body, status, code, named] of cases) {
        const response = await api<{ error: string; message: string }>(store.relayUrl, path, { method: "PATCH", body });
        expect(response.status, JSON.stringify(body)).to.equal(status);
        expect(response.body.error, JSON.stringify(body)).to.equal(code);
        expect(response.body.message, JSON.stringify(body)).to.include(named);
      }
      const unknown = await api<{ error: string; message: string }>(store.relayUrl, "/api/hq/catalog/products/0000000000000", {
        method: "PATCH",
        body: { user: "diego", price: 100 },
      });
      expect(unknown.status).to.equal(404);
      expect(unknown.body.error).to.equal("PRODUCT_UNKNOWN");
      const atEditor = await api<{ error: string; message: string }>(ana.http, `/products/${product.sku}`, { method: "PATCH", body: { price: 99.999 } });
      expect(atEditor.status).to.equal(400);
      expect(atEditor.body.message).to.include("99.999");
      const view = (await api<ProductView>(store.relayUrl, path)).body;
      expect(view.product.price, "nothing was written").to.equal(product.price);
      expect(view.edits).to.deep.equal({});

      const tooPrecise = await runEditorCommand(["edit", "--data", carla.dataDir, "--sku", product.sku, "--price", "12.345"]);
      expect(tooPrecise.code).to.equal(1);
      expect(tooPrecise.stderr).to.include("--price 12.345 has 3 decimals but the currency has 2");
    });

    it("edits offline from the command line", async function () {
      const product = products[7]!;
      await carla.link.cut();
      const offline = await runEditorCommand(["edit", "--data", carla.dataDir, "--sku", product.sku, "--price", "1234.50", "--sync-timeout", "2"]);
      expect(offline.code, offline.stderr).to.equal(0);
      expect(JSON.parse(offline.stdout)).to.include({ synced: false });
      expect(offline.stderr).to.include("Saved on this device");
      const shown = await runEditorCommand(["show", "--data", carla.dataDir, "--sku", product.sku]);
      expect((JSON.parse(shown.stdout) as ProductView).product.price).to.equal(123450);
      await carla.link.open();
      const synced = await runEditorCommand(["sync", "--data", carla.dataDir, "--timeout", "60"]);
      expect(synced.code, synced.stderr).to.equal(0);
      const view = (await api<ProductView>(fixture.store.relayUrl, `/api/hq/catalog/products/${product.sku}`)).body;
      expect(view.product.price).to.equal(123450);
      expect(view.edits.price).to.include({ user: "carla", source: "hq:carla" });
    });
  });

  describe("editor devices", function () {
    it("keeps the editor replica encrypted", async function () {
      const secrets = ["Ana Ruiz", products[3]!.name, products[4]!.name];
      const entries = await readdir(ana.dataDir, { withFileTypes: true, recursive: true });
      const files = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
      expect(files.length).to.be.greaterThan(3);
      for (const file of files) {
        const bytes = await readFile(file);
        for (const secret of secrets) expect(bytes.includes(Buffer.from(secret)), `${secret} in ${file}`).to.equal(false);
      }
    });

    it("lets an editor reach only the catalog", async function () {
      const { store } = fixture;
      const branchDocuments = Object.keys((await api<{ heads: Record<string, string[]> }>(store.relayUrl, "/api/hq/branches/A/replica")).body.heads);
      expect(branchDocuments.length).to.be.greaterThan(5);

      const result = await runTool<{ found: string[]; missing: string[] }>("editor-fetch-docs", store.relayUrl, carla.dataDir, carla.catalogUrl, ...branchDocuments);

      expect(result.found, "only the catalog is served to an editor").to.deep.equal([carla.catalogUrl]);
      expect(result.missing).to.have.members(branchDocuments);
      const relayWs = store.relayUrl.replace(/^http/, "ws");
      const keystore = await Keystore.open(join(carla.dataDir, "keystore"), { create: false });
      const deviceKey = (await keystore.deviceKey())!;
      const asTerminal = makeDeviceToken(deviceKey, { branch: "A", terminal: "T1", peerId: "terminal:A:T1", issuedAt: Date.now() });
      expect(await tryConnect(`${relayWs}/sync?token=${asTerminal}`), "editor key as a terminal").to.equal("refused 401");
      const asAna = makeEditorToken(deviceKey, { editor: "ana", issuedAt: Date.now() });
      expect(await tryConnect(`${relayWs}/sync?token=${asAna}`), "Carla's key claiming Ana").to.equal("refused 401");
      const own = makeEditorToken(deviceKey, { editor: "carla", issuedAt: Date.now() });
      expect(await tryConnect(`${relayWs}/sync?token=${own}`)).to.equal("open");
    });

    it("rejects a revoked editor", async function () {
      const { store } = fixture;
      const again = await api<{ error: string }>(store.relayUrl, "/api/hq/catalog/editors", { body: { user: "bruno", name: "Bruno Paz" } });
      expect(again.status, "an active editor is revoked before it is replaced").to.equal(409);
      const revoked = await api<{ revoked: boolean }>(store.relayUrl, "/api/hq/catalog/editors/bruno/revoke", { body: {} });
      expect(revoked.status, JSON.stringify(revoked.body)).to.equal(200);
      await waitFor("bruno's editor to be cut off", async () => ((await editorStatus(bruno)).relayConnected ? undefined : true));
      const keystore = await Keystore.open(join(bruno.dataDir, "keystore"), { create: false });
      const token = makeEditorToken((await keystore.deviceKey())!, { editor: "bruno", issuedAt: Date.now() });
      expect(await tryConnect(`${store.relayUrl.replace(/^http/, "ws")}/sync?token=${token}`)).to.equal("refused 401");
      const listed = await api<{ user: string; revokedAt: string | null; connected: boolean; lastRefusedAt: string | null }[]>(
        store.relayUrl,
        "/api/hq/catalog/editors",
      );
      const entry = listed.body.find((e) => e.user === "bruno")!;
      expect(entry.revokedAt).to.be.a("string");
      expect(entry.connected).to.equal(false);
      expect(entry.lastRefusedAt).to.be.a("string");
      const replacement = await api(store.relayUrl, "/api/hq/catalog/editors", { body: { user: "bruno", name: "Bruno Paz" } });
      expect(replacement.status).to.equal(201);
  });
});
});
