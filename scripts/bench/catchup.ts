/**
 * Worker for the catch-up figure. Modes:
 * - `generate`: a four-terminal branch where each terminal, activated and
 *   with the cashier signed in, records `tickets` sales through
 *   `Terminal.recordSale` with no relay (offline).
 * - `mercora`: relay and terminal processes on a copy of that data. All WAN
 *   links open at once, each terminal gets a reconnect request (`POST
 *   /wan/reconnect`) unless `retryOnly` is set, and the worker times until
 *   the relay has ingested every record and counts the bytes on the links.
 * - `pouch-generate` / `pouch`: the same with four PouchDB databases that
 *   replicate to pouchdb-server through the same kind of link, and a
 *   consumer of the server's changes feed that verifies every record.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { taxProfile } from "@mercora/crdt-model";
import type { LedgerRecord } from "@mercora/crdt-model";
import { verifyRecord } from "@mercora/relay";
import { LinkProxy } from "../lib/link-proxy.ts";
import { api } from "../lib/processes.ts";
import { BRANCH, buildBranch, catalogProducts, fileLogger, nextTurn, startTerminal, ticket } from "./lib/fixture.ts";
import { PouchDB, startPouchServer } from "./lib/pouch.ts";
import type { PouchDatabase } from "./lib/pouch.ts";
import { saleRecord } from "./lib/records.ts";
import { BenchStore, freePort } from "./lib/store-procs.ts";
import { ROOT, cpuMsOf, nowMs, ownPeakRss, peakRssOf, sleep } from "./lib/stats.ts";
import { workerMain } from "./lib/worker.ts";

export const CATCHUP_TERMINALS = ["T1", "T2", "T3", "T4"];

interface Input {
  mode: "generate" | "mercora" | "pouch-generate" | "pouch";
  dir: string;
  tickets: number;
  timeoutMs?: number;
  /** Folder for a CPU profile of the relay. */
  profileDir?: string;
  /** Mercora only: no reconnect signal, so each terminal connects at its next websocket retry. */
  retryOnly?: boolean;
}

export interface CatchupResult {
  ms: number;
  records: number;
  /** Bytes on the terminal-cloud links from their opening until they went quiet after the clock stopped. */
  wanBytes: number;
  bytesPerTicket: number;
  /** Bytes on the same links when the clock stopped. */
  wanBytesAtStop: number;
  peakRssCloud: number;
  peakRssTerminals: number[];
  /** Mercora only: CPU time the relay and each terminal used while the clock ran, in ms. */
  cpuMsCloud?: number;
  cpuMsTerminals?: number[];
}

/** Time the links must carry less than `QUIET_SLACK_BYTES` before the byte count is read. */
const QUIET_MS = 2000;
/** Bytes that keepalive pings and the terminals' health checks may add during `QUIET_MS` of otherwise quiet links. */
const QUIET_SLACK_BYTES = 4096;
/** Maximum wait for quiet links after the clock stops. */
const QUIET_MAX_MS = 60_000;

/**
 * Returns the byte count of the links once it grew by less than
 * `QUIET_SLACK_BYTES` in `QUIET_MS`. Traffic that the catch-up set off and
 * that was still under way when the clock stopped counts too, such as the
 * relay copying each terminal's ledger to the other terminals.
 */
async function quietBytes(read: () => number): Promise<number> {
  const deadline = nowMs() + QUIET_MAX_MS;
  let last = read();
  for (;;) {
    await sleep(QUIET_MS);
    const now = read();
    if (now - last < QUIET_SLACK_BYTES) return now;
    if (nowMs() > deadline) {
      throw new Error(
        `terminal-cloud links still carried ${now - last} bytes in ${QUIET_MS} ms, ${QUIET_MAX_MS} ms after the clock stopped; ` +
          "look in the relay and terminal logs of the run for a sync that does not settle",
      );
    }
    last = now;
  }
}

async function generate(input: Input): Promise<{ ms: number }> {
  const started = nowMs();
  await buildBranch(input.dir, CATCHUP_TERMINALS);
  const products = catalogProducts();
  for (const [index, id] of CATCHUP_TERMINALS.entries()) {
    const log = fileLogger(join(input.dir, `generate-${id}.log`));
    const terminal = await startTerminal({ dataDir: join(input.dir, id), terminal: id, relayUrl: null, log, receipts: "none" });
    for (let n = 0; n < input.tickets; n++) {
      await terminal.recordSale(ticket(products, index * 100_000 + n));
      await nextTurn();
    }
    await terminal.stop();
  }
  return { ms: nowMs() - started };
}

async function measureMercora(input: Input): Promise<CatchupResult> {
  const store = new BenchStore(input.dir, CATCHUP_TERMINALS);
  const deadline = Date.now() + (input.timeoutMs ?? 600_000);
  try {
    const relayUrl = await store.startRelay(input.profileDir);
    await store.createWan();
    await store.startTerminals();
    const expected = new Map<string, number>();
    for (const [id, process] of store.terminals) {
      const status = await waitForDocuments(id, process.ready.http, deadline);
      expected.set(id, status.lastSeq);
    }
    store.resetWanBytes();
    const pids = [store.relay?.child.pid, ...[...store.terminals.values()].map((t) => t.child.pid)];
    const cpuBefore = pids.map(cpuMsOf);
    const t0 = nowMs();
    await store.openWan();
    // PouchDB's replications start on the same signal.
    if (!input.retryOnly) {
      await Promise.all(
        [...store.terminals].map(async ([id, terminal]) => {
          const response = await api(terminal.ready.http, "/wan/reconnect", { method: "POST" });
          if (response.status !== 202) {
            const logPath = join(input.dir, "logs", `${id}.log`);
            throw new Error(`POST /wan/reconnect on terminal ${id} returned HTTP ${response.status}: ${JSON.stringify(response.body)}. See ${logPath}`);
          }
        }),
      );
    }
    for (;;) {
      if (Date.now() > deadline) throw new Error(`relay did not ingest every record within ${input.timeoutMs} ms`);
      const summary = await api<{ terminals: { id: string; ackedSeq: number }[] }>(relayUrl, `/api/hq/branches/${BRANCH}`);
      const done = summary.body.terminals.every((t) => t.ackedSeq >= (expected.get(t.id) ?? 0));
      if (done) break;
      await sleep(50);
    }
    // The replica endpoint waits for the ingest and reconcile run in progress.
    await api(relayUrl, `/api/hq/branches/${BRANCH}/replica`, { timeoutMs: 120_000 });
    const ms = nowMs() - t0;
    const [cpuMsCloud, ...cpuMsTerminals] = pids.map((pid, index) => cpuMsOf(pid) - cpuBefore[index]!);
    const records = [...expected.values()].reduce((a, b) => a + b, 0);
    const wanBytesAtStop = store.wanBytes();
    // A CPU sampler of the processes reads the end of the timed window from this line.
    process.stderr.write(`catch-up clock stopped after ${ms.toFixed(0)} ms; counting bytes until the links go quiet\n`);
    const wanBytes = await quietBytes(() => store.wanBytes());
    const rss = store.peakRss();
    return {
      ms,
      records,
      wanBytes,
      bytesPerTicket: wanBytes / records,
      wanBytesAtStop,
      peakRssCloud: rss.relay,
      peakRssTerminals: rss.terminals,
      cpuMsCloud: cpuMsCloud!,
      cpuMsTerminals,
    };
  } finally {
    await store.stop();
  }
}

/**
 * Waits until a terminal has loaded the directory, catalog and stock
 * baseline documents it defers after start, and returns its status. The figure is
 * terminals that sold through an outage and reconnect, which finished
 * starting long before; the PouchDB terminals also open their database
 * before the clock starts.
 */
async function waitForDocuments(id: string, http: string, deadline: number): Promise<{ lastSeq: number }> {
  for (;;) {
    const status = await api<{ lastSeq: number; documentsLoaded: boolean; directoryLoaded: boolean }>(http, "/status");
    if (status.body.documentsLoaded && status.body.directoryLoaded) return status.body;
    if (Date.now() > deadline) throw new Error(`terminal ${id} did not load its directory, catalog and stock baseline documents in time`);
    await sleep(200);
  }
}

async function generatePouch(input: Input): Promise<{ ms: number }> {
  const started = nowMs();
  await mkdir(input.dir, { recursive: true });
  const products = catalogProducts();
  for (const [index, id] of CATCHUP_TERMINALS.entries()) {
    // Generation speed is not measured, so these writes skip the fsync.
    const db = new PouchDB(join(input.dir, `pouch-${id}`));
    for (let n = 0; n < input.tickets; n += 500) {
      const docs = [];
      for (let i = n; i < Math.min(input.tickets, n + 500); i++) docs.push(saleRecord(products, id, i + 1, new Date(Date.now() - (index + 1) * 1000)));
      await db.bulkDocs(docs);
    }
    await db.close();
  }
  return { ms: nowMs() - started };
}

/** Tax rules of the bundled catalog (the Argentine profile), which the relay's check recomputes each line with. */
const PROFILE = taxProfile("AR");

/**
 * Checks a sale with the relay's own `verifyRecord` (branch and terminal,
 * line amounts recomputed under the catalog's tax rules, totals, taxes,
 * cash rounding and change), so the PouchDB cloud does that work per
 * record too.
 */
function verifyArithmetic(record: LedgerRecord): boolean {
  const rules = { pricesIncludeTax: PROFILE.pricesIncludeTax, rounding: PROFILE.rounding };
  return verifyRecord(record, BRANCH, record.terminal, rules, PROFILE.cashRoundingIncrement) === null;
}

/**
 * Starts one PouchDB terminal process that replicates to `target` when it
 * reads "go" on stdin. `done` resolves to the peak RSS it reports.
 */
async function startPouchTerminal(dbPath: string, target: string, logPath: string): Promise<{ child: ChildProcess; done: Promise<number>; go(): void }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "scripts", "bench", "pouch-replicate.ts"), JSON.stringify({ dbPath, target, logPath })],
    { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! });
  let resolveReady: () => void = () => undefined;
  let resolveDone: (peakRss: number) => void = () => undefined;
  let rejectDone: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  const done = new Promise<number>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  lines.on("line", (line) => {
    if (line === "ready") resolveReady();
    if (line.startsWith("done ")) resolveDone(Number(line.slice("done ".length)));
  });
  child.once("exit", (code) => {
    if (code !== 0) rejectDone(new Error(`PouchDB replication of ${dbPath} exited with code ${code}`));
  });
  await ready;
  return { child, done, go: () => child.stdin!.write("go\n") };
}

async function measurePouch(input: Input): Promise<CatchupResult> {
  const server = await startPouchServer(join(input.dir, "cloud"), await freePort());
  const links: LinkProxy[] = [];
  const children: ChildProcess[] = [];
  let feed: ReturnType<PouchDatabase["changes"]> | null = null;
  try {
    const dbUrl = `${server.url}/branch-b1`;
    const created = await fetch(dbUrl, { method: "PUT" });
    if (!created.ok) throw new Error(`Creating ${dbUrl} failed: HTTP ${created.status}`);
    const terminals = [];
    for (const id of CATCHUP_TERMINALS) {
      const port = Number(new URL(server.url).port);
      const link = new LinkProxy(`wan ${id}`, { host: "127.0.0.1", port });
      await link.open();
      links.push(link);
      const target = `http://127.0.0.1:${link.port}/branch-b1`;
      const terminal = await startPouchTerminal(join(input.dir, `pouch-${id}`), target, join(input.dir, `replicate-${id}.log`));
      children.push(terminal.child);
      terminals.push(terminal);
    }
    const expected = input.tickets * CATCHUP_TERMINALS.length;
    const verified = new Set<string>();
    const stock = new Map<string, number>();
    let failures = 0;
    let resolveAll: () => void = () => undefined;
    const all = new Promise<void>((resolve) => (resolveAll = resolve));
    // The cloud's consumer: verifies each record's arithmetic, as the relay does, and sums stock per SKU.
    const cloud = new PouchDB(dbUrl);
    feed = cloud.changes({ live: true, since: 0, include_docs: true });
    feed.on("change", (change) => {
      const doc = change.doc as unknown as LedgerRecord & { _id: string };
      if (!doc || verified.has(doc._id)) return;
      if (!verifyArithmetic(doc)) failures += 1;
      for (const line of doc.stock) stock.set(line.sku, (stock.get(line.sku) ?? 0) + line.delta);
      verified.add(doc._id);
      if (verified.size >= expected) resolveAll();
    });
    for (const link of links) link.bytesForwarded = 0;
    const t0 = nowMs();
    for (const terminal of terminals) terminal.go();
    const timeout = sleep(input.timeoutMs ?? 600_000).then(() => {
      throw new Error(`PouchDB catch-up did not finish within ${input.timeoutMs} ms (${verified.size} of ${expected} verified)`);
    });
    await Promise.race([Promise.all([all, ...terminals.map((t) => t.done)]), timeout]);
    const ms = nowMs() - t0;
    if (failures > 0) throw new Error(`${failures} PouchDB records failed verification`);
    const peakRssCloud = peakRssOf(server.child.pid);
    // Each replicating process reported its own peak RSS as it finished, since it exits right after.
    const peakRssTerminals = await Promise.all(terminals.map((terminal) => terminal.done));
    const linkBytes = () => links.reduce((sum, link) => sum + link.bytesForwarded, 0);
    const wanBytesAtStop = linkBytes();
    const wanBytes = await quietBytes(linkBytes);
    return { ms, records: verified.size, wanBytes, bytesPerTicket: wanBytes / verified.size, wanBytesAtStop, peakRssCloud, peakRssTerminals };
  } finally {
    feed?.cancel();
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await server.stop();
    for (const link of links) await link.cut();
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
      return { ...(await measurePouch(input)), workerPeakRss: ownPeakRss() };
  }
});
