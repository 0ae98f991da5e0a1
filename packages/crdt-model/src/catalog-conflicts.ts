import { createHash } from "node:crypto";
import { getConflicts, getObjectId } from "@automerge/automerge";
import type { CatalogDoc, FieldEditDoc } from "./schema.ts";
import { EDITABLE_FIELDS, fieldEditKey, fieldValueText, readFieldEdit } from "./catalog-edit.ts";
import type { EditableField, FieldEdit, ProductEdit } from "./catalog-edit.ts";
import { RuleError } from "./errors.ts";
import type { CatalogCandidate } from "./types.ts";

/** Kind of the conflict raised for a catalog field with concurrent values. */
export const CATALOG_EDIT_KIND = "catalog-edit";

/** A product field that has concurrent values after a merge. */
export interface FieldConflict {
  /** `catalog-edit:SKU:field:HASH`, where HASH names this set of concurrent assignments. */
  id: string;
  sku: string;
  field: EditableField;
  /** One per concurrent assignment, ordered by stamp time, then value. */
  candidates: CatalogCandidate[];
}

/**
 * Lists the fields of a product that have concurrent values, read with
 * Automerge's `getConflicts`. Two replicas that set the same value
 * concurrently leave nothing to choose, so that is no conflict, and neither
 * are concurrent edits of two different fields.
 *
 * Each value is paired with the stamp (`fieldEdits`) written in the same
 * change. An op id is COUNTER@ACTOR, and one actor's changes form a chain,
 * so its assignments to one key are never concurrent with each other: among
 * the concurrent values and the concurrent stamps, each actor appears once. A value with no stamp of its actor is "unknown".
 */
export function readFieldConflicts(doc: CatalogDoc, sku: string): FieldConflict[] {
  const product = doc.products[sku];
  if (!product) return [];
  const out: FieldConflict[] = [];
  for (const field of EDITABLE_FIELDS) {
    const values = getConflicts(product, field);
    if (!values) continue;
    const entries = Object.entries(values);
    if (new Set(entries.map(([, value]) => fieldValueText(value))).size < 2) continue;
    const stamps = stampsByActor(doc, sku, field);
    const candidates = entries.map(([opId, value]) => toCandidate(fieldValueText(value), stamps.get(actorOf(opId)) ?? null, opId));
    candidates.sort(bySetTimeThenValue);
    out.push({ id: catalogConflictId(sku, field, entries.map(([opId]) => opId)), sku, field, candidates });
  }
  return out;
}

/** Lists the fields with concurrent values of every product that was ever edited (has a stamp). */
export function readEditedFieldConflicts(doc: CatalogDoc): FieldConflict[] {
  const skus = new Set(Object.keys(doc.fieldEdits ?? {}).map((key) => key.slice(0, key.lastIndexOf("/"))));
  return [...skus].sort().flatMap((sku) => readFieldConflicts(doc, sku));
}

/** Id of a catalog-edit conflict; a later set of concurrent values of the same field gets a new id. */
export function catalogConflictId(sku: string, field: EditableField, opIds: string[]): string {
  const hash = createHash("sha256").update([...opIds].sort().join(",")).digest("hex").slice(0, 12);
  return `${CATALOG_EDIT_KIND}:${sku}:${field}:${hash}`;
}

function bySetTimeThenValue(a: CatalogCandidate, b: CatalogCandidate): number {
  if (a.setAt !== b.setAt) return a.setAt < b.setAt ? -1 : 1;
  return a.value.localeCompare(b.value);
}

function actorOf(opId: string): string {
  return opId.slice(opId.indexOf("@") + 1);
}

/**
 * Reads the stamps of a field by the actor that wrote them: the keys of
 * concurrent stamps are their op ids, and a single stamp is a map whose
 * object id is the op id that created it.
 */
function stampsByActor(doc: CatalogDoc, sku: string, field: EditableField): Map<string, FieldEdit> {
  const out = new Map<string, FieldEdit>();
  const key = fieldEditKey(sku, field);
  const stored = doc.fieldEdits?.[key];
  if (!doc.fieldEdits || !stored) return out;
  const concurrent = getConflicts(doc.fieldEdits, key) as Record<string, FieldEditDoc> | undefined;
  const byOpId: [string, FieldEditDoc][] = concurrent ? Object.entries(concurrent) : [[getObjectId(stored) ?? "", stored]];
  for (const [opId, stamp] of byOpId) if (opId) out.set(actorOf(opId), readFieldEdit(stamp));
  return out;
}

function toCandidate(value: string, stamp: FieldEdit | null, opId: string): CatalogCandidate {
  if (!stamp) {
    const actor = actorOf(opId).slice(0, 8);
    return { value, setBy: "unknown", setByName: `unknown writer (actor ${actor})`, source: "unknown", setAt: "" };
  }
  return { value, setBy: stamp.user, setByName: stamp.userName, source: stamp.source, setAt: stamp.at };
}

/** Describes a catalog-edit conflict in one line for logs and the conflict's detail. */
export function describeFieldConflict(conflict: FieldConflict, productName: string): string {
  const values = conflict.candidates.map((c) => `${c.value} set by ${c.setByName} (${c.setBy}, ${c.source})${c.setAt ? ` at ${c.setAt}` : ""}`);
  return `${conflict.field} of ${conflict.sku} (${productName}) was set concurrently: ${values.join("; ")}; a manager chooses the value`;
}

/**
 * Rejects an edit that sets a field with concurrent values, because a new
 * value would silently supersede them, so a manager chooses among them
 * first. `howToChoose` returns where a manager does that for a field.
 */
export function rejectEditOfConflictedField(
  doc: CatalogDoc,
  sku: string,
  edit: ProductEdit,
  howToChoose: (field: EditableField) => string,
): void {
  for (const conflict of readFieldConflicts(doc, sku)) {
    if (edit[conflict.field] === undefined) continue;
    const values = conflict.candidates.map((c) => `${c.value} (${c.setByName})`).join(", ");
    throw new RuleError(
      "CATALOG_CONFLICT_OPEN",
      `${conflict.field} of ${sku} has concurrent values ${values}; a manager chooses one (${howToChoose(conflict.field)}) before it can be edited`,
      conflict.field,
    );
  }
}
