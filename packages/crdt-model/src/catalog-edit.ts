import type { CatalogDoc, FieldEditDoc, ProductDoc } from "./schema.ts";
import { ValidationError } from "./errors.ts";
import { imm, optStr, str } from "./strings.ts";

/** Product fields HQ may edit one by one, through the relay or a catalog editor. */
export const EDITABLE_FIELDS = ["price", "name", "active", "stockBuffer", "taxCode"] as const;
export type EditableField = (typeof EDITABLE_FIELDS)[number];

/** A checked edit of one product: only the fields to set. */
export interface ProductEdit {
  /** Shelf price in minor units, tax included. */
  price?: number;
  name?: string;
  active?: boolean;
  stockBuffer?: number;
  taxCode?: string;
}

export type FieldValue = number | string | boolean;

/** Stamp of a field value: who wrote it and why, stored in the catalog as `fieldEdits["SKU/field"]`. */
export interface FieldEdit {
  kind: "edit" | "import" | "choice";
  /** HQ user id, or "csv-import". */
  user: string;
  userName: string;
  /** Replica that wrote it: "relay" or an editor's peer id such as "hq:ana". */
  source: string;
  /** UTC instant, ISO 8601, by the writer's clock. */
  at: string;
  reason: string | null;
  conflictId: string | null;
}

/** Maximum length of a product name an edit accepts, in characters. */
export const MAX_PRODUCT_NAME = 200;

/** HQ user ids: the same shape as branch user ids. */
export const HQ_USER_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;

/** Key of a field's stamp in `CatalogDoc.fieldEdits`. */
export function fieldEditKey(sku: string, field: EditableField): string {
  return `${sku}/${field}`;
}

export function isEditableField(field: string): field is EditableField {
  return (EDITABLE_FIELDS as readonly string[]).includes(field);
}

/**
 * Checks the fields of an edit request against the catalog and returns the
 * edit. Prices are whole minor units (26499 for 264.99), as everywhere in
 * the API. Throws a ValidationError that names the field and the value.
 */
export function parseProductEdit(doc: CatalogDoc, fields: unknown): ProductEdit {
  if (typeof fields !== "object" || fields === null || Array.isArray(fields)) {
    throw new ValidationError("BODY_INVALID", "Send the edit as a JSON object such as {\"price\": 26499}", null);
  }
  const entries = Object.entries(fields as Record<string, unknown>);
  if (entries.length === 0) {
    throw new ValidationError("EDIT_EMPTY", `The edit sets no field; send at least one of ${EDITABLE_FIELDS.join(", ")}`, null);
  }
  const edit: ProductEdit = {};
  for (const [field, value] of entries) {
    if (!isEditableField(field)) {
      throw new ValidationError(
        "FIELD_UNKNOWN",
        `Field ${JSON.stringify(field)} cannot be edited; the editable fields are ${EDITABLE_FIELDS.join(", ")}`,
        field,
        value,
      );
    }
    Object.assign(edit, { [field]: parseFieldValue(doc, field, value) });
  }
  return edit;
}

function parseFieldValue(doc: CatalogDoc, field: EditableField, value: unknown): FieldValue {
  if (field === "price") return parsePrice(doc, value);
  if (field === "stockBuffer") {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new ValidationError("STOCK_BUFFER_INVALID", `stockBuffer ${JSON.stringify(value)} must be a whole number of units at or above 0`, field, value);
    }
    return value;
  }
  if (field === "active") {
    if (typeof value !== "boolean") {
      throw new ValidationError("ACTIVE_INVALID", `active ${JSON.stringify(value)} must be true or false`, field, value);
    }
    return value;
  }
  if (field === "taxCode") {
    if (typeof value !== "string" || !doc.taxes[value]) {
      const known = Object.keys(doc.taxes).sort().join(", ");
      throw new ValidationError("TAX_UNKNOWN", `Tax code ${JSON.stringify(value)} is not in the catalog; use one of ${known}`, field, value);
    }
    return value;
  }
  const name = typeof value === "string" ? value.trim() : "";
  if (name === "" || name.length > MAX_PRODUCT_NAME) {
    throw new ValidationError(
      "NAME_INVALID",
      `name ${JSON.stringify(value)} must be text of 1 to ${MAX_PRODUCT_NAME} characters; enter the product name`,
      field,
      value,
    );
  }
  return name;
}

function parsePrice(doc: CatalogDoc, value: unknown): number {
  const digits = doc.minorUnitDigits;
  const example = `26499 for ${(26499 / 10 ** digits).toFixed(digits)}`;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new ValidationError("PRICE_INVALID", `price ${JSON.stringify(value)} must be a number of minor units, e.g. ${example}`, "price", value);
  }
  if (!Number.isSafeInteger(value)) {
    throw new ValidationError(
      "PRICE_INVALID",
      `price ${value} is not a whole number of minor units (the currency has ${digits} decimals); send e.g. ${example}`,
      "price",
      value,
    );
  }
  if (value < 0) {
    throw new ValidationError("PRICE_INVALID", `price ${value} is negative; send the shelf price in minor units, at or above 0`, "price", value);
  }
  return value;
}

/** Reads one editable field of a stored product. */
export function readFieldValue(product: ProductDoc, field: EditableField): FieldValue {
  if (field === "name" || field === "taxCode") return str(product[field]);
  return product[field];
}

/** Formats a field value as text, the form conflicts and choices carry. */
export function fieldValueText(value: unknown): string {
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return str(value);
}

/**
 * Turns a value's text back into the field's type: the inverse of
 * `fieldValueText`. Returns null when the text is not a value of the field.
 */
export function parseFieldText(field: EditableField, text: string): FieldValue | null {
  if (field === "price" || field === "stockBuffer") return /^\d+$/.test(text) ? Number(text) : null;
  if (field === "active") {
    if (text === "true") return true;
    if (text === "false") return false;
    return null;
  }
  return text;
}

/** Lists the fields of an edit whose value differs from the product's. */
export function changedFields(product: ProductDoc, edit: ProductEdit): EditableField[] {
  return EDITABLE_FIELDS.filter((field) => edit[field] !== undefined && edit[field] !== readFieldValue(product, field));
}

/**
 * Writes one field and its stamp inside a `change()` callback. Both go into
 * the same change, which is what pairs a value with its stamp when the field
 * has concurrent values.
 */
export function setProductField(doc: CatalogDoc, sku: string, field: EditableField, value: FieldValue, stamp: FieldEdit): void {
  const product = doc.products[sku];
  if (!product) throw new Error(`No product ${sku} in the catalog`);
  if (field === "name" || field === "taxCode") product[field] = imm(String(value));
  else if (field === "active") product.active = Boolean(value);
  else product[field] = Number(value);
  writeStamp(doc, sku, field, stamp);
}

/**
 * Applies an edit inside a `change()` callback, writing only the fields
 * that change, each with its stamp. Returns the fields written.
 */
export function applyProductEdit(doc: CatalogDoc, sku: string, edit: ProductEdit, stamp: FieldEdit): EditableField[] {
  const product = doc.products[sku];
  if (!product) throw new Error(`No product ${sku} in the catalog`);
  const changed = changedFields(product, edit);
  for (const field of changed) setProductField(doc, sku, field, edit[field]!, stamp);
  return changed;
}

/**
 * Stamps a field inside a `change()` callback. A catalog made before stamps
 * existed has no `fieldEdits` map until the relay adds it, and then the
 * stamp is skipped.
 */
export function writeStamp(doc: CatalogDoc, sku: string, field: EditableField, stamp: FieldEdit): void {
  if (!doc.fieldEdits) return;
  doc.fieldEdits[fieldEditKey(sku, field)] = toFieldEditDoc(stamp);
}

function toFieldEditDoc(stamp: FieldEdit): FieldEditDoc {
  return {
    kind: imm(stamp.kind),
    user: imm(stamp.user),
    userName: imm(stamp.userName),
    source: imm(stamp.source),
    at: imm(stamp.at),
    reason: stamp.reason === null ? null : imm(stamp.reason),
    conflictId: stamp.conflictId === null ? null : imm(stamp.conflictId),
  };
}

/** Reads a stored stamp. */
export function readFieldEdit(stored: FieldEditDoc): FieldEdit {
  const kind = str(stored.kind);
  return {
    kind: kind === "import" || kind === "choice" ? kind : "edit",
    user: str(stored.user),
    userName: str(stored.userName),
    source: str(stored.source),
    at: str(stored.at),
    reason: optStr(stored.reason),
    conflictId: optStr(stored.conflictId),
  };
}

/** Reads the latest stamp of each edited field of a product. */
export function readProductEdits(doc: CatalogDoc, sku: string): Partial<Record<EditableField, FieldEdit>> {
  const out: Partial<Record<EditableField, FieldEdit>> = {};
  for (const field of EDITABLE_FIELDS) {
    const stored = doc.fieldEdits?.[fieldEditKey(sku, field)];
    if (stored) out[field] = readFieldEdit(stored);
  }
  return out;
}

/** Builds the stamp the catalog CSV import writes on each field it changes. */
export function importStamp(at: string): FieldEdit {
  return { kind: "import", user: "csv-import", userName: "CSV import", source: "relay", at, reason: null, conflictId: null };
}
