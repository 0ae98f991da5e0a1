import { rm } from "node:fs/promises";
import { cached, freshCopy, preparedOnly, profileDirOf, worker } from "../lib/context.ts";
import { topProductFrames } from "../lib/profile.ts";
import type { TopFrame } from "../lib/profile.ts";
import type { BenchContext, FigureResult, FigureRow } from "../lib/context.ts";
import { spread } from "../lib/stats.ts";
import type { ColdStartResult } from "../coldstart.ts";


const GENERATE_MS = 90 * 60_000;

/** Median of one of the Mercora start's milestones, in seconds with two decimals. */
function medianSeconds(results: ColdStartResult[], field: "readyMs" | "signedInMs"): string {
  return spread(results.map((r) => (r[field] ?? Number.NaN) / 1000)).median.toFixed(2);
}

/** Terminal cold start to first sale with a short and a long history. */
export async function coldStartFigure(ctx: BenchContext, options: { coldStartDays?: number } = {}): Promise<FigureResult> {
  const short = 7;
  const long = options.coldStartDays ?? (ctx.quick ? 30 : 365);
  const results: Record<string, ColdStartResult[]> = {};
  const data: Record<number, { mercora: string; pouch: string }> = {};
  for (const days of [short, long]) {
    data[days] = {
      mercora: await cached(ctx, `coldstart-${days}d`, (dir) =>
        worker(ctx, "coldstart", { mode: "generate", dir, days }, `coldstart-generate-${days}d`, GENERATE_MS).then(() => undefined),
      ),
      pouch: await cached(ctx, `coldstart-pouch-${days}d`, (dir) =>
        worker(ctx, "coldstart", { mode: "pouch-generate", dir, days }, `coldstart-pouch-generate-${days}d`, GENERATE_MS).then(() => undefined),
      ),
    };
  }

  const push = (key: string, value: ColdStartResult) => (results[key] ??= []).push(value);
  if (ctx.prepareOnly) return preparedOnly("coldstart", "Terminal cold start to first sale");
  for (let run = 1; run <= ctx.runs; run++) {
    ctx.log(`cold start run ${run}/${ctx.runs}`);
    for (const days of [short, long]) {
      const dir = await freshCopy(ctx, data[days]!.mercora, `coldstart-mercora-${days}d`);
      push(`mercora-${days}`, await worker(ctx, "coldstart", { mode: "mercora", dir, days }, `coldstart-mercora-${days}d-${run}`, 15 * 60_000));
      const pouchDir = await freshCopy(ctx, data[days]!.pouch, `coldstart-pouch-${days}d`);
      push(`pouch-${days}`, await worker(ctx, "coldstart", { mode: "pouch", dir: pouchDir, days }, `coldstart-pouch-${days}d-${run}`, 15 * 60_000));
    }
    push("baseline", await worker(ctx, "coldstart", { mode: "baseline", dir: ctx.workDir, days: 0 }, `coldstart-baseline-${run}`, 60_000));
  }

  // One more start of the long history under the CPU profiler, kept out of the figures.
  let frames: TopFrame[] = [];
  if (!ctx.skipProfiles) {
    const profileDir = profileDirOf(ctx, "coldstart-profile");
    await rm(profileDir, { recursive: true, force: true });
    const profiled = await freshCopy(ctx, data[long]!.mercora, "coldstart-profile");
    await worker(ctx, "coldstart", { mode: "mercora", dir: profiled, days: long, profileDir }, "coldstart-profile", 15 * 60_000);
    frames = await topProductFrames(profileDir, 10);
  }
  const seconds = (key: string) => spread(results[key]!.map((r) => r.ms / 1000));
  const rss = (key: string) => spread(results[key]!.map((r) => r.peakRss));
  const shortTime = seconds(`mercora-${short}`);
  const rows: FigureRow[] = [short, long].map((days) => {
    const mercora = seconds(`mercora-${days}`);
    let label = `${days} days`;
    if (days === 7) label = "1 week";
    if (days === 365) label = "1 year";
    return {
      figure: "terminal cold start to first sale",
      metric: `${label} of history (4 terminals, 300 tickets a day each)`,
      unit: "s",
      mercora,
      pouch: seconds(`pouch-${days}`),
      limit: seconds("baseline"),
      limitName: "node start, `mercora terminal --help` from the bundle",
      goal: days === short ? "<= 1 s" : "<= 1 s, and no slower than 1 week",
      met: days === short ? mercora.median <= 1 : mercora.median <= 1 && mercora.median <= shortTime.median,
      peakRss: { mercora: rss(`mercora-${days}`), pouch: rss(`pouch-${days}`) },
      notes: [
        `Mercora was ready (its "terminal ready" line) after ${medianSeconds(results[`mercora-${days}`]!, "readyMs")} s ` +
          `and the cashier was signed in (the 201 of \`POST /sessions\`) after ${medianSeconds(results[`mercora-${days}`]!, "signedInMs")} s (medians)`,
      ],
    };
  });
  return {
    id: "coldstart",
    title: "Terminal cold start to first sale",
    method: [
      "Mercora: the clock starts when the bench spawns `bin/mercora.js terminal --data T1 ...` (LAN-only, no relay, as after a power cut with the uplink down) " +
        "and stops at the 201 of its first `POST /sales`, a 3-line ticket (its body built before the clock starts), sent once `POST /sessions` has signed the cashier in with their PIN. " +
        "The RSS column is that terminal process. Since commit b8561d6 `node` gets the terminal's flags (bin/node-flags.js), as a service manager would pass them. " +
        "Without them bin/mercora.js starts the terminal in a second process, which took about 85 ms more (`terminal --help`, 8 runs each way).",
      "History in T1's encrypted storage, written by a generator process through the product's document functions " +
        "(`initLedger`, `appendRecord` once per ticket, `registerLedger`): T1's own ledger for every day, " +
        "the other three terminals' ledgers of yesterday, every ledger of the four terminals listed in the branch directory, " +
        "every ticket folded into the stock baseline (`StockFold`, `writeBaselineStock`) and acknowledged in the ingest document, as the relay leaves them after a sync, " +
        "and T1's checkpoint (`DurableWrites`) with its issue counters. " +
        "Each ticket is priced, hash-chained, signed with the cashier's key (`sealRecord`) and carries its self-numbered folio (`nextFolio`), " +
        "so T1 verifies it at start as it verifies a record it synced. The generator then starts and stops T1 once, so it holds the catalog, " +
        "stock and directory snapshots that a terminal which ran before keeps.",
      "NOTE: the generator folds a year into the first stock baseline in one change; the relay rolls a fresh baseline every business day, " +
        "so a real baseline holds about as much history.",
      "PouchDB: one pouchdb-node database holding the same history as documents (4 terminals' tickets, as a replicated terminal would hold them); " +
        "the clock runs from spawning a process that opens it, calls `db.info()` and makes one durable `db.put` of a sale priced before the clock starts, until it prints that the sale is stored.",
      "Limit: the time to start Node.js and print `mercora terminal --help` from the bundled command (`dist/cli`, which `npm run bench` builds first), which every cold start pays first.",
      long === 365 ? "This run compares 1 week with 1 year." : `This run compares 1 week with ${long} days; the goal is stated for 1 year (365 days).`,
    ],
    rows,
    findings: [
      ...(frames.length > 0
        ? [
            `CPU profile of the terminal starting with ${long} days of history, product frames by total time (share of all samples, including idle): ` +
              `${frames.map((f) => `${f.frame} ${f.percent}%`).join("; ")}.`,
          ]
        : []),
    ],
    commands: options.coldStartDays ? [`--coldstart-days ${long}`] : [],
  };
}
