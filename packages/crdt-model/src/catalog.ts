import type { CatalogDoc, ProductDoc } from "./schema.ts";
import { SCHEMA_VERSION } from "./schema.ts";
import { imm, optStr, str } from "./strings.ts";
import type { PricingRules } from "./pricing.ts";
import type { TaxRounding } from "./tax-profiles.ts";
import type { Product, Tax } from "./types.ts";
import { EDITABLE_FIELDS, importStamp, readFieldValue, setProductField } from "./catalog-edit.ts";
import type { FieldEdit } from "./catalog-edit.ts";

export interface CatalogSettings {
  country: string;
  currency: string;
  minorUnitDigits: number;
  pricesIncludeTax: boolean;
  rounding: TaxRounding;
  taxes: Tax[];
}

/** Builds the initial value of a corporate catalog document, with its taxes and no products. */
export function initCatalog(settings: CatalogSettings): CatalogDoc {
  const taxes: CatalogDoc["taxes"] = {};
  for (const tax of settings.taxes) {
    taxes[tax.code] = { name: imm(tax.name), rateBp: tax.rateBp };
  }
  return {
    schema: SCHEMA_VERSION,
    type: imm("catalog"),
    country: imm(settings.country),
    currency: imm(settings.currency),
    minorUnitDigits: settings.minorUnitDigits,
    pricesIncludeTax: settings.pricesIncludeTax,
    taxRounding: imm(settings.rounding),
    taxes,
    products: {},
    barcodes: {},
    fieldEdits: {},
  };
}

function toProductDoc(product: Product): ProductDoc {
  return {
    sku: imm(product.sku),
    barcode: product.barcode === null ? null : imm(product.barcode),
    name: imm(product.name),
    brand: imm(product.brand),
    presentation: imm(product.presentation),
    price: product.price,
    taxCode: imm(product.taxCode),
    active: product.active,
    stockBuffer: product.stockBuffer,
  };
}

/**
 * Inserts or updates products inside a `change()` callback. A product whose
 * tax code is not in the catalog is rejected before anything is written. An
 * existing product is updated field by field, and only where a value
 * differs, each changed editable field with `stamp`: replacing the whole
 * object would hide a catalog editor's concurrent edit of that product
 * instead of raising a conflict.
 */
export function putProducts(doc: CatalogDoc, products: Product[], stamp: FieldEdit = importStamp(new Date().toISOString())): void {
  for (const product of products) {
    if (!doc.taxes[product.taxCode]) {
      throw new Error(
        `Product ${product.sku} has unknown tax code "${product.taxCode}"; add the tax to the catalog first`,
      );
    }
  }
  for (const product of products) {
    const previous = doc.products[product.sku];
    const previousBarcode = previous ? optStr(previous.barcode) : null;
    if (previousBarcode && previousBarcode !== product.barcode) {
      delete doc.barcodes[previousBarcode];
    }
    if (previous) updateProduct(doc, previous, product, stamp);
    else doc.products[product.sku] = toProductDoc(product);
    if (product.barcode) doc.barcodes[product.barcode] = imm(product.sku);
  }
}

function updateProduct(doc: CatalogDoc, stored: ProductDoc, product: Product, stamp: FieldEdit): void {
  if (optStr(stored.barcode) !== product.barcode) stored.barcode = product.barcode === null ? null : imm(product.barcode);
  if (str(stored.brand) !== product.brand) stored.brand = imm(product.brand);
  if (str(stored.presentation) !== product.presentation) stored.presentation = imm(product.presentation);
  for (const field of EDITABLE_FIELDS) {
    if (readFieldValue(stored, field) !== product[field]) setProductField(doc, product.sku, field, product[field], stamp);
  }
}

/** Reads one product by SKU, or null when the catalog has no such SKU. */
export function readProduct(doc: CatalogDoc, sku: string): Product | null {
  const stored = doc.products[sku];
  if (!stored) return null;
  return {
    sku: str(stored.sku),
    barcode: optStr(stored.barcode),
    name: str(stored.name),
    brand: str(stored.brand),
    presentation: str(stored.presentation),
    price: stored.price,
    taxCode: str(stored.taxCode),
    active: stored.active,
    stockBuffer: stored.stockBuffer,
  };
}

/** Finds a product by SKU or by barcode, in that order. */
export function findProduct(doc: CatalogDoc, code: string): Product | null {
  const bySku = readProduct(doc, code);
  if (bySku) return bySku;
  const sku = doc.barcodes[code];
  return sku ? readProduct(doc, str(sku)) : null;
}

/** Reads one tax by code, or null. */
export function readTax(doc: CatalogDoc, code: string): Tax | null {
  const stored = doc.taxes[code];
  if (!stored) return null;
  return { code, name: str(stored.name), rateBp: stored.rateBp };
}

/** Lists every SKU in the catalog, sorted. */
export function listSkus(doc: CatalogDoc): string[] {
  return Object.keys(doc.products).sort();
}

/** Reads how the catalog's prices are taxed and rounded. */
export function readPricingRules(doc: CatalogDoc): PricingRules {
  const rounding = str(doc.taxRounding);
  return {
    pricesIncludeTax: doc.pricesIncludeTax,
    rounding: rounding === "per-rate-group" ? "per-rate-group" : "per-line",
  };
}

/** Reads the catalog's currency and its minor unit digits. */
export function readCurrency(doc: CatalogDoc): { currency: string; minorUnitDigits: number } {
  return { currency: str(doc.currency), minorUnitDigits: doc.minorUnitDigits };
}

/** Lists the catalog's taxes. */
export function listTaxes(doc: CatalogDoc): Tax[] {
  return Object.keys(doc.taxes)
    .sort()
    .map((code) => readTax(doc, code)!);
}
