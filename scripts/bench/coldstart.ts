/**
 * Worker for the cold-start figure. Modes:
 * - `generate`: a four-terminal branch with `days` business days of
 *   history, 300 tickets a day per terminal, written into terminal T1's
 *   storage: T1's own daily ledgers, the other terminals' ledgers of the
 *   last two days (the ones a terminal opens at start), every ledger listed
 *   in the branch directory, and every ticket's stock movement folded into
 *   the stock baseline, as the relay publishes it.
 * - `mercora`: times a `mercora terminal` process on that data from spawn
 *   to the 201 of its first `POST /sales`.
 * - `pouch-generate` / `pouch`: the same history as documents in one
 *   pouchdb-node database, timed from spawn to the first durable `db.put`.
 * - `baseline`: times `mercora terminal --help`, the cost of starting Node.js with tsx.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Repo } from "@automerge/automerge-repo";
import type { DocumentId, PeerId } from "@automerge/automerge-repo";
import {
  DurableFileStorageAdapter,
  StockFold,
  appendRecord,
  findDocument,
  initLedger,
  readAllBaselineStock,
  readBaselineInfo,
  readDirectoryUrls,
  registerLedger,
  writeBaselineStock,
  writeJsonDurable,
} from "@mercora/crdt-model";
import type { DirectoryDoc, LedgerDoc, LedgerRecord, StockBaselineDoc } from "@mercora/crdt-model";
import { api, startMercora } from "../lib/processes.ts";
import { BRANCH, buildBranch, catalogProducts, ticket } from "./lib/fixture.ts";
import { PouchDB } from "./lib/pouch.ts";
import { saleRecord } from "./lib/records.ts";
import { ROOT, nowMs, peakRssOf } from "./lib/stats.ts";
import { withCpuProfile } from "./lib/store-procs.ts";
import { workerMain } from "./lib/worker.ts";

const TERMINALS = ["T1", "T2", "T3", "T4"];
export const TICKETS_PER_DAY = 300;
const DAY_MS = 86_400_000;

interface Input {
  mode: "generate" | "mercora" | "pouch-generate" | "pouch" | "baseline";
  dir: string;
  days: number;
  /** Folder for a CPU profile of the terminal. */
  profileDir?: string;
}

export interface ColdStartResult {
  ms: number;
  readyMs?: number;
  peakRss: number;
}

function dayStart(daysAgo: number): number {
  return Math.floor(Date.now() / DAY_MS) * DAY_MS - daysAgo * DAY_MS + 12 * 3_600_000;
}

/** Builds one ticket of the history as the product's `LedgerRecord`, with the fields `appendRecord` stores. */
function historyRecord(products: ReturnType<typeof catalogProducts>, terminal: string, seq: number, at: Date): LedgerRecord {
  const { _id, ...fields } = saleRecord(products, terminal, seq, at);
  return { id: _id, ...fields } as unknown as LedgerRecord;
}

async function generate(input: Input): Promise<{ ms: number }> {
  const started = nowMs();
  await buildBranch(input.dir, TERMINALS);
  const products = catalogProducts();
  const t1Dir = join(input.dir, "T1");
  const statePath = join(t1Dir, "terminal.json");
  const state = JSON.parse(await readFile(statePath, "utf8")) as {
    directoryUrl: string;
    ledgers: { documentId: string; url: string; businessDay: string; part: number; firstSeq: number }[];
  };
  const repo = new Repo({ storage: new DurableFileStorageAdapter(join(t1Dir, "automerge")), network: [], peerId: "bench-generator" as PeerId });
  const directory = await findDocument<DirectoryDoc>(repo, state.directoryUrl as DocumentId, { timeoutMs: 60_000 });
  const baseline = await findDocument<StockBaselineDoc>(repo, readDirectoryUrls(directory.doc()).baselineUrl as DocumentId, { timeoutMs: 60_000 });
  const fold = new StockFold(readAllBaselineStock(baseline.doc()), readBaselineInfo(baseline.doc()).applied);

  const seq = new Map(TERMINALS.map((t) => [t, 0]));
  for (let daysAgo = input.days; daysAgo >= 1; daysAgo--) {
    const start = dayStart(daysAgo);
    const businessDay = new Date(start).toISOString().slice(0, 10);
    for (const terminal of TERMINALS) {
      const firstSeq = seq.get(terminal)! + 1;
      const records: LedgerRecord[] = [];
      for (let i = 0; i < TICKETS_PER_DAY; i++) {
        records.push(historyRecord(products, terminal, firstSeq + i, new Date(start + i * 120_000)));
      }
      seq.set(terminal, firstSeq + TICKETS_PER_DAY - 1);

      for (const record of records) fold.fold(record);
      // T1 opens its own ledgers of every day and the others' of today and yesterday only.
      const stored = terminal === "T1" || daysAgo <= 1;
      const init = { branch: BRANCH, terminal, businessDay, part: 1, firstSeq };
      const handle = stored ? repo.create<LedgerDoc>(initLedger(init)) : null;
      if (handle) {
        for (const record of records) handle.change((doc) => appendRecord(doc, record));
      }
      // Ledgers this storage does not hold still get a directory entry, as synced terminals list them.
      const documentId = handle?.documentId ?? `bench-${terminal}-${businessDay}`;
      const url = handle?.url ?? `automerge:${documentId}`;
      const ref = { documentId, url, businessDay, part: 1, firstSeq };
      directory.change((doc) => registerLedger(doc, terminal, ref));
      if (terminal === "T1") state.ledgers.push(ref);
    }
    await repo.flush();
  }

  // The relay rolls the baseline every business day, so the current one holds one change of folded stock.
  const folded = fold.takeChanges();
  if (folded) baseline.change((doc) => writeBaselineStock(doc, folded.units, folded.applied));
  await repo.flush();
  await writeJsonDurable(statePath, state);
  await repo.shutdown();
  return { ms: nowMs() - started };
}

async function measureMercora(input: Input): Promise<ColdStartResult> {
  const t0 = nowMs();
  const terminal = await withCpuProfile(input.profileDir, () =>
    startMercora(
      "terminal T1",
      ["terminal", "--data", join(input.dir, "T1"), "--branch", BRANCH, "--terminal", "T1", "--lan-listen", "127.0.0.1:0", "--no-lan-discovery"],
      join(input.dir, "logs", "T1.log"),
      600_000,
    ),
  );
  const readyMs = nowMs() - t0;
  try {
    const sale = await api<{ record?: { id: string } }>(terminal.ready.http, "/sales", { body: ticket(catalogProducts(), 1), timeoutMs: 120_000 });
    if (sale.status !== 201) throw new Error(`First sale returned HTTP ${sale.status}: ${JSON.stringify(sale.body)}`);
    const ms = nowMs() - t0;
    return { ms, readyMs, peakRss: peakRssOf(terminal.child.pid) };
  } finally {
    await terminal.stop(5000);
  }
}

async function generatePouch(input: Input): Promise<{ ms: number }> {
  const started = nowMs();
  await mkdir(input.dir, { recursive: true });
  const products = catalogProducts();
  const db = new PouchDB(join(input.dir, "pouch-T1"));
  for (let daysAgo = input.days; daysAgo >= 1; daysAgo--) {
    const start = dayStart(daysAgo);
    for (const [index, terminal] of TERMINALS.entries()) {
      const docs = [];
      const firstSeq = (input.days - daysAgo) * TICKETS_PER_DAY + 1;
      for (let i = 0; i < TICKETS_PER_DAY; i++) docs.push(saleRecord(products, terminal, firstSeq + i, new Date(start + i * 120_000 + index)));
      await db.bulkDocs(docs);
    }
  }
  await db.close();
  return { ms: nowMs() - started };
}

/** Runs a child process and returns the time from spawn until it prints `line`, with its peak RSS then. */
async function timeUntilLine(args: string[], line: string): Promise<ColdStartResult> {
  const t0 = nowMs();
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout! });
  try {
    return await new Promise<ColdStartResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${args.join(" ")} did not print ${line} within 600 s`)), 600_000);
      lines.on("line", (text) => {
        if (text !== line) return;
        clearTimeout(timer);
        resolve({ ms: nowMs() - t0, peakRss: peakRssOf(child.pid) });
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`${args.join(" ")} exited with code ${code} before printing ${line}`));
      });
    });
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
  }
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
      return timeUntilLine(["--import", "tsx", join(ROOT, "scripts", "bench", "pouch-first-sale.ts"), join(input.dir, "pouch-T1")], "sold");
    case "baseline":
      return timeUntilLine([join(ROOT, "bin", "mercora.js"), "terminal", "--help"], "Options:");
  }
});
