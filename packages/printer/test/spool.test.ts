import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import type { LedgerRecord } from "@mercora/crdt-model";
import { PrintSpool } from "@mercora/printer";
import type { PrintSpoolOptions, SpoolJob, SpoolLogger } from "@mercora/printer";
import { TestPrinter } from "../../../scripts/lib/test-printer.ts";
import { saleRecord } from "./helpers/records.ts";

/** Creates a logger that keeps messages for the assertions instead of printing them. */
function memoryLog(): SpoolLogger & { messages: string[] } {
  const messages: string[] = [];
  const keep = (_details: object, message: string) => void messages.push(message);
  return { messages, info: keep, warn: keep, error: keep };
}

/** Renders a job as its record id followed by a newline, so received bytes name the jobs. */
function renderId(job: SpoolJob): Uint8Array {
  return new TextEncoder().encode(`${job.record.id}\n`);
}

function record(seq: number): LedgerRecord {
  return saleRecord({ id: `suc01-caja01-${String(seq).padStart(8, "0")}`, seq });
}

async function waitUntil(description: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function jobFiles(folder: string): Promise<string[]> {
  return (await readdir(folder)).filter((name) => name.endsWith(".json"));
}

describe("PrintSpool", () => {
  let printer: TestPrinter;
  let folder = "";
  const spools: PrintSpool[] = [];

  function createSpool(overrides: Partial<PrintSpoolOptions> = {}): PrintSpool {
    const spool = new PrintSpool({
      folder,
      target: { kind: "tcp", host: "127.0.0.1", port: printer.port },
      render: renderId,
      log: memoryLog(),
      retryInitialMs: 50,
      retryMaxMs: 200,
      sendTimeoutMs: 2000,
      ...overrides,
    });
    spools.push(spool);
    return spool;
  }

  const printedIds = () => printer.completedJobs().map((bytes) => bytes.toString("utf8").trim());

  beforeEach(async () => {
    printer = new TestPrinter();
    await printer.start();
    folder = await mkdtemp(join(tmpdir(), "mercora-spool-"));
  });

  afterEach(async () => {
    for (const spool of spools.splice(0)) await spool.stop();
    await printer.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("prints jobs in queue order", async () => {
    const spool = createSpool();
    await spool.start();
    for (const seq of [1, 2, 3]) spool.enqueue(record(seq));
    await waitUntil("three jobs", () => spool.status().printed === 3);
    expect(printedIds()).to.deep.equal(["suc01-caja01-00000001", "suc01-caja01-00000002", "suc01-caja01-00000003"]);
    expect(spool.status()).to.include({ state: "ok", queued: 0, failed: 0, lastError: null });
    expect(await jobFiles(folder), "job files left").to.deep.equal([]);
  });

  it("keeps jobs while the printer is down", async () => {
    const spool = createSpool();
    await spool.start();
    await printer.stop();
    spool.enqueue(record(1));
    spool.enqueue(record(2));
    await waitUntil("the fault", () => spool.status().state === "fault");
    const status = spool.status();
    expect(status.queued).to.equal(2);
    expect(status.lastError).to.match(/refused/);
    expect(status.nextRetryAt, "next retry time").to.be.a("string");
    expect(await jobFiles(folder)).to.have.length(2);

    await printer.start();
    await waitUntil("both jobs after the printer returns", () => spool.status().printed === 2);
    expect(printedIds()).to.deep.equal(["suc01-caja01-00000001", "suc01-caja01-00000002"]);
    expect(spool.status()).to.include({ state: "ok", queued: 0, nextRetryAt: null });
    expect(spool.status().lastError, "last error stays for the record").to.match(/refused/);
  });

  it("prints jobs left by a previous run", async () => {
    await printer.stop();
    const first = createSpool();
    await first.start();
    first.enqueue(record(7));
    await waitUntil("the fault", () => first.status().state === "fault");
    await first.stop();

    await printer.start();
    const second = createSpool();
    await second.start();
    await waitUntil("the job from the first run", () => second.status().printed === 1);
    expect(printedIds()).to.deep.equal(["suc01-caja01-00000007"]);
  });

  it("moves unrenderable jobs to failed", async () => {
    const spool = createSpool({
      render: (job) => {
        if (job.record.seq === 1) throw new RangeError("time zone invalid");
        return renderId(job);
      },
    });
    await spool.start();
    spool.enqueue(record(1));
    spool.enqueue(record(2));
    await waitUntil("the second job", () => spool.status().printed === 1);
    expect(printedIds()).to.deep.equal(["suc01-caja01-00000002"]);
    expect(spool.status().failed).to.equal(1);
    expect(spool.status().lastError).to.match(/time zone invalid/);
    await waitUntil("the failed file", () => spool.status().queued === 0);
    expect(await jobFiles(join(folder, "failed"))).to.have.length(1);
  });

  it("gives up after the maximum attempts", async () => {
    await printer.stop();
    const spool = createSpool({ maxAttempts: 3, retryInitialMs: 10, retryMaxMs: 10 });
    await spool.start();
    spool.enqueue(record(1));
    await waitUntil("the job to be given up", () => spool.status().failed === 1);
    expect(spool.status().queued).to.equal(0);
    expect(await jobFiles(join(folder, "failed"))).to.have.length(1);
  });

  it("drops jobs beyond the maximum queue", async () => {
    await printer.stop();
    const spool = createSpool({ maxQueued: 2 });
    await spool.start();
    for (const seq of [1, 2, 3]) spool.enqueue(record(seq));
    expect(spool.status().queued).to.equal(2);
    expect(spool.status().failed).to.equal(1);
    expect(spool.status().lastError).to.match(/spool full.*00000003/);
  });
});
