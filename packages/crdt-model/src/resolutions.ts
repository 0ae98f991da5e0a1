import { createHash } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { canonicalJson } from "./integrity.ts";
import { signBytes, verifySignature } from "./keystore.ts";
import type { ConflictsDoc, ResolutionDoc } from "./schema.ts";
import { imm, optStr, str } from "./strings.ts";

/**
 * A manager's action on a conflict as stored: the audit trail's unit. It
 * is sealed like a ledger record. The hash covers every field but the hash
 * and the signature, `prevHash` chains it to the previous action of the
 * same replica, and the signature is made with the manager's key, which
 * only that manager's PIN unlocks.
 */
export interface ConflictAction {
  /** `REPLICA:SEQUENCE`, see `actionId`. */
  id: string;
  seq: number;
  branch: string;
  conflictId: string;
  conflictKind: string;
  action: string;
  reason: string;
  quantity: number | null;
  value: string | null;
  manager: string;
  managerName: string;
  at: string;
  hlc: string;
  replica: string;
  records: string[];
  tickets: string[];
  prevHash: string;
  hash: string;
  signature: string;
}

export type UnsealedAction = Omit<ConflictAction, "prevHash" | "hash" | "signature">;

/** Makes the id of a replica's action: the replica and the action's place in its chain. */
export function actionId(replica: string, seq: number): string {
  return `${replica}:${String(seq).padStart(6, "0")}`;
}

/** The previous hash of a replica's first action: SHA-256 of the branch and replica. */
export function auditGenesisHash(branch: string, replica: string): string {
  return createHash("sha256").update(`mercora-audit:${branch}:${replica}`).digest("hex");
}

/** SHA-256 (hex) over the canonical encoding of an action without its hash and signature. */
export function actionHash(action: Omit<ConflictAction, "hash" | "signature"> & Partial<ConflictAction>): string {
  const { hash: _hash, signature: _signature, ...content } = action;
  // The prefix keeps an action's hash apart from any ledger record's.
  return createHash("sha256").update(`mercora-audit\n${canonicalJson(content)}`).digest("hex");
}

/** Completes an action with its chain link, hash and the manager's signature. */
export function sealAction(action: UnsealedAction, prevHash: string, signer: KeyObject): ConflictAction {
  const linked = { ...action, prevHash };
  const hash = actionHash(linked);
  return { ...linked, hash, signature: signBytes(signer, hash) };
}

/**
 * Checks one action: its hash matches its content, it links to
 * `expectedPrevHash`, and its signature was made by one of `signerKeys`
 * (the keys of the user named in `manager`). Returns what failed, or null.
 */
export function verifyActionIntegrity(action: ConflictAction, expectedPrevHash: string, signerKeys: KeyObject[]): string | null {
  const actual = actionHash(action);
  if (actual !== action.hash) {
    return `hash ${action.hash.slice(0, 12)}… does not match the content (${actual.slice(0, 12)}…): the action was changed after it was recorded`;
  }
  if (action.prevHash !== expectedPrevHash) {
    return `chain broken: previous hash ${action.prevHash.slice(0, 12)}… is not the hash of action ${action.seq - 1} of ${action.replica} (${expectedPrevHash.slice(0, 12)}…)`;
  }
  if (signerKeys.length === 0) return `signer ${action.manager} is not a user of the branch`;
  if (!signerKeys.some((key) => verifySignature(key, action.hash, action.signature))) {
    return `signature does not verify with any key of ${action.manager}`;
  }
  return null;
}

/**
 * Creates the resolution maps a conflicts document lacks inside a
 * `change()` callback of the relay, which is the only writer that creates
 * them. Returns the replicas it added.
 */
export function addResolutionMaps(doc: ConflictsDoc, replicas: string[]): string[] {
  if (!doc.resolutions) doc.resolutions = {};
  const added: string[] = [];
  for (const replica of replicas) {
    if (doc.resolutions[replica]) continue;
    doc.resolutions[replica] = {};
    added.push(replica);
  }
  return added;
}

/** Lists the replicas that have a resolution map. */
export function resolutionReplicas(doc: ConflictsDoc): string[] {
  return Object.keys(doc.resolutions ?? {}).sort();
}

/**
 * Appends a replica's action inside a `change()` callback. Each replica
 * writes only its own map, and an action is never replaced.
 */
export function putAction(doc: ConflictsDoc, replica: string, action: ConflictAction): void {
  const own = doc.resolutions?.[replica];
  if (!own) {
    throw new Error(
      `Conflicts of branch ${str(doc.branch)} have no resolution map for replica ${replica}; ` +
        "the relay creates one per replica, so connect to the relay once and try again",
    );
  }
  if (own[action.id]) throw new Error(`Action ${action.id} is already recorded; actions are never edited`);
  own[action.id] = toActionDoc(action);
}

function toActionDoc(action: ConflictAction): ResolutionDoc {
  return {
    id: imm(action.id),
    seq: action.seq,
    branch: imm(action.branch),
    conflictId: imm(action.conflictId),
    conflictKind: imm(action.conflictKind),
    action: imm(action.action),
    reason: imm(action.reason),
    quantity: action.quantity,
    value: action.value === null ? null : imm(action.value),
    manager: imm(action.manager),
    managerName: imm(action.managerName),
    at: imm(action.at),
    hlc: imm(action.hlc),
    replica: imm(action.replica),
    records: action.records.map(imm),
    tickets: action.tickets.map(imm),
    prevHash: imm(action.prevHash),
    hash: imm(action.hash),
    signature: imm(action.signature),
  };
}

function readAction(stored: ResolutionDoc): ConflictAction {
  return {
    id: str(stored.id),
    seq: stored.seq,
    branch: str(stored.branch),
    conflictId: str(stored.conflictId),
    conflictKind: str(stored.conflictKind),
    action: str(stored.action),
    reason: str(stored.reason),
    quantity: stored.quantity ?? null,
    value: optStr(stored.value),
    manager: str(stored.manager),
    managerName: str(stored.managerName),
    at: str(stored.at),
    hlc: str(stored.hlc),
    replica: str(stored.replica),
    records: (stored.records ?? []).map(str),
    tickets: (stored.tickets ?? []).map(str),
    prevHash: str(stored.prevHash),
    hash: str(stored.hash),
    signature: str(stored.signature),
  };
}

/** Reads one replica's actions in chain order, with the id each is stored under. */
export function readActions(doc: ConflictsDoc, replica: string): { key: string; action: ConflictAction }[] {
  return Object.entries(doc.resolutions?.[replica] ?? {})
    .map(([key, stored]) => ({ key, action: readAction(stored) }))
    .sort((a, b) => a.action.seq - b.action.seq);
}

/** The last action of a replica's chain, or null before its first. */
export function lastAction(doc: ConflictsDoc, replica: string): ConflictAction | null {
  return readActions(doc, replica).at(-1)?.action ?? null;
}

/** An action that failed verification; it counts for nothing and raises an integrity conflict. */
export interface AuditFailure {
  actionId: string;
  replica: string;
  conflictId: string;
  detail: string;
}

/**
 * Verifies every action of the branch: it is stored under its own id in
 * the map of the replica it names, belongs to this branch, links to the
 * previous action of that replica (the first to the genesis hash), and
 * its hash and signature hold. `cache` keeps signature checks across
 * calls, keyed by hash, signature and link.
 */
export function verifyAudit(
  doc: ConflictsDoc,
  signerKeysOf: (userId: string) => KeyObject[],
  cache: Map<string, string | null> = new Map(),
): { valid: ConflictAction[]; failures: AuditFailure[] } {
  const branch = str(doc.branch);
  const valid: ConflictAction[] = [];
  const failures: AuditFailure[] = [];
  for (const replica of resolutionReplicas(doc)) {
    const chain = readActions(doc, replica);
    const bySeq = new Map(chain.map(({ action }) => [action.seq, action]));
    for (const { key, action } of chain) {
      const detail = placementProblem(key, action, replica, branch) ?? checkLink(action, bySeq, branch, replica, signerKeysOf, cache);
      if (detail) failures.push({ actionId: key, replica, conflictId: action.conflictId, detail });
      else valid.push(action);
    }
  }
  return { valid, failures };
}

function placementProblem(key: string, action: ConflictAction, replica: string, branch: string): string | null {
  if (action.replica !== replica) return `action ${key} names replica ${action.replica} but is stored in the map of ${replica}`;
  if (key !== action.id || action.id !== actionId(replica, action.seq)) {
    return `action stored as ${key} has id ${action.id} and sequence ${action.seq}; the id must be ${actionId(replica, action.seq)}`;
  }
  if (action.branch !== branch) return `action ${key} belongs to branch ${action.branch}, not ${branch}`;
  return null;
}

function checkLink(
  action: ConflictAction,
  bySeq: Map<number, ConflictAction>,
  branch: string,
  replica: string,
  signerKeysOf: (userId: string) => KeyObject[],
  cache: Map<string, string | null>,
): string | null {
  const previous = action.seq === 1 ? null : bySeq.get(action.seq - 1);
  if (action.seq > 1 && !previous) return `action ${action.seq - 1} of ${replica} is missing, so action ${action.id} cannot be chained`;
  const expected = previous ? previous.hash : auditGenesisHash(branch, replica);
  const key = `${action.hash}|${action.signature}|${expected}`;
  // The content hash is always recomputed; only a passing signature check is remembered.
  if (cache.get(key) === null && actionHash(action) === action.hash) return null;
  const failure = verifyActionIntegrity(action, expected, signerKeysOf(action.manager));
  if (failure === null) cache.set(key, null);
  return failure;
}
