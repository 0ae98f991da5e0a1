/**
 * Worker for the cold-start figure. Modes:
 * - `generate`: a four-terminal branch with `days` business days of
 *   history, 300 tickets a day per terminal (signed by the cashier and
 *   hash-chained per terminal), written into terminal T1's encrypted
 *   storage: T1's own daily ledgers, the other terminals' ledgers of the
 *   last two days (the ones a terminal opens at start), every ledger listed
 *   in the branch directory, every ticket folded into the stock baseline
 *   and acknowledged in the ingest document (as the relay leaves them), and
 *   T1's checkpoint. One start and clean stop of T1 then leaves the catalog,
 *   stock and directory snapshots that a terminal which ran before keeps.
 * - `mercora`: times a `mercora terminal` process on that data from spawn
 *   to the 201 of its first `POST /sales`, after `POST /sessions` signed
 *   the cashier in.
 * - `pouch-generate` / `pouch`: the same history as documents in one
 *   pouchdb-node database, timed from spawn to the first durable `db.put`.
 * - `baseline`: times `mercora terminal --help`, the cost of starting Node.js
 *   and loading the bundled command with its dependencies.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Repo } from "@automerge/automerge-repo";
import type { DocumentId, PeerId } from "@automerge/automerge-repo";
import {
  DurableFileStorageAdapter,
  Keystore,
  StockFold,
  appendRecord,
  businessDayOf,
  emptyFolioCounters,
  findDocument,
  initLedger,
  nextFolio,
  observeFolio,
  readAllBaselineStock,
  readBaselineInfo,
  readBlocks,
  readDirectoryUrls,
  registerLedger,
  writeBaselineStock,
  writeJsonDurable,
} from "@mercora/crdt-model";
import type { DirectoryDoc, FoliosDoc, IngestDoc, LedgerDoc, LedgerRecord, PermissionsDoc, StockBaselineDoc } from "@mercora/crdt-model";
import { DurableWrites } from "@mercora/terminal";
import type { ActivatedState } from "@mercora/terminal";
import { pino } from "pino";
import { TERMINAL_NODE_FLAGS } from "../../bin/node-flags.js";
import { MERCORA_BIN, api, startMercora } from "../lib/processes.ts";
import { BRANCH, TIME_ZONE, buildBranch, catalogProducts, signInCashier, ticket, unlockCashierKey } from "./lib/fixture.ts";
import { PouchDB } from "./lib/pouch.ts";
import { RecordChain, saleRecord } from "./lib/records.ts";
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
  /** From spawn to the 201 of `POST /sessions`. */
  signedInMs?: number;
  peakRss: number;
}

function dayStart(daysAgo: number): number {
  return Math.floor(Date.now() / DAY_MS) * DAY_MS - daysAgo * DAY_MS + 12 * 3_600_000;
}

async function generate(input: Input): Promise<{ ms: number }> {
  const started = nowMs();
  await buildBranch(input.dir, TERMINALS);
  const products = catalogProducts();
  const t1Dir = join(input.dir, "T1");
  const statePath = join(t1Dir, "terminal.json");
  const state = JSON.parse(await readFile(statePath, "utf8")) as ActivatedState;
  const keystore = await Keystore.open(join(t1Dir, "keystore"), { create: false });
  const repo = new Repo({
    storage: new DurableFileStorageAdapter(join(t1Dir, "automerge"), keystore.storageKey),
    network: [],
    peerId: "bench-generator" as PeerId,
  });
  const directory = await findDocument<DirectoryDoc>(repo, state.directoryUrl as DocumentId, { timeoutMs: 60_000 });
  const urls = readDirectoryUrls(directory.doc());
  const baseline = await findDocument<StockBaselineDoc>(repo, urls.baselineUrl as DocumentId, { timeoutMs: 60_000 });
  const ingest = await findDocument<IngestDoc>(repo, urls.ingestUrl as DocumentId, { timeoutMs: 60_000 });
  const permissions = await findDocument<PermissionsDoc>(repo, urls.permissionsUrl as DocumentId, { timeoutMs: 60_000 });
  const folios = await findDocument<FoliosDoc>(repo, urls.foliosUrl as DocumentId, { timeoutMs: 60_000 });

  // Records are signed with the cashier's key and chained per terminal, so
  // T1 verifies them at start as it verifies records it synced.
  const key = await unlockCashierKey(permissions.doc());
  const chains = new Map(
    TERMINALS.map((terminal) => [
      terminal,
      new RecordChain(terminal, { key, folio: (id, _seq, previous) => nextFolio(folios.doc(), id, "sale", previous ? [previous] : []) }),
    ]),
  );
  const fold = new StockFold(readAllBaselineStock(baseline.doc()), readBaselineInfo(baseline.doc()).applied);
  const t1Folios = emptyFolioCounters();
  let t1Last: LedgerRecord | null = null;
  for (let daysAgo = input.days; daysAgo >= 1; daysAgo--) {
    const start = dayStart(daysAgo);
    const businessDay = businessDayOf(new Date(start), TIME_ZONE);
    for (const terminal of TERMINALS) {
      const chain = chains.get(terminal)!;
      const firstSeq = chain.seq + 1;
      const records: LedgerRecord[] = [];
      for (let i = 0; i < TICKETS_PER_DAY; i++) records.push(chain.next(products, new Date(start + i * 120_000)));

      for (const record of records) fold.fold(record);
      if (terminal === "T1") {
        for (const record of records) observeFolio(t1Folios, record, readBlocks(folios.doc(), terminal));
        t1Last = records.at(-1)!;
      }
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

  // As after a day of sync: the relay folded every ticket into the stock
  // baseline (which it rolls every business day, so it contains one publish)
  // and acknowledged every ticket.
  const folded = fold.takeChanges();
  if (folded) baseline.change((doc) => writeBaselineStock(doc, folded.units, folded.applied));
  ingest.change((doc) => {
    for (const [terminal, chain] of chains) doc.acked[terminal] = chain.seq;
  });
  await repo.flush();
  // T1's checkpoint keeps what it needs to issue its next record, as its own checkpoints would.
  const durable = new DurableWrites(t1Dir, keystore.storageKey, pino({ level: "silent" }));
  await durable.open();
  await durable.checkpoint(repo, { lastSeq: t1Last!.seq, lastHash: t1Last!.hash, folios: t1Folios });
  await durable.close();
  await writeJsonDurable(statePath, state);
  await repo.shutdown();

  // T1's stock and directory snapshots are from its activation, before the history was written. A
  // terminal that saw the relay publish the folds and its peers list their ledgers would have
  // rewritten them, so the warm-up writes them anew.
  await rm(join(t1Dir, "stock-snapshot.json"), { force: true });
  await rm(join(t1Dir, "directory-snapshot.json"), { force: true });
  const warmUp = await startMercora("terminal T1 (warm-up)", terminalArgs(input.dir), join(input.dir, "logs", "T1-warm-up.log"), 600_000);
  await warmUp.stop(120_000);
  return { ms: nowMs() - started };
}

function terminalArgs(dir: string): string[] {
  return ["terminal", "--data", join(dir, "T1"), "--branch", BRANCH, "--terminal", "T1", "--lan-listen", "127.0.0.1:0", "--no-lan-discovery"];
}

async function measureMercora(input: Input): Promise<ColdStartResult> {
  // The ticket is priced from the catalog CSV before the clock starts: parsing it takes the bench hundreds of milliseconds.
  const body = ticket(catalogProducts(), 1);
  const t0 = nowMs();
  const terminal = await withCpuProfile(input.profileDir, () =>
    startMercora("terminal T1", terminalArgs(input.dir), join(input.dir, "logs", "T1.log"), 600_000),
  );
  const readyMs = nowMs() - t0;
  try {
    await signInCashier(terminal.ready.http);
    const signedInMs = nowMs() - t0;
    const sale = await api<{ record?: { id: string } }>(terminal.ready.http, "/sales", { body, timeoutMs: 120_000 });
    if (sale.status !== 201) throw new Error(`First sale returned HTTP ${sale.status}: ${JSON.stringify(sale.body)}`);
    const ms = nowMs() - t0;
    return { ms, readyMs, signedInMs, peakRss: peakRssOf(terminal.child.pid) };
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
    case "pouch": {
      // Priced before the clock starts, as the Mercora side's ticket is.
      const salePath = join(input.dir, "pouch-sale.json");
      await writeFile(salePath, JSON.stringify(saleRecord(catalogProducts(), "T1", 1, new Date())));
      return timeUntilLine(["--import", "tsx", join(ROOT, "scripts", "bench", "pouch-first-sale.ts"), join(input.dir, "pouch-T1"), salePath], "sold");
    }
    case "baseline":
      // With the terminal's flags, as `startMercora` starts it: without them, bin/mercora.js would start a second process.
      return timeUntilLine([...TERMINAL_NODE_FLAGS, MERCORA_BIN, "terminal", "--help"], "Options:");
  }
});
