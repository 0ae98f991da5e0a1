import { cp, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { TERMINAL_NODE_FLAGS } from "../../../bin/node-flags.js";
import { runWorker } from "./worker.ts";
import { dataFingerprint } from "./stats.ts";
import type { Spread } from "./stats.ts";

/** Settings and folders shared by every figure of one `npm run bench`. */
export interface BenchContext {
  quick: boolean;
  /** Runs per figure; each run uses fresh processes. */
  runs: number;
  /** Folder on the disk under test for data that measured processes write. */
  workDir: string;
  /** Folder for generated data that later runs copy; on tmpfs when available, since generation speed is not measured. */
  cacheDir: string;
  logDir: string;
  profile: boolean;
  /** Skip the extra CPU-profiled run of each figure (its findings then have no profile). */
  skipProfiles: boolean;
  /** Only generate the cached data the figures need, and measure nothing. */
  prepareOnly: boolean;
  log(message: string): void;
}

/** One line of the results table: a Mercora figure next to PouchDB and the physical limit. */
export interface FigureRow {
  figure: string;
  metric: string;
  unit: string;
  mercora: Spread;
  pouch?: Spread;
  limit?: Spread;
  limitName?: string;
  goal: string;
  /** Whether the goal is met, or null when the row has no goal of its own. */
  met: boolean | null;
  peakRss: { mercora?: Spread; pouch?: Spread };
  notes: string[];
}

export interface FigureResult {
  id: string;
  title: string;
  /** When the figure started and the load average (1, 5, 15 min) before and after it; set by scripts/bench.ts. */
  startedAt?: string;
  loadBefore?: number[];
  loadAfter?: number[];
  /** The bench command and product commit that measured the figure, and the count of uncommitted changes under packages/ then. Set by scripts/bench.ts. */
  command?: string;
  commit?: string;
  uncommittedChanges?: number;
  method: string[];
  rows: FigureRow[];
  findings: string[];
  /** Options beyond `--only ID` that reproduce this figure, e.g. the capacity figure's store count. */
  commands: string[];
}

/** Returns the result of a figure run with `--prepare`, which generates its data and measures nothing. */
export function preparedOnly(id: string, title: string): FigureResult {
  return { id, title, method: ["Prepared only (`--prepare`): data generated, nothing measured."], rows: [], findings: [], commands: [] };
}

/**
 * Returns the folder of cached generated data named `name`, running
 * `generate` into it first unless a previous complete run left it there.
 */
export async function cached(ctx: BenchContext, name: string, generate: (dir: string) => Promise<void>): Promise<string> {
  const dir = join(ctx.cacheDir, `${name}-${dataFingerprint()}`);
  const marker = join(dir, ".complete");
  try {
    await stat(marker);
    ctx.log(`using cached ${name}`);
    return dir;
  } catch {
    // Not generated yet.
  }
  // Another bench run may be generating the same data: starting over would delete its folder.
  const lock = `${dir}.generating`;
  await mkdir(ctx.cacheDir, { recursive: true });
  const owner = Number(await readFile(lock, "utf8").catch(() => "0"));
  if (owner > 0 && owner !== process.pid && isAlive(owner)) {
    throw new Error(`Process ${owner} is generating ${dir}; wait for it to finish, or stop it and delete ${lock}`);
  }
  await writeFile(lock, String(process.pid));
  try {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    ctx.log(`generating ${name}`);
    await generate(dir);
    await writeFile(marker, new Date().toISOString());
  } finally {
    await rm(lock, { force: true });
  }
  return dir;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Copies cached data to a fresh folder on the disk under test for one run. */
export async function freshCopy(ctx: BenchContext, source: string, name: string): Promise<string> {
  const target = join(ctx.workDir, name);
  await rm(target, { recursive: true, force: true });
  await mkdir(ctx.workDir, { recursive: true });
  await cp(source, target, { recursive: true });
  return target;
}

/**
 * Bench workers that run a `Terminal` in their own process in mode
 * "mercora". They get the Node.js flags of `mercora terminal`, so sales run
 * there as in the terminal process. PouchDB's workers keep Node's defaults.
 */
const TERMINAL_WORKERS = new Set(["sale-ack", "lan"]);

/** Runs a bench worker with a CPU profile when `--profile` is set, under `logDir/profiles/NAME`. */
export function worker<T>(ctx: BenchContext, script: string, input: unknown, name: string, timeoutMs: number, profile = false): Promise<T> {
  const profileDir = join(ctx.logDir, "profiles", name);
  const terminalFlags = TERMINAL_WORKERS.has(script) && (input as { mode?: string }).mode === "mercora" ? TERMINAL_NODE_FLAGS : [];
  return runWorker<T>(script, input, {
    logPath: join(ctx.logDir, `${name}.log`),
    timeoutMs,
    nodeArgs: [...terminalFlags, ...(profile || ctx.profile ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [])],
  });
}

export function profileDirOf(ctx: BenchContext, name: string): string {
  return join(ctx.logDir, "profiles", name);
}
