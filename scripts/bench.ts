/**
 * `npm run bench [-- --quick] [--only sale-ack,lan,...] [--runs N] [--profile]`
 * measures Mercora next to PouchDB and the physical limits, in fresh
 * processes, and writes docs/benchmarks.md. That page describes each figure.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { BenchContext, FigureResult } from "./bench/lib/context.ts";
import { mergeReport, renderTable } from "./bench/lib/report.ts";
import type { BenchReport } from "./bench/lib/report.ts";
import { ROOT, gitState, machineInfo, packageVersions } from "./bench/lib/stats.ts";
import { buildCli } from "./build-cli.ts";
import { capacityFigure } from "./bench/figures/capacity.ts";
import { catchupFigure } from "./bench/figures/catchup.ts";
import { coldStartFigure } from "./bench/figures/coldstart.ts";
import { lanFigure } from "./bench/figures/lan.ts";
import { saleAckFigure } from "./bench/figures/sale-ack.ts";

interface FigureOptions {
  stores?: number;
  soakMinutes?: number;
  ackHistory?: number;
  coldStartDays?: number;
}

const FIGURES: Record<string, (ctx: BenchContext, options: FigureOptions) => Promise<FigureResult>> = {
  "sale-ack": saleAckFigure,
  lan: lanFigure,
  catchup: catchupFigure,
  coldstart: coldStartFigure,
  capacity: capacityFigure,
};

const FIGURE_ORDER = Object.keys(FIGURES);

const USAGE = `Usage: npm run bench -- [options]

Options:
  --quick          smaller histories, fewer samples and a 1-minute soak
  --only LIST      comma-separated figures to run: ${Object.keys(FIGURES).join(", ")}
  --runs N         runs per figure (default: 3 with --quick, 5 otherwise)
  --prepare        only generate the data the figures need (cached on tmpfs), measure nothing
  --skip-profiles  skip the extra CPU-profiled run of each figure
  --profile        also write a CPU profile of every bench worker under the log folder
  --write          write docs/benchmarks.md even when --only is given
  --capacity-stores N  stores in the relay capacity figure (default: 50 with --quick, 1000 otherwise)
  --soak-minutes N     length of the relay capacity soak in minutes (default: 1 with --quick, 60 otherwise)
  --ack-history N      tickets of history in the sale acknowledgement figure (default: 5000 with --quick, 50000 otherwise)
  --coldstart-days N   days of history in the long cold start (default: 30 with --quick, 365 otherwise)
`;

function loadAverage(): number[] {
  return os.loadavg().map((v) => Math.round(v * 100) / 100);
}

function positiveInteger(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new Error(`${flag} must be a whole number of at least 1, got ${value}`);
  return number;
}

interface Settings {
  ctx: BenchContext;
  selected: string[];
  only: boolean;
  write: boolean;
  figureOptions: FigureOptions;
  base: string;
}

/** Parses the command line into the bench settings, or returns null after printing the help. */
function parseSettings(): Settings | null {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" },
      only: { type: "string" },
      runs: { type: "string" },
      profile: { type: "boolean" },
      prepare: { type: "boolean" },
      "skip-profiles": { type: "boolean" },
      write: { type: "boolean" },
      "capacity-stores": { type: "string" },
      "soak-minutes": { type: "string" },
      "ack-history": { type: "string" },
      "coldstart-days": { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return null;
  }
  const selected = values.only ? values.only.split(",") : Object.keys(FIGURES);
  for (const name of selected) {
    if (!FIGURES[name]) throw new Error(`Unknown figure ${name}; choose from ${Object.keys(FIGURES).join(", ")}`);
  }
  const quick = values.quick ?? false;
  const defaultRuns = quick ? 3 : 5;
  const runs = values.runs ? Number(values.runs) : defaultRuns;
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new Error(`--runs must be a whole number from 1 to 50, got ${values.runs}`);

  const figureOptions: FigureOptions = {};
  if (values["capacity-stores"]) figureOptions.stores = positiveInteger(values["capacity-stores"], "--capacity-stores");
  if (values["soak-minutes"]) figureOptions.soakMinutes = positiveInteger(values["soak-minutes"], "--soak-minutes");
  if (values["ack-history"]) figureOptions.ackHistory = positiveInteger(values["ack-history"], "--ack-history");
  if (values["coldstart-days"]) figureOptions.coldStartDays = positiveInteger(values["coldstart-days"], "--coldstart-days");

  const base = join(os.tmpdir(), "mercora-bench");
  const ctx: BenchContext = {
    quick,
    runs,
    workDir: join(base, "work"),
    cacheDir: existsSync("/dev/shm") ? join("/dev/shm", "mercora-bench-cache") : join(base, "cache"),
    logDir: join(base, "logs", new Date().toISOString().replace(/[:.]/g, "-")),
    profile: values.profile ?? false,
    prepareOnly: values.prepare ?? false,
    skipProfiles: values["skip-profiles"] ?? false,
    log: (message) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`),
  };
  return { ctx, selected, only: values.only !== undefined, write: values.write ?? false, figureOptions, base };
}

/** Runs the selected figures one after another; a figure that fails is listed in the report and the others still run. */
async function runFigures(settings: Settings, report: BenchReport): Promise<void> {
  const { ctx } = settings;
  for (const name of settings.selected) {
    ctx.log(`figure ${name}: start (load average ${os.loadavg()[0]!.toFixed(2)})`);
    const startedAt = new Date().toISOString();
    const loadBefore = loadAverage();
    try {
      const figure = await FIGURES[name]!(ctx, settings.figureOptions);
      report.figures.push({
        ...figure,
        startedAt,
        loadBefore,
        loadAfter: loadAverage(),
        command: report.command,
        commit: report.git.commit,
        uncommittedChanges: report.git.productChanges.length,
      });
    } catch (error) {
      ctx.log(`figure ${name} failed: ${(error as Error).stack}`);
      report.failures.push({ figure: name, error: (error as Error).message });
    }
  }
}

/**
 * Keeps the figures of the last run of the same mode that this run did not
 * measure, each with its own date and load, so `--only` runs add up.
 */
async function mergeWithLast(settings: Settings, report: BenchReport): Promise<void> {
  const lastPath = join(settings.base, `last-${report.mode}.json`);
  if (settings.only && existsSync(lastPath)) {
    const last = JSON.parse(await readFile(lastPath, "utf8")) as BenchReport;
    const measured = new Set(report.figures.map((f) => f.id));
    const kept = last.figures.filter((f) => !measured.has(f.id));
    report.figures = [...kept, ...report.figures].sort((a, b) => FIGURE_ORDER.indexOf(a.id) - FIGURE_ORDER.indexOf(b.id));
    // Lists the commands in the order their figures were measured. A kept figure from before figures recorded their
    // command counts as the whole earlier chain.
    const byStart = [...report.figures].sort((a, b) => (a.startedAt ?? "").localeCompare(b.startedAt ?? ""));
    report.command = [...new Set(byStart.map((f) => f.command ?? last.command))].join(", then ");
    report.startedAt = last.startedAt < report.startedAt ? last.startedAt : report.startedAt;
    report.loadBefore = last.loadBefore;
  }
  await writeFile(lastPath, JSON.stringify(report, null, 2));
}

async function main(): Promise<void> {
  const settings = parseSettings();
  if (!settings) return;
  const { ctx } = settings;
  await mkdir(ctx.logDir, { recursive: true });

  // The terminals the bench spawns run the bundled command, as `npm start` does.
  await buildCli();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`;
  ctx.log(`${command}: ${ctx.runs} runs per figure; logs in ${ctx.logDir}`);
  const report: BenchReport = {
    mode: ctx.quick ? "quick" : "full",
    command,
    startedAt: new Date().toISOString(),
    finishedAt: "",
    machine: machineInfo(),
    loadBefore: loadAverage(),
    loadAfter: [],
    versions: packageVersions(),
    git: gitState(),
    figures: [],
    failures: [],
  };

  await runFigures(settings, report);
  report.finishedAt = new Date().toISOString();
  report.loadAfter = loadAverage();
  await writeFile(join(ctx.logDir, "report.json"), JSON.stringify(report, null, 2));
  if (ctx.prepareOnly) return;

  await mergeWithLast(settings, report);
  process.stdout.write(`\n${renderTable(report.figures)}\n\n`);
  process.stdout.write(`load average before: ${report.loadBefore.join(", ")}; after: ${report.loadAfter.join(", ")}\n`);
  if (!settings.only || settings.write) {
    const path = join(ROOT, "docs", "benchmarks.md");
    const previous = existsSync(path) ? await readFile(path, "utf8") : "";
    await writeFile(path, mergeReport(previous, report));
    process.stdout.write(`wrote the ${report.mode} section of docs/benchmarks.md\n`);
  }
  if (report.failures.length > 0) process.exitCode = 1;
}

await main();
