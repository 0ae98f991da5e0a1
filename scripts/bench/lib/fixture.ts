import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { destination, pino } from "pino";
import type { Logger } from "pino";
import { parseCatalogCsv } from "@mercora/crdt-model";
import type { ProductInput } from "@mercora/crdt-model";
import { api, startMercora } from "../../lib/processes.ts";
import { DEFAULT_CONNECTIVITY, Terminal } from "@mercora/terminal";
import type { LanPeer, TerminalOptions } from "@mercora/terminal";
import { ROOT } from "./stats.ts";
import { freePort } from "./store-procs.ts";

export const CATALOG_PATH = join(ROOT, "data", "catalog", "precios-claros-25-1-1.csv");
export const BRANCH = "B1";
export const TIME_ZONE = "America/Argentina/Buenos_Aires";
/** Opening stock of every SKU: high enough that no bench sale is refused by the offline stock buffer. */
export const OPENING_STOCK = 10_000_000;

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
 * Builds a ticket of `lines` products paid with two tenders (card, then
 * cash with change), picked deterministically from `products` by `n`.
 */
export function ticket(products: ProductInput[], n: number, lines = 3) {
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

/** Creates a `Terminal` with the CLI's defaults, for driving the product class in a bench process. */
export function makeTerminal(settings: TerminalSettings): Terminal {
  const options = {
    dataDir: settings.dataDir,
    branch: BRANCH,
    terminal: settings.terminal,
    relayUrl: settings.relayUrl,
    directoryUrl: null,
    lanListen: settings.lanListen ?? null,
    lanAdvertise: null,
    lanPeers: settings.lanPeers ?? [],
    lanDiscovery: false,
    connectivity: DEFAULT_CONNECTIVITY,
    receipts: { target: settings.receipts ?? "file", columns: 48, locale: "es-419" },
    bootstrapTimeoutMs: 120_000,
    // CLI defaults of options that newer product versions added; older versions ignore them.
    clockOffsetMs: 0,
    clockSkewThresholdMs: 120_000,
    log: settings.log,
  };
  // NOTE: the cast lets this file compile against product versions with and without the clock options.
  // TODO: the figures were run at commit b5be3e8; build the keystore, the activated state and a signed-in
  // cashier here so the bench runs on terminals with encrypted storage and signed records.
  return new Terminal(options as unknown as TerminalOptions);
}

/**
 * Creates a branch with the real catalog on a `mercora relay` process
 * under `root/relay`, and bootstraps each terminal under `root/<id>` with a
 * `mercora terminal` process, so each terminal's storage contains the branch
 * documents. It goes through the CLI and the HQ API, which change less
 * than the classes' constructor options. Every process stops before this
 * returns; a later process opens the folders.
 */
export async function buildBranch(root: string, terminals: string[], branches: string[] = [BRANCH]): Promise<void> {
  await mkdir(root, { recursive: true });
  const port = await freePort();
  const relay = await startMercora(
    "relay",
    ["relay", "--data", join(root, "relay"), "--listen", `127.0.0.1:${port}`],
    join(root, "logs", "build-relay.log"),
    120_000,
  );
  try {
    const imported = await api(relay.ready.http, "/api/hq/catalog", { rawBody: catalogCsv(), contentType: "text/csv", timeoutMs: 300_000 });
    if (imported.status !== 200) throw new Error(`Catalog import failed with HTTP ${imported.status}: ${JSON.stringify(imported.body)}`);
    for (const id of branches) {
      const created = await api(relay.ready.http, "/api/hq/branches", {
        body: {
          id,
          name: `Sucursal ${id}`,
          timeZone: TIME_ZONE,
          terminals: terminals.map((terminal) => ({ id: terminal, name: `Caja ${terminal}` })),
          openingStock: { default: OPENING_STOCK },
        },
        timeoutMs: 300_000,
      });
      if (created.status !== 201) throw new Error(`Branch ${id} not created, HTTP ${created.status}: ${JSON.stringify(created.body)}`);
    }
    if (branches.length !== 1) return;
    for (const id of terminals) {
      // Relays that enroll terminals return a one-time activation code here; older ones return 404.
      const enrollment = await api<{ code?: string }>(relay.ready.http, `/api/hq/branches/${branches[0]!}/enrollments`, { body: { terminal: id } });
      const activation = enrollment.status < 300 && enrollment.body.code ? ["--activation-code", enrollment.body.code] : [];
      const terminal = await startMercora(
        `terminal ${id}`,
        ["terminal", "--data", join(root, id), "--branch", branches[0]!, "--terminal", id, "--relay", relay.ready.http,
          "--lan-listen", "127.0.0.1:0", "--no-lan-discovery", "--receipts", "none", ...activation],
        join(root, "logs", `build-${id}.log`),
        300_000,
      );
      await terminal.stop(10_000);
    }
  } finally {
    await relay.stop(10_000);
  }
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
