import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCatalogCsv } from "@mercora/crdt-model";
import type { ProductInput } from "@mercora/crdt-model";
import { StoreHarness, TEST_TERMINAL_FLAGS } from "../../scripts/lib/store.ts";
import type { BranchPlan } from "../../scripts/lib/store.ts";
import { api } from "../../scripts/lib/processes.ts";

const CATALOG_PATH = join(import.meta.dirname, "..", "..", "data", "catalog", "precios-claros-25-1-1.csv");

/** The first `rows` products of the bundled real catalog, as CSV and as parsed products. */
export function smallCatalog(rows = 200): { csv: string; products: ProductInput[] } {
  const lines = readFileSync(CATALOG_PATH, "utf8").split("\n");
  const csv = lines.slice(0, rows + 1).join("\n") + "\n";
  const { products, errors } = parseCatalogCsv(csv);
  if (errors.length > 0) throw new Error(`Test catalog has errors: ${JSON.stringify(errors.slice(0, 3))}`);
  return { csv, products };
}

/** The manager of the test stores and the PIN that authorizes refunds, voids and resolutions. */
export const MANAGER = { manager: "gerente", pin: "2468" };

export interface StoreOptions {
  /** Country of the catalog's tax profile (default AR). */
  country?: string;
  /** More catalog CSVs imported after the first, each with its own tax code. */
  extraCatalogs?: { csv: string; taxCode: string }[];
  /** Flags that follow `TEST_TERMINAL_FLAGS` on every terminal, e.g. a `--printer`. */
  terminalFlags?: string[];
}

/**
 * Starts a store in a fresh temporary folder; `stop()` ends every process and removes the folder.
 * A list in place of `options` gives extra flags for every terminal.
 */
export async function startStore(branches: BranchPlan[], catalogCsv: string, options: StoreOptions | string[] = {}) {
  const settings: StoreOptions = Array.isArray(options) ? { terminalFlags: options } : options;
  const root = await mkdtemp(join(tmpdir(), "mercora-test-"));
  const store = new StoreHarness({
    root,
    catalogCsv,
    branches,
    terminalFlags: [...TEST_TERMINAL_FLAGS, ...(settings.terminalFlags ?? [])],
    ...(settings.country ? { country: settings.country } : {}),
    ...(settings.extraCatalogs ? { extraCatalogs: settings.extraCatalogs } : {}),
  });
  try {
    await store.start();
  } catch (error) {
    await store.stop().catch(() => undefined);
    throw error;
  }
  return {
    store,
    root,
    async stop() {
      await store.stop();
      if (!process.env.MERCORA_KEEP_TEST_DATA) await rm(root, { recursive: true, force: true });
    },
  };
}

export interface SaleResponse {
  record: { id: string; seq: number; total: number; hlc: string; offline: boolean };
  duplicate: boolean;
}

/** Sells `qty` units of one product paid in exact cash, and returns the response. */
export async function sell(http: string, product: ProductInput, qty = 1, requestId?: string) {
  return api<SaleResponse & { error?: string; message?: string }>(http, "/sales", {
    body: {
      lines: [{ sku: product.sku, qty }],
      tenders: [{ type: "cash", amount: product.price * qty }],
      ...(requestId ? { requestId } : {}),
    },
  });
}

export async function stockAt(http: string, sku: string): Promise<number | null> {
  const response = await api<{ stock: number | null }>(http, `/stock/${sku}`);
  return response.body.stock;
}

export async function relayStock(store: StoreHarness, branch: string, sku: string): Promise<number | null> {
  const response = await api<Record<string, number | null>>(store.relayUrl, `/api/hq/branches/${branch}/stock?skus=${sku}`);
  return response.body[sku] ?? null;
}

/** Document id of a branch's directory, from the relay's state file in a test store's folder. */
export async function directoryDocumentId(root: string, branch: string): Promise<string> {
  const state = JSON.parse(await readFile(join(root, "relay", "relay.json"), "utf8")) as { branches: Record<string, { directoryUrl: string }> };
  const url = state.branches[branch]?.directoryUrl;
  if (!url) throw new Error(`The relay in ${root} has no branch ${branch}`);
  return url.replace(/^automerge:/, "");
}
