import type { KeyObject } from "node:crypto";
import type { DocHandle } from "@automerge/automerge-repo";
import {
  NotFoundError,
  RuleError,
  ValidationError,
  actionId,
  auditFailureDetection,
  auditGenesisHash,
  checkResolution,
  draftActionRecords,
  lastAction,
  parseResolutionRequest,
  putAction,
  readSigningKeys,
  readUser,
  recordsAgainst,
  reviewConflicts,
  sealAction,
  unlockSigningKey,
  CONFLICT_STATUSES,
} from "@mercora/crdt-model";
import type {
  ActionSpec,
  AuditEntry,
  Conflict,
  ConflictsDoc,
  Detection,
  HybridLogicalClock,
  LedgerRecord,
  PermissionsDoc,
  RecordKind,
  ResolutionRequest,
  ReviewedConflicts,
} from "@mercora/crdt-model";
import type { Logger } from "pino";
import type { PinGuard } from "./pins.ts";

/** Numbers, seals and writes one record of the replica, signed by the writer's signer. */
export type RecordWriter = (kind: RecordKind, fields: Partial<LedgerRecord>) => Promise<LedgerRecord>;

/** A user whose PIN unlocked their signing key. */
export interface Signer {
  userId: string;
  key: KeyObject;
}

/**
 * Carries out an action that the built-in kinds do not cover, such as
 * choosing a value of a catalog edit at HQ. It throws `ValidationError` or
 * `RuleError` to reject the action with nothing written, and returns the
 * ids of what it wrote, which go into the action's `records`.
 */
export interface ActionHandler {
  carryOut(input: { branch: string; conflict: Conflict; request: ResolutionRequest; manager: { id: string; name: string } }): Promise<string[]>;
}

/** Ports of a replica that the review uses: its documents, clock, PIN checks and write queue. */
export interface ConflictReviewPorts {
  branch: string;
  /** The replica's id: its terminal id, or "relay". */
  replica: string;
  conflicts(): DocHandle<ConflictsDoc>;
  permissions(): DocHandle<PermissionsDoc>;
  pins: Pick<PinGuard, "authorize">;
  clock: HybridLogicalClock;
  /** The replica's corrected wall clock, in milliseconds. */
  now(): number;
  /** Runs `task` in the replica's write queue with a writer whose records `signer` signs. */
  runWrites<T>(signer: Signer, task: (write: RecordWriter) => Promise<T>): Promise<T>;
  findRecord(id: string): Promise<LedgerRecord | null>;
  /**
   * Brings other replicas' records up to date before a refund reads them;
   * left out where every record is at hand.
   */
  syncPeerRecords?(): Promise<void>;
  records(): Iterable<LedgerRecord>;
  store(): { currency: string; cashRoundingIncrement: number };
  flush(documentIds: string[]): Promise<void>;
  /** Handlers of kinds whose actions this replica carries out itself, by conflict kind. */
  handlers?: ReadonlyMap<string, ActionHandler>;
  log: Logger;
}

export type ConflictStatusFilter = "open" | "resolved" | "all";

/** Reads the `status` query parameter of a conflict list: open (the default), resolved or all. */
export function parseStatusFilter(value: unknown): ConflictStatusFilter {
  if (value === undefined || value === "") return "open";
  if (value === "all" || CONFLICT_STATUSES.includes(value as "open")) return value as ConflictStatusFilter;
  throw new ValidationError("STATUS_INVALID", `status ${JSON.stringify(value)} must be open, resolved or all`, "status", value);
}

/** Reads the `limit` query parameter of the audit: 1 to 1000, 100 when left out. */
export function parseAuditLimit(value: unknown): number {
  if (value === undefined || value === "") return 100;
  const limit = Number(value);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) {
    throw new ValidationError("LIMIT_INVALID", `limit ${JSON.stringify(value)} must be a whole number from 1 to 1000`, "limit", value);
  }
  return limit;
}

/**
 * A replica's view of the branch's conflicts for manager review, and the
 * way managers resolve them. The same class serves terminals and the relay
 * through `ConflictReviewPorts`. Every read verifies the audit trail. A
 * resolution checks the input, then the manager's PIN, then writes the
 * records the action needs, then appends the sealed action, so nothing is
 * written when a check fails.
 */
export class ConflictReview {
  readonly #ports: ConflictReviewPorts;
  /** Signature checks that passed, so each action's signature is checked once. */
  readonly #verified = new Map<string, string | null>();
  readonly #reportedFailures = new Set<string>();

  constructor(ports: ConflictReviewPorts) {
    this.#ports = ports;
  }

  /** Merges detections and verified actions into the branch's conflicts. */
  review(): ReviewedConflicts {
    const permissions = this.#ports.permissions().doc();
    return reviewConflicts(this.#ports.conflicts().doc(), (user) => readSigningKeys(permissions, user), this.#verified);
  }

  list(status: ConflictStatusFilter): Conflict[] {
    const conflicts = this.review().conflicts;
    return status === "all" ? conflicts : conflicts.filter((conflict) => conflict.status === status);
  }

  get(id: string): Conflict | null {
    return this.review().conflicts.find((conflict) => conflict.id === id) ?? null;
  }

  /** Lists the audit trail, newest first. */
  audit(limit: number): AuditEntry[] {
    return this.review().audit.reverse().slice(0, limit);
  }

  /** Integrity detections this replica has not written yet, one per action that failed verification. */
  auditDetections(now: string, own: ReadonlyMap<string, Detection>): Detection[] {
    const out: Detection[] = [];
    for (const failure of this.review().failures) {
      const detection = auditFailureDetection(failure, this.#ports.replica, now);
      if (own.has(detection.id)) continue;
      if (!this.#reportedFailures.has(failure.actionId)) {
        this.#reportedFailures.add(failure.actionId);
        this.#ports.log.error({ action: failure.actionId, replica: failure.replica, conflict: failure.conflictId, reason: failure.detail }, "conflict action failed verification");
      }
      out.push(detection);
    }
    return out;
  }

  #require(id: string): Conflict {
    const conflict = this.get(id);
    if (!conflict) {
      throw new NotFoundError("CONFLICT_UNKNOWN", `No conflict ${id} in branch ${this.#ports.branch}; list them with ?status=all`);
    }
    return conflict;
  }

  /**
   * Resolves a conflict with a manager's PIN. Returns the conflict as it
   * is afterwards and the action's audit entry, which is superseded when
   * another replica's earlier action is already standing.
   */
  async resolve(id: string, body: unknown): Promise<{ conflict: Conflict; entry: AuditEntry }> {
    const request = parseResolutionRequest(body);
    const spec = checkResolution(this.#require(id), request);
    const handler = this.#handlerFor(this.#require(id), spec);
    const manager = await this.#ports.pins.authorize(request.manager, request.pin, "manager", `resolution of conflict ${id}`);
    const key = await this.#unlock(manager.id, request.pin);
    if (request.action === "refund-customer") await this.#ports.syncPeerRecords?.();
    return this.#ports.runWrites({ userId: manager.id, key }, async (write) => {
      // Another action may have been recorded while the PIN was checked.
      const conflict = this.#require(id);
      checkResolution(conflict, request);
      const doc = this.#ports.conflicts().doc();
      const previous = lastAction(doc, this.#ports.replica);
      const seq = (previous?.seq ?? 0) + 1;
      const identity = actionId(this.#ports.replica, seq);
      const records = handler
        ? await handler.carryOut({ branch: this.#ports.branch, conflict, request, manager })
        : await this.#writeRecords(conflict, request, manager.id, identity, write);
      const action = sealAction(
        {
          id: identity,
          seq,
          branch: this.#ports.branch,
          conflictId: conflict.id,
          conflictKind: conflict.kind,
          action: request.action,
          reason: request.reason,
          quantity: request.quantity,
          value: request.value,
          manager: manager.id,
          managerName: manager.name,
          at: new Date(this.#ports.now()).toISOString(),
          hlc: this.#ports.clock.now(),
          replica: this.#ports.replica,
          records,
          tickets: conflict.tickets,
        },
        previous?.hash ?? auditGenesisHash(this.#ports.branch, this.#ports.replica),
        key,
      );
      const handle = this.#ports.conflicts();
      handle.change((stored) => putAction(stored, this.#ports.replica, action));
      await this.#ports.flush([handle.documentId]);
      return this.#outcome(conflict.id, action.id, manager.id, records);
    });
  }

  #outcome(conflictId: string, id: string, manager: string, records: string[]): { conflict: Conflict; entry: AuditEntry } {
    const conflict = this.#require(conflictId);
    const entry = conflict.audit.find((candidate) => candidate.id === id);
    if (!entry) throw new Error(`Action ${id} was written but does not verify; see the integrity conflicts`);
    const fields = { conflict: conflictId, action: entry.action, entry: id, manager, records, outcome: entry.outcome };
    if (entry.outcome === "standing") this.#ports.log.info(fields, "conflict resolved");
    else this.#ports.log.warn({ ...fields, standing: conflict.resolution?.id }, "conflict action recorded as superseded");
    return { conflict, entry };
  }

  #handlerFor(conflict: Conflict, spec: ActionSpec): ActionHandler | null {
    const handler = this.#ports.handlers?.get(conflict.kind) ?? null;
    if (spec.hqOnly && !handler) {
      const where = this.#ports.replica === "relay" ? "no handler for this kind is registered at the relay" : "resolve it at HQ through the relay";
      throw new RuleError("ACTION_HQ_ONLY", `Action ${spec.action} of a ${conflict.kind} conflict is carried out at HQ; ${where}`, "action");
    }
    return handler;
  }

  async #unlock(userId: string, pin: string): Promise<KeyObject> {
    const user = readUser(this.#ports.permissions().doc(), userId);
    const key = user ? await unlockSigningKey(pin, user.signing) : null;
    if (!key) throw new RuleError("SIGNING_KEY_LOCKED", `The signing key of ${userId} did not open with this PIN; ask HQ to reset the user`, "pin");
    return key;
  }

  /**
   * Writes the records an action needs. They carry the request id
   * `resolution:ACTION_ID`, so records written by an attempt that crashed
   * before its action was appended are found and reused, not written twice.
   */
  async #writeRecords(conflict: Conflict, request: ResolutionRequest, manager: string, identity: string, write: RecordWriter): Promise<string[]> {
    const requestId = `resolution:${identity}`;
    const earlier = [...this.#ports.records()].filter((r) => r.requestId === requestId && r.terminal === this.#ports.replica);
    if (earlier.length > 0) {
      this.#ports.log.warn({ action: identity, records: earlier.map((r) => r.id) }, "records of an unfinished resolution reused");
      return earlier.map((r) => r.id);
    }
    const ticket = request.action === "refund-customer" && request.value ? await this.#ports.findRecord(request.value) : null;
    const drafts = draftActionRecords(conflict, request, {
      ticket,
      related: ticket ? recordsAgainst(ticket.id, this.#ports.records()) : [],
      ...this.#ports.store(),
      requestId,
      manager,
    });
    const written: string[] = [];
    for (const draft of drafts) written.push((await write(draft.kind, draft.fields)).id);
    return written;
  }
}
