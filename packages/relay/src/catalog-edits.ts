import type { DocHandle, Repo } from "@automerge/automerge-repo";
import {
  HQ_USER_PATTERN,
  RuleError,
  ValidationError,
  applyProductEdit,
  fieldValueText,
  isEditableField,
  parseFieldText,
  parseProductEdit,
  readEditedFieldConflicts,
  readFieldConflicts,
  readProduct,
  readProductEdits,
  rejectEditOfConflictedField,
  setProductField,
} from "@mercora/crdt-model";
import type { CatalogCandidate, CatalogDoc, EditableField, FieldConflict, FieldEdit } from "@mercora/crdt-model";
import type { Logger } from "pino";
import type { CatalogConflictDetector } from "./catalog-conflict-detector.ts";

/** Request of a manager's choice among a field's concurrent values. */
export interface CatalogChoiceInput {
  /** One of the candidates' values, as text ("17500", "true", a name); a number or boolean is taken as its text. */
  value: unknown;
  /** Id of the manager who chooses. */
  manager: unknown;
  managerName?: unknown;
  reason: unknown;
}

/** The outcome of a choice, for the caller's audit entry. */
export interface CatalogChoice {
  conflictId: string;
  sku: string;
  field: EditableField;
  value: string;
  /** The concurrent values the manager chose among. */
  candidates: CatalogCandidate[];
  manager: string;
  managerName: string;
  reason: string;
  at: string;
  /** Records the choice wrote: the field's value and stamp in the catalog. */
  records: string[];
}

/**
 * HQ's edits of single catalog fields through the relay, and a manager's
 * choice among a field's concurrent values. Both write the value with a
 * stamp naming who set it, so a later concurrent edit can name them too.
 */
export class CatalogEdits {
  constructor(
    private readonly repo: Repo,
    private readonly catalog: () => DocHandle<CatalogDoc> | null,
    readonly detector: CatalogConflictDetector,
    private readonly log: Logger,
  ) {}

  /**
   * Starts following the catalog: adds the stamp map to a catalog made
   * before stamps existed (the relay alone creates it, before any editor
   * can write into it), then lets the detector watch every change.
   */
  async follow(handle: DocHandle<CatalogDoc>): Promise<void> {
    if (!handle.doc().fieldEdits) {
      handle.change((doc) => {
        doc.fieldEdits = {};
      });
      await this.repo.flush([handle.documentId]);
      this.log.info("catalog edit stamps added to the catalog");
    }
    this.detector.attach(handle);
  }

  #handle(): DocHandle<CatalogDoc> {
    const handle = this.catalog();
    if (!handle) throw new ValidationError("CATALOG_MISSING", "The relay has no catalog yet; import one with POST /api/hq/catalog", null);
    return handle;
  }

  /** Reads a product with the stamp of each edited field and its open conflicts. */
  product(sku: string) {
    const doc = this.#handle().doc();
    const product = readProduct(doc, sku);
    if (!product) throw productNotFound(sku);
    return { product, edits: readProductEdits(doc, sku), conflicts: readFieldConflicts(doc, sku) };
  }

  /** Lists every catalog field that has concurrent values, once the latest merge was examined. */
  async conflicts(): Promise<FieldConflict[]> {
    await this.detector.idle();
    return readEditedFieldConflicts(this.#handle().doc());
  }

  /**
   * Edits one product for an HQ user: `body` contains `user`, an optional
   * `userName` and the fields to set. An edit of a field with concurrent
   * values is rejected until a manager chooses one. Returns the fields that
   * changed.
   */
  async edit(sku: string, body: unknown) {
    const handle = this.#handle();
    const { user, userName, ...fields } = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    const editor = checkUser(user, userName);
    if (!readProduct(handle.doc(), sku)) throw productNotFound(sku);
    const edit = parseProductEdit(handle.doc(), fields);
    rejectEditOfConflictedField(handle.doc(), sku, edit, (field) => `POST /api/hq/catalog/conflicts/${sku}/${field}/choice`);
    const stamp: FieldEdit = { kind: "edit", ...editor, source: "relay", at: new Date().toISOString(), reason: null, conflictId: null };
    let changed: EditableField[] = [];
    handle.change((doc) => {
      changed = applyProductEdit(doc, sku, edit, stamp);
    });
    await this.repo.flush([handle.documentId]);
    if (changed.length > 0) this.log.info({ sku, fields: changed, user: editor.user }, "catalog product edited");
    return { sku, changed, product: readProduct(handle.doc(), sku)!, edits: readProductEdits(handle.doc(), sku) };
  }

  /** Finds the open conflict of one field, or throws 404 CONFLICT_UNKNOWN / 409 CONFLICT_RESOLVED. */
  openConflict(sku: string, field: string): FieldConflict {
    const doc = this.#handle().doc();
    if (!isEditableField(field)) {
      throw new ValidationError("FIELD_UNKNOWN", `Field ${JSON.stringify(field)} is not an editable catalog field`, "field", field);
    }
    if (!readProduct(doc, sku)) throw productNotFound(sku);
    const conflict = readFieldConflicts(doc, sku).find((c) => c.field === field);
    if (conflict) return conflict;
    throw noOpenConflict(doc, sku, field, `${sku}/${field}`);
  }

  /**
   * Applies a manager's choice among the concurrent values of a catalog
   * field: writes the chosen value and a "choice" stamp naming the manager
   * and the reason in one change, which supersedes every concurrent value,
   * then withdraws the conflict from every branch. `conflictId` is the id
   * the manager reviewed; a field whose concurrent values changed since is
   * rejected with 409 CONFLICT_CHANGED. A value that is not one of the
   * candidates is rejected with 400 VALUE_INVALID, and nothing is written.
   */
  async chooseValue(conflictId: string, input: CatalogChoiceInput): Promise<CatalogChoice> {
    const handle = this.#handle();
    const { sku, field } = parseConflictId(conflictId);
    const conflict = readFieldConflicts(handle.doc(), sku).find((c) => c.field === field);
    if (!conflict) throw noOpenConflict(handle.doc(), sku, field, conflictId);
    if (conflict.id !== conflictId) {
      const values = conflict.candidates.map((c) => c.value).join(", ");
      throw new RuleError("CONFLICT_CHANGED", `The concurrent values of ${field} of ${sku} changed since conflict ${conflictId}: now ${values} (${conflict.id}); review it again`, "conflictId");
    }
    const choice = checkChoice(conflict, input);
    const at = new Date().toISOString();
    const stamp: FieldEdit = { kind: "choice", user: choice.manager, userName: choice.managerName, source: "relay", at, reason: choice.reason, conflictId };
    handle.change((doc) => setProductField(doc, sku, field, parseFieldText(field, choice.value)!, stamp));
    await this.repo.flush([handle.documentId]);
    await this.detector.refresh(new Set([sku]));
    this.log.info({ conflict: conflictId, value: choice.value, manager: choice.manager, reason: choice.reason }, "catalog edit conflict resolved");
    return { conflictId, sku, field, ...choice, candidates: conflict.candidates, at, records: [`catalog:${sku}/${field}`] };
  }
}

function productNotFound(sku: string): Error {
  return Object.assign(new Error(`No product with SKU ${sku} in the catalog; check the SKU or import it with POST /api/hq/catalog`), {
    statusCode: 404,
    code: "PRODUCT_UNKNOWN",
  });
}

function checkUser(user: unknown, userName: unknown): { user: string; userName: string } {
  if (user === undefined) throw new ValidationError("USER_MISSING", "The edit names no user; send user, the id of the HQ user who edits", "user");
  if (typeof user !== "string" || !HQ_USER_PATTERN.test(user)) {
    throw new ValidationError("USER_INVALID", `user ${JSON.stringify(user)} must be the HQ user's id: 1-32 letters, digits, ., - or _`, "user", user);
  }
  if (userName !== undefined && (typeof userName !== "string" || userName.trim() === "" || userName.length > 100)) {
    throw new ValidationError("USER_NAME_INVALID", `userName ${JSON.stringify(userName)} must be 1 to 100 characters`, "userName", userName);
  }
  return { user, userName: typeof userName === "string" ? userName.trim() : user };
}

function checkChoice(conflict: FieldConflict, input: CatalogChoiceInput) {
  const allowed = [...new Set(conflict.candidates.map((c) => c.value))];
  const value = typeof input.value === "number" || typeof input.value === "boolean" ? String(input.value) : input.value;
  if (typeof value !== "string" || !allowed.includes(value)) {
    throw new ValidationError(
      "VALUE_INVALID",
      `value ${JSON.stringify(input.value)} is not one of the concurrent values of ${conflict.field} of ${conflict.sku}; send one of ${allowed.join(", ")}`,
      "value",
      input.value,
    );
  }
  if (input.manager === undefined) throw new ValidationError("MANAGER_MISSING", "The choice names no manager; send manager, the id of the manager who chooses", "manager");
  if (typeof input.manager !== "string" || !HQ_USER_PATTERN.test(input.manager)) {
    throw new ValidationError("MANAGER_INVALID", `manager ${JSON.stringify(input.manager)} must be the id of the manager who chooses`, "manager", input.manager);
  }
  if (typeof input.reason !== "string" || input.reason.trim() === "") {
    throw new ValidationError("REASON_MISSING", "A choice needs a reason, e.g. \"supplier price list of March\"", "reason");
  }
  const managerName = typeof input.managerName === "string" && input.managerName.trim() !== "" ? input.managerName.trim() : input.manager;
  return { value, manager: input.manager, managerName, reason: input.reason.trim() };
}

function parseConflictId(conflictId: string): { sku: string; field: EditableField } {
  const match = /^catalog-edit:(.+):([A-Za-z]+):[0-9a-f]{12}$/.exec(conflictId);
  if (!match || !isEditableField(match[2]!)) {
    throw Object.assign(new Error(`${conflictId} is not a catalog-edit conflict id (catalog-edit:SKU:field:HASH)`), {
      statusCode: 404,
      code: "CONFLICT_UNKNOWN",
    });
  }
  return { sku: match[1]!, field: match[2] };
}

function noOpenConflict(doc: CatalogDoc, sku: string, field: EditableField, asked: string): Error {
  const stamp = readProductEdits(doc, sku)[field];
  if (stamp?.kind === "choice" && (asked === stamp.conflictId || asked === `${sku}/${field}`)) {
    return new RuleError(
      "CONFLICT_RESOLVED",
      `${field} of ${sku} was already chosen by ${stamp.userName} at ${stamp.at} (${stamp.reason}); its value is ${fieldValueText(doc.products[sku]![field])}`,
      "conflictId",
    );
  }
  return Object.assign(new Error(`${field} of ${sku} has no concurrent values, so conflict ${asked} is not found or no longer open`), {
    statusCode: 404,
    code: "CONFLICT_UNKNOWN",
  });
}
