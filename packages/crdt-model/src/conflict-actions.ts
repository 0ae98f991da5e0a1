import { RuleError, ValidationError } from "./errors.ts";
import type { ActionSpec, Conflict, Detection } from "./types.ts";

/** Largest quantity of found stock one action may record. */
export const MAX_FOUND_STOCK = 1_000_000;

/** Longest reason a manager may give, in characters. */
export const MAX_REASON_LENGTH = 500;

type Need = ActionSpec["needs"][number];

interface ActionTemplate {
  action: string;
  needs: Need[];
  /** Where the allowed values come from: the conflict's tickets, or the detection's own `values`. */
  valuesFrom?: "tickets" | "detection";
  hqOnly?: boolean;
}

const ACKNOWLEDGE: ActionTemplate[] = [{ action: "acknowledge", needs: [] }];
const MONEY_OUT_TWICE: ActionTemplate[] = [
  { action: "accept-loss", needs: [] },
  { action: "recover-from-customer", needs: [] },
];

/**
 * Actions a manager may take per conflict kind. A kind missing here (one a
 * newer replica raises) can be acknowledged, so no conflict is left without
 * an action.
 */
const ACTIONS_BY_KIND: Record<string, ActionTemplate[]> = {
  oversell: [
    { action: "accept-backorder", needs: [] },
    { action: "record-found-stock", needs: ["quantity"] },
    { action: "refund-customer", needs: ["value"], valuesFrom: "tickets" },
  ],
  "double-refund": MONEY_OUT_TWICE,
  "void-refund": MONEY_OUT_TWICE,
  "double-void": MONEY_OUT_TWICE,
  "duplicate-provisional": ACKNOWLEDGE,
  integrity: ACKNOWLEDGE,
  "clock-skew": ACKNOWLEDGE,
  "revoked-device": ACKNOWLEDGE,
  "catalog-edit": [{ action: "choose-value", needs: ["value"], valuesFrom: "detection", hqOnly: true }],
};

/** Lists the conflict kinds with their own actions; any other kind gets `acknowledge`. */
export function knownConflictKinds(): string[] {
  return Object.keys(ACTIONS_BY_KIND).sort();
}

/** Lists what a manager may do about a conflict, with the values each action accepts. */
export function actionsFor(conflict: Pick<Detection, "kind" | "tickets" | "values">): ActionSpec[] {
  const templates = ACTIONS_BY_KIND[conflict.kind] ?? ACKNOWLEDGE;
  return templates.map((template) => {
    const spec: ActionSpec = { action: template.action, needs: [...template.needs] };
    if (template.valuesFrom === "tickets") spec.values = [...conflict.tickets];
    if (template.valuesFrom === "detection") spec.values = [...(conflict.values ?? [])];
    if (template.hqOnly) spec.hqOnly = true;
    return spec;
  });
}

/** A manager's resolution of a conflict, as a client sends it. */
export interface ResolutionRequest {
  manager: string;
  pin: string;
  action: string;
  reason: string;
  quantity: number | null;
  value: string | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks the shape of an untrusted resolution request and returns it typed. */
export function parseResolutionRequest(body: unknown): ResolutionRequest {
  if (!isObject(body)) {
    throw new ValidationError("BODY_INVALID", "The resolution must be a JSON object with manager, pin, action and reason", null);
  }
  if (typeof body.manager !== "string" || body.manager === "" || typeof body.pin !== "string") {
    throw new ValidationError("MANAGER_PIN_MISSING", "A resolution needs a manager's user id (`manager`) and PIN (`pin`)", "manager");
  }
  if (typeof body.action !== "string" || body.action === "") {
    throw new ValidationError("ACTION_INVALID", "The resolution needs `action`; GET the conflict to see its `actions`", "action", body.action);
  }
  const reason = typeof body.reason === "string" ? body.reason.trim() : "";
  if (reason === "") {
    throw new ValidationError("REASON_MISSING", "A resolution needs `reason`: say why, in a few words, for the audit trail", "reason");
  }
  if (reason.length > MAX_REASON_LENGTH) {
    throw new ValidationError("REASON_INVALID", `The reason has ${reason.length} characters; keep it under ${MAX_REASON_LENGTH}`, "reason");
  }
  const quantity = body.quantity ?? null;
  if (quantity !== null && typeof quantity !== "number") {
    throw new ValidationError("QUANTITY_INVALID", `quantity ${JSON.stringify(quantity)} is not a number`, "quantity", quantity);
  }
  const value = body.value ?? null;
  if (value !== null && typeof value !== "string") {
    throw new ValidationError("VALUE_INVALID", `value ${JSON.stringify(value)} is not a string`, "value", value);
  }
  return { manager: body.manager, pin: body.pin, action: body.action, reason, quantity, value };
}

/**
 * Checks that a request fits an open conflict: the action is one of the
 * kind's, and the quantity and value are what the action needs. Returns the
 * action's spec. Throws `RuleError` CONFLICT_RESOLVED for a resolved
 * conflict and `ValidationError` for input that does not fit; nothing is
 * written in either case.
 */
export function checkResolution(conflict: Conflict, request: ResolutionRequest): ActionSpec {
  if (conflict.status === "resolved" && conflict.resolution) {
    const standing = conflict.resolution;
    throw new RuleError(
      "CONFLICT_RESOLVED",
      `Conflict ${conflict.id} is already resolved: ${standing.action} by ${standing.manager} at ${standing.at} on ${standing.replica}; see its audit`,
      "id",
    );
  }
  const spec = conflict.actions.find((candidate) => candidate.action === request.action);
  if (!spec) {
    const valid = conflict.actions.map((candidate) => candidate.action).join(", ");
    throw new ValidationError(
      "ACTION_INVALID",
      `Action ${JSON.stringify(request.action)} does not fit a ${conflict.kind} conflict; use one of ${valid}`,
      "action",
      request.action,
    );
  }
  checkQuantity(spec, request.quantity);
  checkValue(spec, request.value);
  return spec;
}

function checkQuantity(spec: ActionSpec, quantity: number | null): void {
  if (!spec.needs.includes("quantity")) {
    if (quantity !== null) {
      throw new ValidationError("QUANTITY_INVALID", `Action ${spec.action} takes no quantity; leave it out`, "quantity", quantity);
    }
    return;
  }
  if (quantity === null || !Number.isSafeInteger(quantity) || quantity < 1 || quantity > MAX_FOUND_STOCK) {
    throw new ValidationError(
      "QUANTITY_INVALID",
      `Action ${spec.action} needs quantity, a whole number of units from 1 to ${MAX_FOUND_STOCK}; got ${JSON.stringify(quantity)}`,
      "quantity",
      quantity,
    );
  }
}

function checkValue(spec: ActionSpec, value: string | null): void {
  if (!spec.needs.includes("value")) {
    if (value !== null) throw new ValidationError("VALUE_INVALID", `Action ${spec.action} takes no value; leave it out`, "value", value);
    return;
  }
  const allowed = spec.values ?? [];
  if (value === null || !allowed.includes(value)) {
    throw new ValidationError(
      "VALUE_INVALID",
      `Action ${spec.action} needs value, one of ${allowed.join(", ") || "(none offered)"}; got ${JSON.stringify(value)}`,
      "value",
      value,
    );
  }
}
