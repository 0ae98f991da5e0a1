/**
 * Load generator for the relay capacity figure. Each simulated terminal is
 * its own automerge-repo `Repo` (no storage) with its own websocket to the
 * relay and the peer id a real terminal uses. It registers a ledger for
 * today in its entry of the branch directory, then appends one ticket a
 * minute to that ledger. It follows the branch's ingest document and
 * records the lag from each write until the relay's ackedSeq covers it.
 * Prints one JSON line per report interval and a final summary.
 */
import { Repo } from "@automerge/automerge-repo";
import type { DocHandle, DocumentId, PeerId } from "@automerge/automerge-repo";
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket";
import { appendRecord, findDocument, initLedger, readAcked, recordId, registerLedger } from "@mercora/crdt-model";
import type { DirectoryDoc, IngestDoc, LedgerDoc, LedgerRecord } from "@mercora/crdt-model";
import { catalogProducts } from "./lib/fixture.ts";
import { MemoryStorageAdapter } from "./lib/memory-storage.ts";
import { saleRecord } from "./lib/records.ts";
import { nowMs, percentile, sleep } from "./lib/stats.ts";

interface Input {
  relayUrl: string;
  branches: { id: string; directoryUrl: string; ingestUrl: string; terminals: string[] }[];
  durationMs: number;
  ticketsPerMinute: number;
  reportMs: number;
  /** Time over which terminals connect, so the relay is not hit by every first sync at once. */
  rampMs: number;
}

interface SimulatedTerminal {
  branch: string;
  terminal: string;
  repo: Repo;
  ledger: DocHandle<LedgerDoc> | null;
  seq: number;
  acked: number;
  written: Map<number, number>;
}

const input = JSON.parse(process.argv[2] ?? "{}") as Input;
const hardStop = setTimeout(() => {
  process.stderr.write("load generator ran past its time limit\n");
  process.exit(2);
}, input.rampMs + input.durationMs + 10 * 60_000);
hardStop.unref();

// automerge-repo 2.5.6 leaves a DocHandle.whenReady timeout pending after a find it abandoned.
// It rejects 60 s later with no handler attached, so the generator counts those instead of crashing.
let abandonedTimeouts = 0;
process.on("unhandledRejection", (reason: unknown) => {
  if ((reason as Error)?.name === "TimeoutError") {
    abandonedTimeouts += 1;
    return;
  }
  process.stderr.write(`unhandled rejection: ${(reason as Error)?.stack ?? String(reason)}\n`);
  process.exit(1);
});

const products = catalogProducts();
const terminals: SimulatedTerminal[] = [];
let lags: number[] = [];
let written = 0;
let acknowledged = 0;
let failures = 0;

function emit(line: object): void {
  process.stdout.write(JSON.stringify(line) + "\n");
}

async function connect(branch: Input["branches"][number], terminal: string): Promise<SimulatedTerminal> {
  const wsUrl = input.relayUrl.replace(/^http/, "ws") + "/sync";
  // automerge-repo treats a repo without storage as an ephemeral peer, and the relay returns
  // "unavailable" to its requests.
  // Only the directory, the ingest document and the terminal's own ledger are synced: a real
  // terminal also stores the catalog and inventory, which would not fit thousands of times here.
  const wanted = new Set([branch.directoryUrl, branch.ingestUrl].map((url) => url.replace(/^automerge:/, "")));
  const allowed = async (_peer: PeerId, documentId?: DocumentId) => documentId !== undefined && wanted.has(documentId);
  const repo = new Repo({
    storage: new MemoryStorageAdapter(),
    network: [new WebSocketClientAdapter(wsUrl, 5000)],
    peerId: `terminal:${branch.id}:${terminal}` as PeerId,
    shareConfig: { announce: allowed, access: allowed },
  });
  const sim: SimulatedTerminal = { branch: branch.id, terminal, repo, ledger: null, seq: 0, acked: 0, written: new Map() };

  const directory = await findDocument<DirectoryDoc>(repo, branch.directoryUrl as DocumentId, { timeoutMs: 600_000, retryMs: 2000 });
  const ingest = await findDocument<IngestDoc>(repo, branch.ingestUrl as DocumentId, { timeoutMs: 600_000, retryMs: 2000 });
  sim.acked = readAcked(ingest.doc(), terminal);
  sim.seq = sim.acked;
  const businessDay = new Date().toISOString().slice(0, 10);
  const ledger = repo.create<LedgerDoc>(initLedger({ branch: branch.id, terminal, businessDay, part: 1, firstSeq: sim.seq + 1 }));
  wanted.add(ledger.documentId);
  repo.shareConfigChanged();
  directory.change((doc) =>
    registerLedger(doc, terminal, { documentId: ledger.documentId, url: ledger.url, businessDay, part: 1, firstSeq: sim.seq + 1 }),
  );
  sim.ledger = ledger;

  ingest.on("change", ({ doc }) => {
    const acked = readAcked(doc, terminal);
    const now = nowMs();
    for (let seq = sim.acked + 1; seq <= acked; seq++) {
      const at = sim.written.get(seq);
      if (at === undefined) continue;
      lags.push(now - at);
      sim.written.delete(seq);
      acknowledged += 1;
    }
    if (acked > sim.acked) sim.acked = acked;
  });
  return sim;
}

function writeTicket(sim: SimulatedTerminal): void {
  const seq = sim.seq + 1;
  const { _id, ...fields } = saleRecord(products, sim.terminal, seq, new Date());
  const record = { ...fields, id: recordId(sim.branch, sim.terminal, seq), branch: sim.branch } as unknown as LedgerRecord;
  sim.ledger!.change((doc) => appendRecord(doc, record));
  sim.seq = seq;
  sim.written.set(seq, nowMs());
  written += 1;
}

async function main(): Promise<void> {
  const all = input.branches.flatMap((branch) => branch.terminals.map((terminal) => ({ branch, terminal })));
  const started = nowMs();
  const connecting: Promise<void>[] = [];
  for (const [index, { branch, terminal }] of all.entries()) {
    const due = started + (index * input.rampMs) / Math.max(1, all.length);
    const wait = due - nowMs();
    if (wait > 0) await sleep(wait);
    connecting.push(
      connect(branch, terminal).then(
        (sim) => void terminals.push(sim),
        (error: unknown) => {
          failures += 1;
          process.stderr.write(`terminal ${branch.id}/${terminal} failed to connect: ${(error as Error).message}\n`);
        },
      ),
    );
  }
  await Promise.all(connecting);
  emit({ type: "connected", terminals: terminals.length, failures, ms: nowMs() - started });

  const intervalMs = 60_000 / input.ticketsPerMinute;
  const soakStart = nowMs();
  // Each terminal writes at a fixed offset within the interval, so writes are spread evenly.
  const offsets = terminals.map((_, index) => (index * intervalMs) / terminals.length);
  const nextDue = offsets.map((offset) => soakStart + offset);
  let lastReport = soakStart;
  while (nowMs() - soakStart < input.durationMs) {
    const now = nowMs();
    for (let i = 0; i < terminals.length; i++) {
      if (nextDue[i]! <= now) {
        writeTicket(terminals[i]!);
        nextDue[i]! += intervalMs;
      }
    }
    if (now - lastReport >= input.reportMs) {
      const outstanding = terminals.reduce((sum, sim) => sum + sim.written.size, 0);
      emit({ type: "interval", atMs: now - soakStart, written, acknowledged, outstanding, p50: percentile(lags, 0.5), p99: percentile(lags, 0.99), max: lags.length ? Math.max(...lags) : null, samples: lags.length });
      lags = [];
      lastReport = now;
    }
    await sleep(20);
  }

  // Grace period: the relay may finish what is in flight.
  const graceEnd = nowMs() + 30_000;
  while (nowMs() < graceEnd && terminals.some((sim) => sim.written.size > 0)) await sleep(200);
  const outstanding = terminals.reduce((sum, sim) => sum + sim.written.size, 0);
  emit({ type: "final", written, acknowledged, outstanding, abandonedTimeouts, p50: percentile(lags, 0.5), p99: percentile(lags, 0.99), samples: lags.length });
  for (const sim of terminals) {
    try {
      sim.repo.networkSubsystem.adapters.forEach((adapter) => adapter.disconnect());
    } catch {
      // Already disconnected.
    }
  }
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`load generator failed: ${(error as Error).stack}\n`);
  process.exit(1);
});
