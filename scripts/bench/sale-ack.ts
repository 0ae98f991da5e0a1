/**
 * Worker for the durable sale acknowledgement figure. Modes:
 * - `generate`: builds a one-terminal branch, activated, and writes
 *   `history` tickets through `Terminal.recordSale` with the cashier
 *   signed in, 300 a business day on past days.
 * - `mercora`: opens that terminal in this fresh process, signs the
 *   cashier in and times `Terminal.recordSale` (what `POST /sales` awaits
 *   before its 201).
 * - `pouch-generate` / `pouch`: the same tickets as PouchDB documents on
 *   LevelDB with every write fsynced, then each sale timed from building
 *   its record (priced, hashed, chained and signed, as `recordSale` does)
 *   to the end of its `db.put`, with the `db.put` alone also reported.
 * - `fsync`: appends the same record JSON to a file with fdatasync, the disk's limit.
 * - `counter`: times `A.change` incrementing one counter of a map of N counters,
 *   the step that grows with the catalog in every sale's inventory change.
 */
import * as A from "@automerge/automerge";
import { closeSync, fdatasyncSync, openSync, writeSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { lowerHelperThreadPriority } from "@mercora/terminal";
import { buildBranch, catalogProducts, fileLogger, installFakeClock, nextTurn, requireTerminalNodeFlags, startTerminal, ticket } from "./lib/fixture.ts";
import { openDurablePouch } from "./lib/pouch.ts";
import { saleRecord } from "./lib/records.ts";
import { nowMs, ownPeakRss, percentile } from "./lib/stats.ts";
import { workerMain } from "./lib/worker.ts";

const DAY_MS = 86_400_000;
export const TICKETS_PER_DAY = 300;

interface Input {
  mode: "generate" | "mercora" | "pouch-generate" | "pouch" | "fsync" | "counter";
  dir: string;
  history?: number;
  warmup?: number;
  count?: number;
  /** Idle time after each timed write, in ms; 0 times the writes back to back. */
  gapMs?: number;
}

export interface AckResult {
  p50: number;
  p99: number;
  max: number;
  samples: number;
  peakRss: number;
  recordBytes?: number;
  /** Percentiles of PouchDB's `db.put` alone, without building the record (PouchDB side only). */
  putP50?: number;
  putP99?: number;
}

function summarize(samples: number[], extra: Partial<AckResult> = {}): AckResult {
  return {
    p50: percentile(samples, 0.5),
    p99: percentile(samples, 0.99),
    max: Math.max(...samples),
    samples: samples.length,
    peakRss: ownPeakRss(),
    ...extra,
  };
}

/** Waits the idle time between two timed writes, if any. */
async function pause(input: Input): Promise<void> {
  if (input.gapMs) await new Promise((resolve) => setTimeout(resolve, input.gapMs));
}

/** Start of the fake clock: `history` tickets at 300 a day end yesterday. */
function historyStart(history: number): number {
  const days = Math.ceil(history / TICKETS_PER_DAY);
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  return today - (days + 1) * DAY_MS + 12 * 3_600_000;
}

async function generate(input: Input): Promise<{ generated: number; ms: number }> {
  const started = nowMs();
  await buildBranch(input.dir, ["T1"]);
  const history = input.history ?? 0;
  if (history === 0) return { generated: 0, ms: nowMs() - started };
  const clock = installFakeClock(historyStart(history));
  const start = clock.now();
  const products = catalogProducts();
  const terminal = await startTerminal({ dataDir: join(input.dir, "T1"), terminal: "T1", relayUrl: null, log: fileLogger(join(input.dir, "generate.log")), receipts: "none" });
  for (let n = 0; n < history; n++) {
    // 300 tickets spread over 10 opening hours of each business day.
    const day = Math.floor(n / TICKETS_PER_DAY);
    clock.set(start + day * DAY_MS + (n % TICKETS_PER_DAY) * 120_000);
    await terminal.recordSale(ticket(products, n));
    await nextTurn();
  }
  await terminal.stop();
  return { generated: history, ms: nowMs() - started };
}

async function measureMercora(input: Input): Promise<AckResult> {
  requireTerminalNodeFlags();
  const products = catalogProducts();
  const terminal = await startTerminal({ dataDir: join(input.dir, "T1"), terminal: "T1", relayUrl: null, log: fileLogger(join(input.dir, "measure.log")) });
  // As `mercora terminal` does after start, so sales run here as they do in the terminal process.
  const priority = lowerHelperThreadPriority();
  if (priority.failed.length > 0) {
    throw new Error(
      `Lowering the priority of threads ${priority.failed.join(", ")} failed, so sales here would not run as in the terminal process; ` +
        "run the bench where a process may lower its own threads' priority (setpriority)",
    );
  }
  const warmup = input.warmup ?? 50;
  const count = input.count ?? 1000;
  const samples: number[] = [];
  for (let n = 0; n < warmup + count; n++) {
    const body = ticket(products, 1_000_000 + n);
    const t0 = nowMs();
    await terminal.recordSale(body);
    const elapsed = nowMs() - t0;
    if (n >= warmup) samples.push(elapsed);
    await pause(input);
  }
  await terminal.stop();
  return summarize(samples);
}

async function generatePouch(input: Input): Promise<{ generated: number; ms: number }> {
  const started = nowMs();
  await mkdir(input.dir, { recursive: true });
  const history = input.history ?? 0;
  const db = openDurablePouch(join(input.dir, "pouch-T1"));
  const products = catalogProducts();
  const start = historyStart(history);
  for (let n = 0; n < history; n += 500) {
    const docs = [];
    for (let i = n; i < Math.min(history, n + 500); i++) {
      const at = new Date(start + Math.floor(i / TICKETS_PER_DAY) * DAY_MS + (i % TICKETS_PER_DAY) * 120_000);
      docs.push(saleRecord(products, "T1", i + 1, at));
    }
    await db.bulkDocs(docs);
  }
  await db.info();
  await db.close();
  return { generated: history, ms: nowMs() - started };
}

async function measurePouch(input: Input): Promise<AckResult> {
  await mkdir(input.dir, { recursive: true });
  const db = openDurablePouch(join(input.dir, "pouch-T1"));
  const products = catalogProducts();
  const base = (await db.info()).doc_count;
  const warmup = input.warmup ?? 50;
  const count = input.count ?? 1000;
  const samples: number[] = [];
  const putSamples: number[] = [];
  let bytes = 0;
  for (let n = 0; n < warmup + count; n++) {
    // The clock starts before the record is built, as Mercora's starts before `recordSale` prices, hashes and signs it.
    const t0 = nowMs();
    const doc = saleRecord(products, "T1", base + n + 1, new Date());
    const built = nowMs();
    await db.put(doc);
    const done = nowMs();
    if (n >= warmup) {
      samples.push(done - t0);
      putSamples.push(done - built);
    }
    bytes = JSON.stringify(doc).length;
    await pause(input);
  }
  await db.close();
  return summarize(samples, { recordBytes: bytes, putP50: percentile(putSamples, 0.5), putP99: percentile(putSamples, 0.99) });
}

async function measureFsync(input: Input): Promise<AckResult> {
  await mkdir(input.dir, { recursive: true });
  const products = catalogProducts();
  const fd = openSync(join(input.dir, "fsync-limit.jsonl"), "a");
  const warmup = input.warmup ?? 50;
  const count = input.count ?? 1000;
  const samples: number[] = [];
  let bytes = 0;
  for (let n = 0; n < warmup + count; n++) {
    const line = Buffer.from(JSON.stringify(saleRecord(products, "T1", n + 1, new Date())) + "\n");
    const t0 = nowMs();
    writeSync(fd, line);
    fdatasyncSync(fd);
    const elapsed = nowMs() - t0;
    if (n >= warmup) samples.push(elapsed);
    bytes = line.length;
    await pause(input);
  }
  closeSync(fd);
  return summarize(samples, { recordBytes: bytes });
}

/** Milliseconds per `A.change` that increments one counter, for maps of 100, 2,000 and 12,513 counters (after one warm-up map). */
function measureCounterMaps(): { counters: number; msPerChange: number }[] {
  const out: { counters: number; msPerChange: number }[] = [];
  for (const [index, size] of [2000, 100, 2000, 12_513].entries()) {
    const stock: Record<string, A.Counter> = {};
    for (let i = 0; i < size; i++) stock[`sku${i}`] = new A.Counter(1000);
    let doc = A.from<{ stock: Record<string, A.Counter>; applied: Record<string, number> }>({ stock, applied: { T1: 0 } });
    const changes = 200;
    const t0 = nowMs();
    for (let n = 0; n < changes; n++) {
      doc = A.change(doc, (d) => {
        d.stock[`sku${n % size}`]!.increment(-1);
        d.applied.T1 = n;
      });
    }
    if (index > 0) out.push({ counters: size, msPerChange: (nowMs() - t0) / changes });
  }
  return out;
}

workerMain<Input, unknown>(async (input) => {
  switch (input.mode) {
    case "generate":
      return generate(input);
    case "mercora":
      return measureMercora(input);
    case "pouch-generate":
      return generatePouch(input);
    case "pouch":
      return measurePouch(input);
    case "fsync":
      return measureFsync(input);
    case "counter":
      return measureCounterMaps();
  }
});
