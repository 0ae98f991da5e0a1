/**
 * Load generator for the relay capacity figure. Each simulated terminal is
 * its own automerge-repo `Repo` (no storage) with its own websocket to the
 * relay, the peer id a real terminal uses and an activated device key,
 * which signs a fresh device token for every connection. It registers a
 * ledger for today in its entry of the branch directory, then appends one
 * ticket a minute to that ledger, signed with the cashier's key, chained
 * and with a self-numbered folio, as a terminal records it. It follows the
 * branch's ingest document and records the lag from each write until the
 * relay's ackedSeq covers it.
 * Prints one JSON line per report interval and a final summary.
 */
import { createPrivateKey } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { pino } from "pino";
import { Repo } from "@automerge/automerge-repo";
import type { DocHandle, DocumentId, PeerId } from "@automerge/automerge-repo";
import {
  appendRecord,
  businessDayOf,
  findDocument,
  initLedger,
  makeDeviceToken,
  nextFolio,
  readAcked,
  readDirectoryUrls,
  registerLedger,
} from "@mercora/crdt-model";
import type { DirectoryDoc, FoliosDoc, IngestDoc, LedgerDoc, PermissionsDoc } from "@mercora/crdt-model";
import { ResilientWebSocketClientAdapter } from "@mercora/terminal";
import { TIME_ZONE, catalogProducts, unlockCashierKey } from "./lib/fixture.ts";
import type { DeviceKeys } from "./lib/fixture.ts";
import { MemoryStorageAdapter } from "./lib/memory-storage.ts";
import { RecordChain } from "./lib/records.ts";
import { nowMs, percentile, sleep } from "./lib/stats.ts";

interface Input {
  relayUrl: string;
  /** File of device keys, by branch and terminal, that `buildBranch` activated. */
  devicesPath: string;
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
  chain: RecordChain | null;
  seq: number;
  acked: number;
  written: Map<number, number>;
}

/** How long a simulated terminal waits for its branch documents before it counts as failed to connect. */
const CONNECT_TIMEOUT_MS = 600_000;

const input = JSON.parse(process.argv[2] ?? "{}") as Input;
// A terminal that never connects waits CONNECT_TIMEOUT_MS before the soak starts, so the limit includes it.
const hardStop = setTimeout(() => {
  process.stderr.write("load generator ran past its time limit\n");
  process.exit(2);
}, input.rampMs + CONNECT_TIMEOUT_MS + input.durationMs + 10 * 60_000);
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

/** Cashier keys by branch, unlocked once and shared by the branch's four terminals, because one cashier's key signs at any terminal of the store. */
const cashierKeys = new Map<string, Promise<KeyObject>>();
const silent = pino({ level: "silent" });

async function connect(branch: Input["branches"][number], terminal: string, devices: DeviceKeys): Promise<SimulatedTerminal> {
  const wsUrl = input.relayUrl.replace(/^http/, "ws") + "/sync";
  const peerId = `terminal:${branch.id}:${terminal}`;
  const pem = devices[branch.id]?.[terminal];
  if (!pem) throw new Error(`No device key for ${branch.id}/${terminal} in ${input.devicesPath}; generate the capacity data again`);
  const deviceKey = createPrivateKey(pem);
  // A fresh device token for every connection attempt, as a terminal's WAN link makes it.
  const withToken = () => `${wsUrl}?token=${makeDeviceToken(deviceKey, { branch: branch.id, terminal, peerId, issuedAt: Date.now() })}`;
  // automerge-repo treats a repo without storage as an ephemeral peer, and the relay returns
  // "unavailable" to its requests.
  // Only the directory, the ingest, permissions and folios documents and the terminal's own
  // ledger are synced: a real terminal also stores the catalog and inventory, which would not
  // fit thousands of times here.
  const wanted = new Set([branch.directoryUrl, branch.ingestUrl].map((url) => url.replace(/^automerge:/, "")));
  const allowed = async (_peer: PeerId, documentId?: DocumentId) => documentId !== undefined && wanted.has(documentId);
  const repo = new Repo({
    storage: new MemoryStorageAdapter(),
    network: [new ResilientWebSocketClientAdapter(wsUrl, 5000, silent, withToken)],
    peerId: peerId as PeerId,
    shareConfig: { announce: allowed, access: allowed },
  });
  const sim: SimulatedTerminal = { branch: branch.id, terminal, repo, ledger: null, chain: null, seq: 0, acked: 0, written: new Map() };

  // One deadline for the four documents, so a terminal the relay never serves gives up after CONNECT_TIMEOUT_MS in all.
  const deadline = nowMs() + CONNECT_TIMEOUT_MS;
  const find = <T>(url: string) => findDocument<T>(repo, url as DocumentId, { timeoutMs: Math.max(1, deadline - nowMs()), retryMs: 2000 });
  const directory = await find<DirectoryDoc>(branch.directoryUrl);
  const urls = readDirectoryUrls(directory.doc());
  for (const url of [urls.permissionsUrl, urls.foliosUrl]) wanted.add(url.replace(/^automerge:/, ""));
  const ingest = await find<IngestDoc>(branch.ingestUrl);
  const permissions = await find<PermissionsDoc>(urls.permissionsUrl);
  const folios = await find<FoliosDoc>(urls.foliosUrl);
  sim.acked = readAcked(ingest.doc(), terminal);
  if (sim.acked !== 0) throw new Error(`${branch.id}/${terminal} already has ${sim.acked} records at the relay; run on a fresh copy of the data`);
  if (!cashierKeys.has(branch.id)) cashierKeys.set(branch.id, unlockCashierKey(permissions.doc()));
  const key = await cashierKeys.get(branch.id)!;
  sim.chain = new RecordChain(terminal, {
    branch: branch.id,
    key,
    folio: (id, _seq, previous) => nextFolio(folios.doc(), id, "sale", previous ? [previous] : []),
  });
  const businessDay = businessDayOf(new Date(), TIME_ZONE);
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

/** Appends the terminal's next sale, signed and chained, to its ledger. */
function writeTicket(sim: SimulatedTerminal): void {
  const record = sim.chain!.next(products, new Date());
  sim.ledger!.change((doc) => appendRecord(doc, record));
  sim.seq = record.seq;
  sim.written.set(record.seq, nowMs());
  written += 1;
}

async function main(): Promise<void> {
  const devices = JSON.parse(await readFile(input.devicesPath, "utf8")) as DeviceKeys;
  const all = input.branches.flatMap((branch) => branch.terminals.map((terminal) => ({ branch, terminal })));
  const started = nowMs();
  const connecting: Promise<void>[] = [];
  for (const [index, { branch, terminal }] of all.entries()) {
    const due = started + (index * input.rampMs) / Math.max(1, all.length);
    const wait = due - nowMs();
    if (wait > 0) await sleep(wait);
    connecting.push(
      connect(branch, terminal, devices).then(
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
