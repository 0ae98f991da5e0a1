import { rm } from "node:fs/promises";
import { businessDayOf } from "@mercora/crdt-model";
import { cached, freshCopy, preparedOnly, profileDirOf, worker } from "../lib/context.ts";
import { topProductFrames } from "../lib/profile.ts";
import { formatSpread } from "../lib/report.ts";
import type { TopFrame } from "../lib/profile.ts";
import type { BenchContext, FigureResult } from "../lib/context.ts";
import { TIME_ZONE, catalogProducts } from "../lib/fixture.ts";
import { saleRecord } from "../lib/records.ts";
import { spread } from "../lib/stats.ts";
import type { CatchupResult } from "../catchup.ts";

const GENERATE_MS = 60 * 60_000;


/** Median JSON size in bytes of the records the bench terminals write. */
function recordJsonBytes(): number {
  const products = catalogProducts();
  const sizes = Array.from({ length: 200 }, (_, index) => {
    const { _id, ...record } = saleRecord(products, "T1", index + 1, new Date());
    return Buffer.byteLength(JSON.stringify(record));
  });
  return spread(sizes).median;
}

/** Catch-up after an outage, and bytes on the wire per ticket during it. */
export async function catchupFigure(ctx: BenchContext): Promise<FigureResult> {
  const tickets = ctx.quick ? 500 : 2_000;
  // The offline tickets are of the business day they were generated on. Measured on a later day, the relay first rolls
  // a new stock baseline and each terminal fetches it: 1.7 MB more to the terminals in one run (567 against 406 bytes
  // a ticket). So the data is generated again each business day.
  const day = businessDayOf(new Date(), TIME_ZONE);
  const mercoraData = await cached(ctx, `catchup-${tickets}-${day}`, (dir) =>
    worker(ctx, "catchup", { mode: "generate", dir, tickets }, `catchup-generate-${tickets}`, GENERATE_MS).then(() => undefined),
  );
  const pouchData = await cached(ctx, `catchup-pouch-${tickets}`, (dir) =>
    worker(ctx, "catchup", { mode: "pouch-generate", dir, tickets }, `catchup-pouch-generate-${tickets}`, GENERATE_MS).then(() => undefined),
  );

  const mercora: CatchupResult[] = [];
  const retryOnly: CatchupResult[] = [];
  if (ctx.prepareOnly) return preparedOnly("catchup", "Catch-up after an outage");
  const pouch: CatchupResult[] = [];
  const timeoutMs = 15 * 60_000;
  for (let run = 1; run <= ctx.runs; run++) {
    ctx.log(`catch-up run ${run}/${ctx.runs}`);
    let dir = await freshCopy(ctx, mercoraData, "catchup-mercora");
    mercora.push(await worker<CatchupResult>(ctx, "catchup", { mode: "mercora", dir, tickets, timeoutMs }, `catchup-mercora-${run}`, timeoutMs + 120_000));
    dir = await freshCopy(ctx, mercoraData, "catchup-mercora");
    retryOnly.push(
      await worker<CatchupResult>(ctx, "catchup", { mode: "mercora", dir, tickets, timeoutMs, retryOnly: true }, `catchup-mercora-retry-${run}`, timeoutMs + 120_000),
    );
    dir = await freshCopy(ctx, pouchData, "catchup-pouch");
    pouch.push(await worker<CatchupResult>(ctx, "catchup", { mode: "pouch", dir, tickets, timeoutMs }, `catchup-pouch-${run}`, timeoutMs + 120_000));
  }

  // One more run with the relay under the CPU profiler, kept out of the figures.
  let frames: TopFrame[] = [];
  if (!ctx.skipProfiles) {
    const profileDir = profileDirOf(ctx, "catchup-relay-profile");
    await rm(profileDir, { recursive: true, force: true });
    const profiledData = await freshCopy(ctx, mercoraData, "catchup-profile");
    await worker(ctx, "catchup", { mode: "mercora", dir: profiledData, tickets, timeoutMs, profileDir }, "catchup-relay-profile", timeoutMs + 120_000);
    frames = await topProductFrames(profileDir, 10);
  }

  const total = tickets * 4;
  const recordBytes = recordJsonBytes();
  const cloudRss = (results: CatchupResult[]) => spread(results.map((r) => r.peakRssCloud));
  const timeM = spread(mercora.map((r) => r.ms / 1000));
  const timeP = spread(pouch.map((r) => r.ms / 1000));
  const bytesM = spread(mercora.map((r) => r.bytesPerTicket));
  const bytesP = spread(pouch.map((r) => r.bytesPerTicket));
  const atStopM = spread(mercora.map((r) => r.wanBytesAtStop / r.records));
  const atStopP = spread(pouch.map((r) => r.wanBytesAtStop / r.records));
  const terminalRss = spread(mercora.flatMap((r) => r.peakRssTerminals));
  const pouchTerminalRss = spread(pouch.flatMap((r) => r.peakRssTerminals));
  const timeRetry = spread(retryOnly.map((r) => r.ms / 1000));
  const cpuCloud = spread(mercora.map((r) => (r.cpuMsCloud ?? Number.NaN) / 1000));
  const cpuTerminal = spread(mercora.flatMap((r) => (r.cpuMsTerminals ?? []).map((ms) => ms / 1000)));

  return {
    id: "catchup",
    title: "Catch-up after an outage",
    method: [
      `Data: a branch with 4 terminals, each with ${tickets.toLocaleString("en")} tickets recorded through \`Terminal.recordSale\` (activated, with the cashier signed in) while it had no relay ` +
        `(${total.toLocaleString("en")} in all), made by a generator process and copied fresh for every run.`,
      "Mercora: a `mercora relay` process and four `mercora terminal` processes with the CLI's default connection settings " +
        "(health check every 2 s, websocket retry every 1 s) start on the copy, each terminal reaching the relay through its own `LinkProxy`, cut. Since commit b8561d6 the terminals run with their Node.js flags (bin/node-flags.js). " +
        "The LAN links stay down, so only terminal-relay traffic is counted. Once every terminal reports in `/status` that it has loaded the directory, catalog and stock baseline " +
        "documents it defers after start (`directoryLoaded`, `documentsLoaded`), as terminals that sold through an outage did long before. Then all four links open at once " +
        "and the clock starts. Each terminal then receives `POST /wan/reconnect`, as each PouchDB process receives its signal to start replicating. The clock stops when " +
        "`GET /api/hq/branches/B1` shows every terminal's `ackedSeq` at its last sequence number (records verified and ingested) and " +
        "`GET /api/hq/branches/B1/replica`, which waits for the ingest and reconcile run in progress, has returned.",
      "Each run also times Mercora without that signal, on a fresh copy: each terminal then connects at its next websocket retry, up to 1 s after the links open. " +
        "That time is in the notes of the row, not in the ratio.",
      "PouchDB: four processes, each with a pouchdb-node database holding the same records as documents, replicate once " +
        "(`db.replicate.to`) into one database of a `pouchdb-server` process through a `LinkProxy` each. A consumer of the server's " +
        "changes feed (`include_docs`) checks each record's arithmetic with the relay's own `verifyRecord` (line amounts recomputed under the catalog's tax rules, " +
        "totals, tenders and change) and sums stock per SKU; the clock stops when it has seen every record and every replication has finished.",
      "NOTE: the relay also checks each record's hash, its link to the terminal's previous record and the cashier's Ed25519 signature; " +
        "the PouchDB consumer does not, so it does less work per record than the relay.",
      "Bytes: `LinkProxy.bytesForwarded` of the four terminal-cloud links, both directions, from the moment they open until they carried less than " +
        "4 KB in 2 s after the clock stopped. So traffic the catch-up set off counts even when it ends after the clock, such as the acknowledgements and stock baseline changes going back to the terminals. " +
        `The reference is the JSON size of one record (${recordBytes.toLocaleString("en")} bytes, the median of 200 bench records with their hash, signature and folio), ` +
          "the payload before any protocol overhead.",
    ],
    rows: [
      {
        figure: "catch-up after an outage",
        metric: `time until the cloud verified and reconciled ${total.toLocaleString("en")} offline tickets`,
        unit: "s",
        mercora: timeM,
        pouch: timeP,
        goal: "ratio <= 0.5",
        met: timeM.median / timeP.median <= 0.5,
        peakRss: { mercora: cloudRss(mercora), pouch: cloudRss(pouch) },
        notes: [
          `Mercora with no reconnect signal, waiting for each terminal's websocket retry: ${formatSpread(timeRetry, "s")} s`,
          `CPU time while the clock ran (user and system, all threads; median): Mercora's relay ${formatSpread(cpuCloud, "s")} s, each terminal ${formatSpread(cpuTerminal, "s")} s`,
          `peak RSS of the four terminals: Mercora ${Math.round(terminalRss.median / 2 ** 20)} MiB, PouchDB ${Math.round(pouchTerminalRss.median / 2 ** 20)} MiB (median); the RSS column is the relay and pouchdb-server`,
        ],
      },
      {
        figure: "catch-up after an outage",
        metric: "bytes on the wire per ticket",
        unit: "B",
        mercora: bytesM,
        pouch: bytesP,
        limit: spread([recordBytes]),
        limitName: "record JSON",
        goal: "ratio <= 0.5",
        met: bytesM.median / bytesP.median <= 0.5,
        peakRss: {},
        notes: [
          `when the clock stopped: Mercora ${Math.round(atStopM.median).toLocaleString("en")} (${Math.round(atStopM.min).toLocaleString("en")}–${Math.round(atStopM.max).toLocaleString("en")}), ` +
            `PouchDB ${Math.round(atStopP.median).toLocaleString("en")} bytes per ticket`,
        ],
      },
    ],
    findings: [
      ...(frames.length > 0
        ? [`CPU profile of the relay during catch-up, product frames by total time (share of all samples, including idle): ${frames.map((f) => `${f.frame} ${f.percent}%`).join("; ")}.`]
        : []),
    ],
    commands: [],
  };
}
