import type { KeyObject } from "node:crypto";
import { actionsFor } from "./conflict-actions.ts";
import { listConflicts } from "./conflicts.ts";
import { compareHlc } from "./hlc.ts";
import type { AuditFailure, ConflictAction } from "./resolutions.ts";
import { verifyAudit } from "./resolutions.ts";
import type { ConflictsDoc } from "./schema.ts";
import type { AuditEntry, Conflict, Detection } from "./types.ts";

/**
 * Compares actions by the merge rule of conflict resolutions: hybrid
 * logical clock order, ties by replica id, then by action id. Every
 * replica and the relay sort the same verified actions the same way, so
 * they agree on the standing action without talking to each other.
 */
export function compareActions(a: ConflictAction, b: ConflictAction): number {
  const byHlc = compareHlc(a.hlc, b.hlc);
  if (byHlc !== 0) return byHlc;
  if (a.replica !== b.replica) return a.replica < b.replica ? -1 : 1;
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}

function toEntry(action: ConflictAction, outcome: AuditEntry["outcome"]): AuditEntry & { hash: string } {
  return {
    id: action.id,
    conflictId: action.conflictId,
    conflictKind: action.conflictKind,
    action: action.action,
    reason: action.reason,
    quantity: action.quantity,
    value: action.value,
    manager: action.manager,
    managerName: action.managerName,
    at: action.at,
    hlc: action.hlc,
    replica: action.replica,
    outcome,
    records: [...action.records],
    tickets: [...action.tickets],
    hash: action.hash,
  };
}

/** Checks that a verified action fits the conflict it names. Returns what is wrong, or null. */
function fitProblem(action: ConflictAction, conflict: Conflict | undefined): string | null {
  if (!conflict) return `action ${action.id} names conflict ${action.conflictId}, which no replica detected`;
  if (action.conflictKind !== conflict.kind) {
    return `action ${action.id} was taken for a ${action.conflictKind} conflict, but ${conflict.id} is ${conflict.kind}`;
  }
  if (!actionsFor(conflict).some((spec) => spec.action === action.action)) {
    return `action ${action.id} (${action.action}) does not fit a ${conflict.kind} conflict`;
  }
  return null;
}

/** Every conflict of a branch with its resolution, the whole audit trail, and the actions that failed verification. */
export interface ReviewedConflicts {
  conflicts: Conflict[];
  /** Every verified action, oldest first by the merge rule. */
  audit: AuditEntry[];
  failures: AuditFailure[];
}

/**
 * Merges a branch's detections into conflicts and applies the verified
 * actions. On each conflict the first action by `compareActions` is
 * standing and resolves it, and the others stay in its audit as superseded. Actions
 * that fail verification or do not fit their conflict count for nothing
 * and come back in `failures`.
 */
export function reviewConflicts(
  doc: ConflictsDoc,
  signerKeysOf: (userId: string) => KeyObject[],
  cache?: Map<string, string | null>,
): ReviewedConflicts {
  const conflicts = listConflicts(doc);
  const byId = new Map(conflicts.map((conflict) => [conflict.id, conflict]));
  const { valid, failures } = verifyAudit(doc, signerKeysOf, cache);
  const actionsByConflict = new Map<string, ConflictAction[]>();
  for (const action of valid) {
    const problem = fitProblem(action, byId.get(action.conflictId));
    if (problem) {
      failures.push({ actionId: action.id, replica: action.replica, conflictId: action.conflictId, detail: problem });
      continue;
    }
    actionsByConflict.set(action.conflictId, [...(actionsByConflict.get(action.conflictId) ?? []), action]);
  }
  const audit: AuditEntry[] = [];
  for (const [conflictId, actions] of actionsByConflict) {
    const sorted = actions.sort(compareActions);
    const entries = sorted.map((action, index) => toEntry(action, index === 0 ? "standing" : "superseded"));
    const conflict = byId.get(conflictId)!;
    conflict.status = "resolved";
    conflict.resolution = entries[0]!;
    conflict.audit = entries;
    audit.push(...entries);
  }
  audit.sort((a, b) => compareHlc(a.hlc, b.hlc) || (a.id < b.id ? -1 : 1));
  return { conflicts, audit, failures };
}

/** Builds the integrity detection a replica writes for an action that failed verification. */
export function auditFailureDetection(failure: AuditFailure, replica: string, now: string): Detection {
  return {
    id: `integrity:audit:${failure.actionId}`,
    kind: "integrity",
    sku: "",
    shortfall: 0,
    stock: 0,
    tickets: [],
    subject: `audit ${failure.actionId} on ${failure.conflictId}`,
    detail: `conflict action failed verification: ${failure.detail}`,
    firstDetectedAt: now,
    detectedAt: now,
    detectedBy: replica,
  };
}
