import { createHash, generateKeyPairSync } from "node:crypto";
import { expect } from "chai";
import { signBytes } from "@mercora/crdt-model";
import { pino } from "pino";
import { SignatureChecks } from "../src/signature-checks.ts";
import type { SignatureCheck } from "../src/signature-checks.ts";

describe("SignatureChecks", function () {
  const log = pino({ level: "silent" });
  const cashier = generateKeyPairSync("ed25519");
  const manager = generateKeyPairSync("ed25519");
  const stranger = generateKeyPairSync("ed25519");
  let checks: SignatureChecks;

  beforeEach(function () {
    checks = new SignatureChecks(log);
  });

  afterEach(async function () {
    await checks.close();
  });

  /** Builds `count` checks of record hashes signed by the cashier, then spoils the signatures at `bad`. */
  function batch(count: number, bad: number[]): { items: SignatureCheck[]; expected: boolean[] } {
    const items: SignatureCheck[] = [];
    for (let i = 0; i < count; i++) {
      const hash = createHash("sha256").update(`record ${i}`).digest("hex");
      // Every third record lists two keys of its signer, as a user whose key was rotated has.
      const keys = i % 3 === 0 ? [manager.publicKey, cashier.publicKey] : [cashier.publicKey];
      items.push({ keys, hash, signature: signBytes(cashier.privateKey, hash) });
    }
    for (const index of bad) items[index] = { ...items[index]!, signature: signBytes(stranger.privateKey, items[index]!.hash) };
    return { items, expected: items.map((_, index) => !bad.includes(index)) };
  }

  it("checks a large batch on two threads", function () {
    checks.start();
    // 100 and 150 fall in the worker's half, 250 and 299 in the main thread's.
    const { items, expected } = batch(300, [0, 100, 150, 250, 299]);
    expect(checks.checkAll(items)).to.deep.equal(expected);
  });

  it("checks a small batch on the calling thread", function () {
    checks.start();
    const { items, expected } = batch(10, [3]);
    expect(checks.checkAll(items)).to.deep.equal(expected);
  });

  it("checks without a started worker", function () {
    const { items, expected } = batch(200, [7, 190]);
    expect(checks.checkAll(items)).to.deep.equal(expected);
  });

  it("rejects a malformed signature", function () {
    checks.start();
    const { items, expected } = batch(100, []);
    items[20] = { ...items[20]!, signature: "not base64 of anything" };
    items[80] = { ...items[80]!, signature: "" };
    expected[20] = false;
    expected[80] = false;
    expect(checks.checkAll(items)).to.deep.equal(expected);
  });
});
