import { findProduct, listTaxes, readPricingRules, readProduct, readTax } from "./catalog.ts";
import type { PricingRules } from "./pricing.ts";
import type { CatalogDoc } from "./schema.ts";
import { str } from "./strings.ts";
import type { Product, Tax } from "./types.ts";

/** The lookups that pricing reads from a catalog, whether a document or an index. */
export interface CatalogLookup {
  /** Finds a product by SKU or by barcode, in that order. */
  findProduct(code: string): Product | null;
  readTax(code: string): Tax | null;
  pricingRules(): PricingRules;
  /** ISO 4217 code of the catalog's prices. */
  currency(): string;
}

/** Reads lookups straight from a catalog document. */
export function catalogDocLookup(doc: CatalogDoc): CatalogLookup {
  return {
    findProduct: (code) => findProduct(doc, code),
    readTax: (code) => readTax(doc, code),
    pricingRules: () => readPricingRules(doc),
    currency: () => str(doc.currency),
  };
}

/**
 * The catalog as plain JSON, with the heads of the document it was read
 * from. A terminal keeps one, sealed, to sell before the Automerge catalog
 * has loaded: parsing 12,513 products of JSON takes milliseconds, loading
 * the same document hundreds of milliseconds.
 */
export interface CatalogSnapshot {
  format: "mercora-catalog-snapshot";
  version: 1;
  /** URL of the catalog document this snapshot was read from. */
  url: string;
  /** Heads of the catalog document this snapshot was read from (hex). */
  heads: string[];
  country: string;
  currency: string;
  minorUnitDigits: number;
  pricing: PricingRules;
  taxes: Tax[];
  products: Product[];
}

/** An in-memory index of a catalog's products by SKU and barcode. */
export class CatalogIndex implements CatalogLookup {
  readonly #bySku = new Map<string, Product>();
  readonly #byBarcode = new Map<string, string>();
  readonly #taxes = new Map<string, Tax>();

  private constructor(readonly snapshot: CatalogSnapshot) {
    for (const tax of snapshot.taxes) this.#taxes.set(tax.code, tax);
    for (const product of snapshot.products) {
      this.#bySku.set(product.sku, product);
      if (product.barcode) this.#byBarcode.set(product.barcode, product.sku);
    }
  }

  /** Reads every product of a catalog document; `heads` are the document's heads (hex). */
  static fromDoc(doc: CatalogDoc, url: string, heads: string[]): CatalogIndex {
    const products: Product[] = [];
    for (const sku of Object.keys(doc.products ?? {})) products.push(readProduct(doc, sku)!);
    return new CatalogIndex({
      format: "mercora-catalog-snapshot",
      version: 1,
      url,
      heads: [...heads],
      country: str(doc.country),
      currency: str(doc.currency),
      minorUnitDigits: doc.minorUnitDigits,
      pricing: readPricingRules(doc),
      taxes: listTaxes(doc),
      products,
    });
  }

  /** Builds an index from a snapshot read back from disk; throws when it is not one. */
  static fromSnapshot(value: unknown): CatalogIndex {
    const snapshot = value as Partial<CatalogSnapshot> | null;
    if (snapshot?.format !== "mercora-catalog-snapshot" || snapshot.version !== 1 || !Array.isArray(snapshot.products)) {
      throw new Error("not a version 1 catalog snapshot");
    }
    return new CatalogIndex(snapshot as CatalogSnapshot);
  }

  get size(): number {
    return this.#bySku.size;
  }

  findProduct(code: string): Product | null {
    const bySku = this.#bySku.get(code);
    if (bySku) return bySku;
    const sku = this.#byBarcode.get(code);
    return sku ? (this.#bySku.get(sku) ?? null) : null;
  }

  readProduct(sku: string): Product | null {
    return this.#bySku.get(sku) ?? null;
  }

  readTax(code: string): Tax | null {
    return this.#taxes.get(code) ?? null;
  }

  pricingRules(): PricingRules {
    return this.snapshot.pricing;
  }

  currency(): string {
    return this.snapshot.currency;
  }

  /** ISO 3166 code of the catalog's country, which picks the tax profile. */
  country(): string {
    return this.snapshot.country;
  }

  get minorUnitDigits(): number {
    return this.snapshot.minorUnitDigits;
  }

  /** Lists every product, in the catalog's order. */
  products(): Iterable<Product> {
    return this.#bySku.values();
  }
}
