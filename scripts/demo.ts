/**
 * Demonstration store on this machine (`npm start`). A relay and two branches
 * with four terminals replay a real sales trace against the real catalog. Branch
 * A loses its WAN for part of the time, two of its terminals sell the same last
 * unit, and the store converges after the WAN returns. The demonstration prints
 * a summary and exits non-zero when a replica disagrees with the relay, a branch
 * does not converge, or the expected oversell conflict is missing.
 */
import { mkdir, mkdtemp, readdir } from "node:fs/promises";
import { constants as osConstants, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { StoreHarness } from "./lib/store.ts";
import {
  CONTESTED_BRANCH,
  CONTESTED_OPENING_STOCK,
  DEMO_BRANCHES,
  DEMO_TERMINALS,
  MAX_LINES_PER_TICKET,
  MAX_UNITS_PER_LINE,
  OPENING_STOCK,
  formatPesos,
  planDemo,
  terminalLabel,
} from "./lib/demo-plan.ts";
import type { DemoPlan } from "./lib/demo-plan.ts";
import { Replay, Reporter, announceTraceDays, reportProgress, runOutage } from "./lib/demo-selling.ts";
import { screenLinks, summarize } from "./lib/demo-summary.ts";

const USAGE = `Usage: npm start -- [options]

Runs a demonstration store on this machine: a relay, branch A (terminals T1, T2,
T3) and branch B (terminal T1), replaying a real sales trace while branch A's
WAN is down for part of the selling time. Stops every process when it ends.

Options:
  --data-dir DIR      folder for every process's data and logs; must be new or empty
                      (default: a new folder under ${tmpdir()})
  --duration SECONDS  selling time in seconds, 10 to 3600 (default: 80)
  --tickets N         maximum number of trace tickets to replay (default: 6 per second
                      of selling time, which is the whole trace at 80 s)
  --keep-running      keep the store running after the summary until Ctrl-C
  --help              print this help
`;

/** Part of the selling time, as fractions, during which branch A's WAN is down. */
const OUTAGE_START = 0.3;
const OUTAGE_END = 0.65;
/** Extra time after the selling time for terminals that fell behind their tickets. */
const REPLAY_GRACE_MS = 15_000;
/**
 * Connection checks every 300 ms, so a cut WAN link is noticed within about half
 * a second, because the cut link refuses connections at once. The check timeout
 * is 2 s rather than the 250 ms of TEST_TERMINAL_FLAGS. With 250 ms, checks of
 * the relay's /health timed out under the replay's load on a 2-core machine, and
 * terminals switched offline with the WAN up.
 */
const DEMO_TERMINAL_FLAGS = ["--check-interval", "300", "--check-timeout", "2000", "--retry", "250", "--receipts", "file"];

interface DemoOptions {
  dataDir: string | null;
  durationMs: number;
  maxTickets: number | null;
  keepRunning: boolean;
}

/** Parses the command line, or prints the help and returns null. Throws on an invalid option. */
function parseOptions(argv: string[]): DemoOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      "data-dir": { type: "string" },
      duration: { type: "string" },
      tickets: { type: "string" },
      "keep-running": { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return null;
  }
  const duration = Number(values.duration ?? 80);
  if (!Number.isFinite(duration) || duration < 10 || duration > 3600) {
    throw new Error(`--duration ${values.duration} is invalid; pass a number of seconds from 10 to 3600`);
  }
  let maxTickets: number | null = null;
  if (values.tickets !== undefined) {
    maxTickets = Number(values.tickets);
    if (!Number.isSafeInteger(maxTickets) || maxTickets < 1) {
      throw new Error(`--tickets ${values.tickets} is invalid; pass a whole number of tickets of at least 1`);
    }
  }
  return {
    dataDir: values["data-dir"] ?? null,
    durationMs: Math.round(duration * 1000),
    maxTickets,
    keepRunning: values["keep-running"] === true,
  };
}

/** Creates the data folder: a new temporary folder, or the given one if it is new or empty. */
async function prepareDataDir(requested: string | null): Promise<string> {
  if (requested === null) return mkdtemp(join(tmpdir(), "mercora-demo-"));
  const dir = resolve(requested);
  await mkdir(dir, { recursive: true });
  const entries = await readdir(dir);
  if (entries.length > 0) {
    throw new Error(
      `Data folder ${dir} is not empty (it contains ${entries.slice(0, 3).join(", ")}${entries.length > 3 ? ", ..." : ""}); ` +
        "pass a new or empty folder with --data-dir, or omit it to use a new temporary folder",
    );
  }
  return dir;
}

/** Returns "1 ticket" or "N tickets". */
function tickets(count: number): string {
  return count === 1 ? "1 ticket" : `${count} tickets`;
}

function printPlan(plan: DemoPlan, options: DemoOptions, reporter: Reporter): void {
  const perTerminal = DEMO_TERMINALS.map(
    (terminal, index) => `${terminalLabel(terminal)} ${plan.tickets.filter((ticket) => ticket.terminal === index).length}`,
  );
  reporter.line(
    `Catalog: ${plan.products.size} products. Trace: ${plan.trace.tickets} tickets ` +
      `(${plan.trace.cancellations} cancelled invoices and ${plan.trace.skippedLines} non-product lines left out), ` +
      `${plan.trace.stockCodes} stock codes mapped onto catalog SKUs`,
  );
  reporter.line(
    `Replaying ${plan.tickets.length} tickets over ${options.durationMs / 1000} s ` +
      `(at most ${MAX_LINES_PER_TICKET} lines and ${MAX_UNITS_PER_LINE} units a line): ${perTerminal.join(", ")}` +
      (plan.overCap > 0 ? `; ${tickets(plan.overCap)} later in the trace left out by the ticket cap` : "") +
      (plan.emptied > 0 ? `; ${tickets(plan.emptied)} left out because all their SKUs reached the stock floor` : ""),
  );
  reporter.line(
    `Contested SKU ${plan.contested.sku} ${plan.contested.name} at ${formatPesos(plan.contested.price)}: ` +
      `opening stock ${CONTESTED_OPENING_STOCK} in branch ${CONTESTED_BRANCH}; every other SKU opens at ${OPENING_STOCK}`,
  );
}

/** Builds the store of the plan (not started): the real catalog and the plan's opening stock. */
function createStore(plan: DemoPlan, dataDir: string): StoreHarness {
  return new StoreHarness({
    root: dataDir,
    catalogCsv: plan.catalogCsv,
    branches: DEMO_BRANCHES.map((branch) => ({
      id: branch.id,
      name: branch.name,
      timeZone: branch.timeZone,
      terminals: [...branch.terminals],
      openingStock: {
        default: OPENING_STOCK,
        ...(branch.id === CONTESTED_BRANCH ? { skus: { [plan.contested.sku]: CONTESTED_OPENING_STOCK } } : {}),
      },
    })),
    terminalFlags: DEMO_TERMINAL_FLAGS,
  });
}

/** Opens the drawers, replays the trace with the outage in the middle, and closes the drawers. */
async function sell(store: StoreHarness, plan: DemoPlan, options: DemoOptions, reporter: Reporter) {
  const replay = new Replay(store, plan, reporter);
  await replay.openDrawers();
  const startedAt = Date.now();
  reporter.line(`Selling starts: ${options.durationMs / 1000} s, onto which the trace's ${plan.days.length} trading days are compressed`);
  const replayDone = replay.run(startedAt, startedAt + options.durationMs + REPLAY_GRACE_MS);
  const outageDone = runOutage(store, replay, plan, reporter, {
    cutAt: startedAt + options.durationMs * OUTAGE_START,
    restoreAt: startedAt + options.durationMs * OUTAGE_END,
  });
  const done = Promise.all([replayDone, outageDone]);
  const progress = reportProgress(replay, reporter, startedAt, options.durationMs, done);
  const days = announceTraceDays(plan, reporter, startedAt, done);
  const [, outage] = await done;
  await Promise.all([progress, days]);
  const notRung = replay.tallies.reduce((sum, tally) => sum + tally.notRung, 0);
  reporter.line(`Selling done in ${((Date.now() - startedAt) / 1000).toFixed(1)} s` + (notRung > 0 ? `; ${tickets(notRung)} not rung up in time` : ""));
  await replay.closeDrawers();
  return { replay, outage };
}

function printResult(failures: string[]): void {
  if (failures.length === 0) {
    process.stdout.write("\nResult: OK\n");
    return;
  }
  process.stdout.write(`\nResult: FAILED\n${failures.map((failure) => `  - ${failure}\n`).join("")}`);
}

/** Prints the screens' URLs and waits for SIGINT or SIGTERM (Ctrl-C) while the store keeps running. */
function keepRunning(store: StoreHarness, replay: Replay, reporter: Reporter): Promise<void> {
  reporter.line("Store keeps running. Press Ctrl-C to stop it. Open the screens in a browser:");
  for (const line of screenLinks(store, replay)) reporter.line(`  ${line}`);
  return new Promise((resolveSignal) => {
    process.once("SIGINT", () => resolveSignal());
    process.once("SIGTERM", () => resolveSignal());
  });
}

/** Error in the command line or the data folder, which exits with code 2. */
class UsageError extends Error {}

async function main(): Promise<number> {
  let options: DemoOptions | null;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}; run "npm start -- --help" for the options`);
  }
  if (!options) return 0;
  const reporter = new Reporter();
  const dataDir = await prepareDataDir(options.dataDir).catch((error: Error) => {
    throw new UsageError(error.message);
  });
  reporter.line(`Data folder: ${dataDir}`);
  const plan = await planDemo({ durationMs: options.durationMs, maxTickets: options.maxTickets });
  printPlan(plan, options, reporter);

  const store = createStore(plan, dataDir);
  let stopping: Promise<void> | null = null;
  const stopStore = () => {
    stopping ??= store.stop().catch((error) => reporter.line(`Stopping the store failed: ${(error as Error).message}`));
    return stopping;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    reporter.line(`${signal} received; stopping every process`);
    void stopStore().then(() => {
      reporter.line("Every process stopped");
      process.exit(128 + (osConstants.signals[signal] ?? 1));
    });
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    reporter.line("Starting the relay, importing the catalog and starting 4 terminals");
    await store.start();
    reporter.line(`Store started: relay ${store.relayUrl}, HQ dashboard ${store.relayUrl}/hq?token=${encodeURIComponent(store.hqToken)}`);
    const { replay, outage } = await sell(store, plan, options, reporter);
    const failures = await summarize(store, plan, replay, outage, reporter, dataDir);
    printResult(failures);
    if (options.keepRunning) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await keepRunning(store, replay, reporter);
    }
    return failures.length === 0 ? 0 : 1;
  } finally {
    reporter.line("Stopping every process");
    await stopStore();
    reporter.line(`Finished after ${reporter.elapsedSeconds().toFixed(1)} s`);
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`demo: ${error.message}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
