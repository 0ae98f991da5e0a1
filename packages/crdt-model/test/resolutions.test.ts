import { generateKeyPairSync } from "node:crypto";
import type { KeyObject } from "node:crypto";
import * as A from "@automerge/automerge";
import { expect } from "chai";
import {
  RuleError,
  ValidationError,
  actionId,
  auditGenesisHash,
  checkResolution,
  compareActions,
  imm,
  initConflicts,
  lastAction,
  parseResolutionRequest,
  putAction,
  putDetection,
  reviewConflicts,
  sealAction,
  verifyActionIntegrity,
} from "../src/index.ts";
import type { ConflictAction, ConflictsDoc, Detection, UnsealedAction } from "../src/index.ts";

const BRANCH = "A";
const manager = generateKeyPairSync("ed25519");
const intruder = generateKeyPairSync("ed25519");
const keysOf = (user: string): KeyObject[] => (user === "gerente" ? [manager.publicKey] : []);

function oversell(tickets = ["A-T1-00000001", "A-T2-00000001"]): Detection {
  return {
    id: "oversell:779",
    kind: "oversell",
    sku: "779",
    shortfall: 1,
    stock: -1,
    tickets,
    subject: "779",
    detail: "merged stock -1",
    firstDetectedAt: "0000000000001000.0000.relay",
    detectedAt: "0000000000001000.0000.relay",
    detectedBy: "relay",
  };
}

function unsealed(replica: string, seq: number, hlc: string, action = "accept-backorder"): UnsealedAction {
  return {
    id: actionId(replica, seq),
    seq,
    branch: BRANCH,
    conflictId: "oversell:779",
    conflictKind: "oversell",
    action,
    reason: "customer waits for the delivery",
    quantity: action === "record-found-stock" ? 1 : null,
    value: null,
    manager: "gerente",
    managerName: "Ana Gerente",
    at: "2026-03-10T15:00:00.000Z",
    hlc,
    replica,
    records: [],
    tickets: ["A-T1-00000001", "A-T2-00000001"],
  };
}

function baseDoc(): A.Doc<ConflictsDoc> {
  const doc = A.from(initConflicts(BRANCH, ["T1", "T2", "relay"]) as unknown as Record<string, unknown>) as unknown as A.Doc<ConflictsDoc>;
  return A.change(doc, (d) => putDetection(d, "relay", oversell()));
}

function append(doc: A.Doc<ConflictsDoc>, replica: string, hlc: string, action?: string, key: KeyObject = manager.privateKey) {
  const previous = lastAction(doc, replica);
  const seq = (previous?.seq ?? 0) + 1;
  const sealed = sealAction(unsealed(replica, seq, hlc, action), previous?.hash ?? auditGenesisHash(BRANCH, replica), key);
  return { doc: A.change(doc, (d) => putAction(d, replica, sealed)), sealed };
}

describe("conflict action sealing", function () {
  it("verifies a sealed action", function () {
    const sealed = sealAction(unsealed("T1", 1, "0000000000002000.0000.T1"), auditGenesisHash(BRANCH, "T1"), manager.privateKey);
    expect(verifyActionIntegrity(sealed, auditGenesisHash(BRANCH, "T1"), [manager.publicKey])).to.equal(null);
  });

  it("detects an edited action", function () {
    const sealed = sealAction(unsealed("T1", 1, "0000000000002000.0000.T1"), auditGenesisHash(BRANCH, "T1"), manager.privateKey);
    const edited: ConflictAction = { ...sealed, action: "record-found-stock", quantity: 5 };
    expect(verifyActionIntegrity(edited, auditGenesisHash(BRANCH, "T1"), [manager.publicKey])).to.match(/changed after it was recorded/);
  });

  it("detects a forged signature", function () {
    const forged = sealAction(unsealed("T1", 1, "0000000000002000.0000.T1"), auditGenesisHash(BRANCH, "T1"), intruder.privateKey);
    expect(verifyActionIntegrity(forged, auditGenesisHash(BRANCH, "T1"), [manager.publicKey])).to.match(/signature does not verify/);
  });

  it("detects a broken chain", function () {
    const sealed = sealAction(unsealed("T1", 2, "0000000000002000.0000.T1"), "f".repeat(64), manager.privateKey);
    expect(verifyActionIntegrity(sealed, auditGenesisHash(BRANCH, "T1"), [manager.publicKey])).to.match(/chain broken/);
  });

  it("keeps chains of branches apart", function () {
    expect(auditGenesisHash("A", "T1")).to.not.equal(auditGenesisHash("B", "T1"));
    expect(auditGenesisHash("A", "T1")).to.not.equal(auditGenesisHash("A", "T2"));
  });
});

describe("conflict review", function () {
  it("resolves with one verified action", function () {
    const { doc } = append(baseDoc(), "T1", "0000000000002000.0000.T1");
    const review = reviewConflicts(doc, keysOf);
    expect(review.failures).to.deep.equal([]);
    expect(review.conflicts[0]!.status).to.equal("resolved");
    expect(review.conflicts[0]!.resolution!.id).to.equal("T1:000001");
    expect(review.conflicts[0]!.resolution!.outcome).to.equal("standing");
  });

  it("lets the earliest action stand after a merge", function () {
    const base = baseDoc();
    const atT1 = append(A.clone(base), "T1", "0000000000003000.0000.T1", "record-found-stock").doc;
    const atT2 = append(A.clone(base), "T2", "0000000000002000.0000.T2", "accept-backorder").doc;
    for (const merged of [A.merge(A.clone(atT1), atT2), A.merge(A.clone(atT2), atT1)]) {
      const conflict = reviewConflicts(merged, keysOf).conflicts[0]!;
      expect(conflict.resolution!.id).to.equal("T2:000001");
      expect(conflict.resolution!.action).to.equal("accept-backorder");
      expect(conflict.audit.map((e) => [e.id, e.outcome])).to.deep.equal([
        ["T2:000001", "standing"],
        ["T1:000001", "superseded"],
      ]);
    }
  });

  it("breaks an HLC tie by replica", function () {
    const first = { ...unsealed("T2", 1, "0000000000002000.0000.X"), prevHash: "", hash: "", signature: "" };
    const second = { ...unsealed("T1", 1, "0000000000002000.0000.X"), prevHash: "", hash: "", signature: "" };
    expect([first, second].sort(compareActions).map((a) => a.replica)).to.deep.equal(["T1", "T2"]);
  });

  it("ignores a forged action and reports it", function () {
    const { doc } = append(baseDoc(), "T1", "0000000000002000.0000.T1", "accept-backorder", intruder.privateKey);
    const review = reviewConflicts(doc, keysOf);
    expect(review.conflicts[0]!.status).to.equal("open");
    expect(review.failures).to.have.length(1);
    expect(review.failures[0]!.actionId).to.equal("T1:000001");
    expect(review.failures[0]!.detail).to.match(/signature/);
  });

  it("reports an action edited in storage", function () {
    const { doc } = append(baseDoc(), "T1", "0000000000002000.0000.T1");
    const edited = A.change(doc, (d) => {
      d.resolutions!.T1!["T1:000001"]!.reason = imm("nothing happened");
    });
    const review = reviewConflicts(edited, keysOf);
    expect(review.conflicts[0]!.status).to.equal("open");
    expect(review.failures.map((f) => f.detail)).to.satisfy((details: string[]) => details.some((d) => d.includes("changed after")));
  });

  it("reports an action that does not fit", function () {
    const { doc } = append(baseDoc(), "T1", "0000000000002000.0000.T1", "acknowledge");
    const review = reviewConflicts(doc, keysOf);
    expect(review.conflicts[0]!.status).to.equal("open");
    expect(review.failures[0]!.detail).to.match(/does not fit/);
  });

  it("reports a deleted action by its successor", function () {
    let doc = append(baseDoc(), "T1", "0000000000002000.0000.T1").doc;
    doc = append(doc, "T1", "0000000000003000.0000.T1").doc;
    const removed = A.change(doc, (d) => {
      delete d.resolutions!.T1!["T1:000001"];
    });
    const review = reviewConflicts(removed, keysOf);
    expect(review.failures.map((f) => f.actionId)).to.deep.equal(["T1:000002"]);
    expect(review.failures[0]!.detail).to.match(/action 1 of T1 is missing/);
  });
});

describe("resolution requests", function () {
  const open = () => reviewConflicts(baseDoc(), keysOf).conflicts[0]!;
  const request = (fields: Record<string, unknown>) =>
    parseResolutionRequest({ manager: "gerente", pin: "2468", reason: "found two on the shelf", ...fields });

  it("lists the actions of an oversell", function () {
    expect(open().actions.map((a) => a.action)).to.deep.equal(["accept-backorder", "record-found-stock", "refund-customer"]);
    expect(open().actions[2]!.values).to.deep.equal(["A-T1-00000001", "A-T2-00000001"]);
  });

  it("rejects an action of another kind", function () {
    expect(() => checkResolution(open(), request({ action: "accept-loss" })))
      .to.throw(ValidationError, /use one of accept-backorder, record-found-stock, refund-customer/)
      .with.property("code", "ACTION_INVALID");
  });

  it("rejects a missing reason", function () {
    expect(() => parseResolutionRequest({ manager: "gerente", pin: "2468", action: "accept-backorder", reason: "  " }))
      .to.throw(ValidationError)
      .with.property("code", "REASON_MISSING");
  });

  it("rejects a bad quantity", function () {
    for (const quantity of [null, 0, -1, 1.5]) {
      expect(() => checkResolution(open(), request({ action: "record-found-stock", quantity })), String(quantity))
        .to.throw(ValidationError)
        .with.property("code", "QUANTITY_INVALID");
    }
  });

  it("rejects a ticket outside the conflict", function () {
    expect(() => checkResolution(open(), request({ action: "refund-customer", value: "A-T3-00000009" })))
      .to.throw(ValidationError)
      .with.property("code", "VALUE_INVALID");
  });

  it("rejects a resolved conflict", function () {
    const resolved = reviewConflicts(append(baseDoc(), "T1", "0000000000002000.0000.T1").doc, keysOf).conflicts[0]!;
    expect(() => checkResolution(resolved, request({ action: "accept-backorder" })))
      .to.throw(RuleError)
      .with.property("code", "CONFLICT_RESOLVED");
  });
});
