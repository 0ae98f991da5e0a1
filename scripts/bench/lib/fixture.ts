import { generateKeyPairSync } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { destination, pino } from "pino";
import type { Logger } from "pino";
import { encodePublicKey, parseCatalogCsv, readUser, unlockSigningKey, writeJsonDurable } from "@mercora/crdt-model";
import type { PermissionsDoc, ProductInput, Tender } from "@mercora/crdt-model";
import { DEFAULT_CONNECTIVITY, Terminal, openOrActivate } from "@mercora/terminal";
import type { LanPeer } from "@mercora/terminal";
import { missingNodeFlags } from "../../../bin/node-flags.js";
import { api, setBearer, startMercora, waitFor } from "../../lib/processes.ts";
import type { MercoraProcess } from "../../lib/processes.ts";
import { DEFAULT_USERS } from "../../lib/store.ts";
import { ROOT } from "./stats.ts";
import { freePort } from "./store-procs.ts";

export const CATALOG_PATH = join(ROOT, "data", "catalog", "precios-claros-25-1-1.csv");
export const BRANCH = "B1";
export const TIME_ZONE = "America/Argentina/Buenos_Aires";
/** Opening stock of every SKU: high enough that no bench sale is refused by the offline stock buffer. */
export const OPENING_STOCK = 10_000_000;
/** Users of every bench branch: the manager and the cashier that tests and the demo use. */
export const USERS = DEFAULT_USERS;
/** The cashier who signs in at every bench terminal and signs its records. */
export const CASHIER = USERS.find((user) => user.role === "cashier")!;

/** Branch ids of the relay capacity figure's simulated stores: S0001, S0002, ... */
export function storeIds(stores: number): string[] {
  return Array.from({ length: stores }, (_, i) => `S${String(i + 1).padStart(4, "0")}`);
}

export function catalogCsv(): string {
  return readFileSync(CATALOG_PATH, "utf8");
}

/** Products of the real catalog, parsed as the relay parses them. */
export function catalogProducts(): ProductInput[] {
  return parseCatalogCsv(catalogCsv()).products;
}

/** Creates a logger that writes to a file at `level`, so logging costs what it costs in production at that level. */
export function fileLogger(path: string, level = "warn"): Logger {
  return pino({ level }, destination({ dest: path, mkdir: true, sync: false }));
}

/**
 * Lets the event loop turn, as it does between two sales at a till, so a
 * generated history gets one ledger change per record. Back to back, a
 * terminal appends the records waiting in one change per four records.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Builds a ticket of `lines` products paid with two tenders (card, then
 * cash with change), picked deterministically from `products` by `n`.
 */
export function ticket(products: ProductInput[], n: number, lines = 3): { lines: { sku: string; qty: number }[]; tenders: Tender[] } {
  const picked: { sku: string; qty: number; price: number }[] = [];
  for (let i = 0; i < lines; i++) {
    const product = products[(n * 7919 + i * 104_729) % products.length]!;
    picked.push({ sku: product.sku, qty: 1 + ((n + i) % 3), price: product.price });
  }
  const total = picked.reduce((sum, line) => sum + line.price * line.qty, 0);
  const card = Math.floor(total / 2);
  return {
    lines: picked.map(({ sku, qty }) => ({ sku, qty })),
    tenders: [
      { type: "card", amount: card },
      { type: "cash", amount: total - card + 1000 },
    ],
  };
}

export interface TerminalSettings {
  dataDir: string;
  terminal: string;
  relayUrl: string | null;
  lanListen?: { host: string; port: number } | null;
  lanPeers?: LanPeer[];
  log: Logger;
  receipts?: "file" | "none";
}

/**
 * Throws unless this process started with the Node.js flags of `mercora
 * terminal`, which a worker that measures a `Terminal` in its own process
 * needs to run sales as the terminal process does. The bench gives them.
 */
export function requireTerminalNodeFlags(): void {
  const missing = missingNodeFlags("terminal");
  if (missing.length > 0) {
    throw new Error(
      `This bench process started without ${missing.join(" ")}, the Node.js flags of \`mercora terminal\` (bin/node-flags.js), ` +
        "so its sales would not run as in the terminal process; start it through `npm run bench` or give node those flags",
    );
  }
}

/**
 * Opens an activated terminal's data folder in this process as the CLI
 * does (`openOrActivate`, then a `Terminal` with the CLI's defaults),
 * starts it and signs the branch's cashier in with their PIN, the call
 * `POST /sessions` makes. The folder must come from `buildBranch`.
 */
export async function startTerminal(settings: TerminalSettings): Promise<Terminal> {
  const { keystore, state } = await openOrActivate({
    dataDir: settings.dataDir,
    branch: BRANCH,
    terminal: settings.terminal,
    relayUrl: settings.relayUrl,
    activationCode: null,
    log: settings.log,
  });
  const terminal = new Terminal({
    dataDir: settings.dataDir,
    branch: BRANCH,
    terminal: settings.terminal,
    relayUrl: settings.relayUrl,
    keystore,
    activated: state,
    lanListen: settings.lanListen ?? null,
    lanAdvertise: null,
    lanPeers: settings.lanPeers ?? [],
    lanDiscovery: false,
    connectivity: DEFAULT_CONNECTIVITY,
    receipts: { target: settings.receipts ?? "file", columns: 48, locale: "es-419", printer: null, textFolder: `${settings.dataDir}-receipts` },
    bootstrapTimeoutMs: 120_000,
    clockOffsetMs: 0,
    clockSkewThresholdMs: 120_000,
    log: settings.log,
  });
  await terminal.start();
  await terminal.signIn({ user: CASHIER.id, pin: CASHIER.pin });
  return terminal;
}

/** Unlocks the signing key of the bench cashier from a branch's permissions document with their PIN, as sign-in does. */
export async function unlockCashierKey(permissions: PermissionsDoc): Promise<KeyObject> {
  const user = readUser(permissions, CASHIER.id);
  const key = user ? await unlockSigningKey(CASHIER.pin, user.signing) : null;
  if (!key) throw new Error(`The signing key of cashier ${CASHIER.id} did not open with the bench PIN; rebuild the bench data`);
  return key;
}

/** Signs the branch's cashier in at a `mercora terminal` process with `POST /sessions`, as a cashier starts a shift. */
export async function signInCashier(http: string): Promise<void> {
  const response = await api(http, "/sessions", { body: { user: CASHIER.id, pin: CASHIER.pin } });
  if (response.status !== 201) throw new Error(`Sign-in of ${CASHIER.id} at ${http} failed with HTTP ${response.status}: ${JSON.stringify(response.body)}`);
}

/** Starts a `mercora relay` process on `dir` and makes `api()` send its HQ token. */
export async function startRelay(dir: string, port: number, logPath: string, timeoutMs = 120_000): Promise<MercoraProcess> {
  const relay = await startMercora("relay", ["relay", "--data", dir, "--listen", `127.0.0.1:${port}`], logPath, timeoutMs);
  try {
    const token = (await readFile(join(dir, "keystore", "hq.token"), "utf8")).trim();
    setBearer(relay.ready.http, token);
  } catch (error) {
    await relay.stop(10_000);
    throw error;
  }
  return relay;
}

/**
 * Creates branches with the real catalog and the users of `USERS` on a
 * `mercora relay` process under `root/relay`, through the HQ API. With
 * one branch, each terminal is then activated with a one-time code from
 * HQ by a `mercora terminal` process under `root/<id>`, and the bench
 * waits until every terminal has the relay's version of each branch
 * document, so each one has every device key. With several branches (the
 * relay capacity figure's simulated stores), each terminal gets an
 * Ed25519 device key activated through `POST /api/activate`, written to
 * `devicesPath(root)`. Every process stops before this returns, and a
 * later process opens the folders.
 */
export async function buildBranch(root: string, terminals: string[], branches: string[] = [BRANCH]): Promise<void> {
  await mkdir(root, { recursive: true });
  const relay = await startRelay(join(root, "relay"), await freePort(), join(root, "logs", "build-relay.log"));
  try {
    const http = relay.ready.http;
    const imported = await api(http, "/api/hq/catalog", { rawBody: catalogCsv(), contentType: "text/csv", timeoutMs: 300_000 });
    if (imported.status !== 200) throw new Error(`Catalog import failed with HTTP ${imported.status}: ${JSON.stringify(imported.body)}`);
    // Four requests at a time keep both cores busy, because PIN hashing (scrypt) runs on libuv's thread pool while the relay builds documents.
    await eachLimited(branches, 4, async (id) => {
      const created = await api(http, "/api/hq/branches", {
        body: {
          id,
          name: `Sucursal ${id}`,
          timeZone: TIME_ZONE,
          terminals: terminals.map((terminal) => ({ id: terminal, name: `Caja ${terminal}` })),
          openingStock: { default: OPENING_STOCK },
          users: USERS,
        },
        timeoutMs: 300_000,
      });
      if (created.status !== 201) throw new Error(`Branch ${id} not created, HTTP ${created.status}: ${JSON.stringify(created.body)}`);
    });
    if (branches.length === 1) await activateTerminalProcesses(root, http, branches[0]!, terminals);
    else await writeJsonDurable(devicesPath(root), await activateDeviceKeys(http, branches, terminals));
  } finally {
    await relay.stop(10_000);
  }
}

/** Asks HQ for a terminal's one-time activation code. */
async function enroll(relayUrl: string, branch: string, terminal: string): Promise<string> {
  const enrollment = await api<{ code?: string }>(relayUrl, `/api/hq/branches/${branch}/enrollments`, { body: { terminal } });
  if (enrollment.status !== 201 || !enrollment.body.code) {
    throw new Error(`Enrollment of ${branch}/${terminal} failed with HTTP ${enrollment.status}: ${JSON.stringify(enrollment.body)}`);
  }
  return enrollment.body.code;
}

/** Activates every terminal of a branch with a `mercora terminal` process each, all at once, and stops them once they have the relay's documents. */
async function activateTerminalProcesses(root: string, relayUrl: string, branch: string, terminals: string[]): Promise<void> {
  const started: MercoraProcess[] = [];
  try {
    for (const id of terminals) {
      const code = await enroll(relayUrl, branch, id);
      started.push(
        await startMercora(
          `terminal ${id}`,
          ["terminal", "--data", join(root, id), "--branch", branch, "--terminal", id, "--relay", relayUrl,
            "--lan-listen", "127.0.0.1:0", "--no-lan-discovery", "--receipts", "none", "--activation-code", code],
          join(root, "logs", `build-${id}.log`),
          300_000,
        ),
      );
    }
    await waitForRelayDocuments(relayUrl, branch, started.map((terminal) => terminal.ready.http));
  } finally {
    await Promise.all(started.map((terminal) => terminal.stop(10_000)));
  }
}

/** Waits until each terminal has the relay's heads of every branch document it stores. */
async function waitForRelayDocuments(relayUrl: string, branch: string, terminals: string[]): Promise<void> {
  await waitFor(`terminals of ${branch} to hold the relay's documents`, async () => {
    const relay = await api<{ heads: Record<string, string[]> }>(relayUrl, `/api/hq/branches/${branch}/replica`, { timeoutMs: 60_000 });
    for (const http of terminals) {
      const replica = await api<{ heads: Record<string, string[]> }>(http, "/replica", { timeoutMs: 60_000 });
      for (const [documentId, heads] of Object.entries(replica.body.heads)) {
        const relayHeads = relay.body.heads[documentId];
        if (!relayHeads || [...relayHeads].sort().join() !== [...heads].sort().join()) return undefined;
      }
    }
    return true;
  }, 300_000, 500);
}

const DEVICES_FILE = "devices.json";

/** Device private keys (PKCS #8 PEM) of simulated terminals, by branch and terminal id. */
export type DeviceKeys = Record<string, Record<string, string>>;

/** Activates a new Ed25519 device key for every terminal of every branch, as `openOrActivate` does for a real terminal. */
async function activateDeviceKeys(relayUrl: string, branches: string[], terminals: string[]): Promise<DeviceKeys> {
  const devices: DeviceKeys = {};
  await eachLimited(branches, 4, async (branch) => {
    devices[branch] = {};
    for (const terminal of terminals) {
      const code = await enroll(relayUrl, branch, terminal);
      const { privateKey } = generateKeyPairSync("ed25519");
      const activated = await api(relayUrl, "/api/activate", { body: { branch, terminal, code, publicKey: encodePublicKey(privateKey) } });
      if (activated.status !== 200) {
        throw new Error(`Activation of ${branch}/${terminal} failed with HTTP ${activated.status}: ${JSON.stringify(activated.body)}`);
      }
      devices[branch]![terminal] = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    }
  });
  return devices;
}

/** Runs `task` on every item, at most `limit` at a time, and rejects with the first failure. */
async function eachLimited<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Path of the device keys that `buildBranch` writes for several branches under `root`. */
export function devicesPath(root: string): string {
  return join(root, DEVICES_FILE);
}

/**
 * Replaces the global `Date` with one whose current time is `base + offset`,
 * where the caller moves `offset` forward. It lets a generator write records
 * on past business days through the product's own code, which reads the
 * time with `new Date()` and `Date.now()`. Timers still run on real time.
 */
export function installFakeClock(startMs: number): { set(ms: number): void; now(): number } {
  const RealDate = Date;
  let current = startMs;
  class FakeDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(current);
      else super(...(args as [string]));
    }
    static override now(): number {
      return current;
    }
  }
  globalThis.Date = FakeDate as DateConstructor;
  return {
    set(ms: number) {
      if (ms > current) current = ms;
    },
    now: () => current,
  };
}
