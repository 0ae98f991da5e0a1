import type { KeyObject } from "node:crypto";
import { Worker } from "node:worker_threads";
import { verifySignature } from "@mercora/crdt-model";
import type { Logger } from "pino";

/** One Ed25519 signature to check: valid when any of `keys` verifies it. */
export interface SignatureCheck {
  keys: KeyObject[];
  hash: string;
  signature: string;
}

/** Batches smaller than this are checked on the calling thread alone. */
const SPLIT_FROM = 64;

/** Maximum wait for the worker's share before the calling thread checks it itself. */
const WORKER_WAIT_MS = 10_000;

// Plain CommonJS, so it runs the same from the TypeScript sources and from the bundle.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createPublicKey, verify } = require("node:crypto");
parentPort.on("message", ({ keys, items, control, results }) => {
  const objects = keys.map((der) => createPublicKey({ key: Buffer.from(der), format: "der", type: "spki" }));
  for (let i = 0; i < items.length; i++) {
    const [indexes, hash, signature] = items[i];
    let valid = false;
    for (const index of indexes) {
      try {
        if (verify(null, Buffer.from(hash), objects[index], Buffer.from(signature, "base64"))) {
          valid = true;
          break;
        }
      } catch {}
    }
    results[i] = valid ? 1 : 2;
  }
  Atomics.store(control, 0, 1);
  Atomics.notify(control, 0);
});
`;

/**
 * Checks batches of signatures on two threads: a worker thread takes half
 * of a batch while the calling thread checks the other half, then waits
 * for the worker with `Atomics.wait`. The caller's event loop does not
 * turn meanwhile, so the check has the effect of a synchronous one,
 * in about half the time on a machine with a free core.
 */
export class SignatureChecks {
  readonly #log: Logger;
  #worker: Worker | null = null;
  readonly #der = new WeakMap<KeyObject, Uint8Array>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Starts the worker thread, so the first large batch does not wait for it. */
  start(): void {
    if (this.#worker) return;
    this.#worker = new Worker(WORKER_SOURCE, { eval: true });
    this.#worker.unref();
    this.#worker.on("error", (error) => {
      this.#log.error({ err: error }, "signature worker failed; checking signatures on the main thread");
      this.#worker = null;
    });
  }

  /** Checks every signature of `checks`, in order. */
  checkAll(checks: readonly SignatureCheck[]): boolean[] {
    const worker = this.#worker;
    if (!worker || checks.length < SPLIT_FROM) return checks.map(checkHere);
    const half = Math.floor(checks.length / 2);
    const theirs = checks.slice(0, half);
    const keys: Uint8Array[] = [];
    const keyIndex = new Map<KeyObject, number>();
    const items = theirs.map((check) => {
      const indexes = check.keys.map((key) => {
        let index = keyIndex.get(key);
        if (index === undefined) {
          index = keys.length;
          keys.push(this.#derOf(key));
          keyIndex.set(key, index);
        }
        return index;
      });
      return [indexes, check.hash, check.signature];
    });
    const control = new Int32Array(new SharedArrayBuffer(4));
    const results = new Uint8Array(new SharedArrayBuffer(half));
    worker.postMessage({ keys, items, control, results });
    const mine = checks.slice(half).map(checkHere);
    if (Atomics.wait(control, 0, 0, WORKER_WAIT_MS) === "timed-out") {
      this.#log.warn({ signatures: half }, "signature worker did not respond in time; checking its share on the main thread");
      return [...theirs.map(checkHere), ...mine];
    }
    return [...Array.from(results, (result) => result === 1), ...mine];
  }

  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = null;
    if (worker) await worker.terminate();
  }

  #derOf(key: KeyObject): Uint8Array {
    let der = this.#der.get(key);
    if (!der) {
      der = key.export({ format: "der", type: "spki" });
      this.#der.set(key, der);
    }
    return der;
  }
}

function checkHere(check: SignatureCheck): boolean {
  return check.keys.some((key) => verifySignature(key, check.hash, check.signature));
}
