import type { DocHandle } from "@automerge/automerge-repo";
import { ValidationError, readProduct, str } from "@mercora/crdt-model";
import type { CatalogDoc } from "@mercora/crdt-model";
import type { RelayBranch } from "./branch.ts";

/** Rows a stock page returns at most. */
export const STOCK_PAGE_MAX = 100;

interface IndexedProduct {
  sku: string;
  barcode: string | null;
  name: string;
  /** Name, brand, SKU and barcode folded to lower case without accents. */
  text: string;
}

function fold(text: string): string {
  return text
    .normalize("NFD")
    .replace(/\p{Diacritic}/gu, "")
    .toLowerCase();
}

function parseWhole(value: string | undefined, fallback: number, name: string, min: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new ValidationError(`${name.toUpperCase()}_INVALID`, `${name} ${JSON.stringify(value)} must be a whole number from ${min} to ${max}`, name, value);
  }
  return number;
}

/**
 * Searches the corporate catalog with the stock of every branch, one page
 * at a time, for the HQ dashboard. The folded search text of every product
 * is cached and rebuilt when the catalog changes, so a search does not
 * walk the Automerge document.
 */
export class StockSearch {
  readonly #catalog: () => DocHandle<CatalogDoc> | null;
  readonly #branches: () => RelayBranch[];
  #index: IndexedProduct[] = [];
  #indexedHeads = "";

  constructor(catalog: () => DocHandle<CatalogDoc> | null, branches: () => RelayBranch[]) {
    this.#catalog = catalog;
    this.#branches = branches;
  }

  /** Returns the products matching every word of `q` (all when empty), sorted by name, with stock per branch. */
  search(query: { q?: string; offset?: string; limit?: string }) {
    const offset = parseWhole(query.offset, 0, "offset", 0, Number.MAX_SAFE_INTEGER);
    const limit = parseWhole(query.limit, 25, "limit", 1, STOCK_PAGE_MAX);
    const handle = this.#catalog();
    const branches = this.#branches().map((branch) => branch.id).sort();
    if (!handle) return { total: 0, offset, limit, branches, items: [] };

    const words = fold(query.q ?? "").split(/\s+/).filter(Boolean);
    const matches = this.#indexOf(handle).filter((product) => words.every((word) => product.text.includes(word)));
    const page = matches.slice(offset, offset + limit);
    const items = page.map((product) => {
      const full = readProduct(handle.doc(), product.sku);
      const stock: Record<string, number | null> = {};
      for (const branch of this.#branches()) stock[branch.id] = branch.stockPublisher.stockOf(product.sku);
      return { sku: product.sku, barcode: product.barcode, name: product.name, price: full?.price ?? null, stockBuffer: full?.stockBuffer ?? 0, stock };
    });
    return { total: matches.length, offset, limit, branches, items };
  }

  #indexOf(handle: DocHandle<CatalogDoc>): IndexedProduct[] {
    const heads = handle.heads().join(",");
    if (heads === this.#indexedHeads) return this.#index;
    const products = Object.values(handle.doc().products).map((stored) => {
      const sku = str(stored.sku);
      const barcode = stored.barcode === null ? null : str(stored.barcode);
      const name = str(stored.name);
      return { sku, barcode, name, text: fold(`${name} ${str(stored.brand)} ${sku} ${barcode ?? ""}`) };
    });
    this.#index = products.sort((a, b) => a.name.localeCompare(b.name, "es"));
    this.#indexedHeads = heads;
    return this.#index;
  }
}
