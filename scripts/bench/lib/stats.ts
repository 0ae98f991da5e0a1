import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import type { Hash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..", "..");

/** Value at quantile `q` (0..1) of the samples, by the nearest-rank method. */
export function percentile(samples: number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number;
}

/** Median, min and max of one figure over several runs. */
export function spread(values: number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  return {
    median: percentile(finite, 0.5),
    min: finite.length ? Math.min(...finite) : Number.NaN,
    max: finite.length ? Math.max(...finite) : Number.NaN,
    runs: finite.length,
  };
}

/** Peak resident set size of this process in bytes (getrusage ru_maxrss). */
export function ownPeakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Clock ticks a second in /proc times (`getconf CLK_TCK`), 100 on the machines the bench has run on. */
const CLOCK_TICKS = 100;

/**
 * CPU time in milliseconds that another process has used so far, user and
 * system, all threads, from /proc/PID/stat (Linux only). Returns NaN when
 * the process is gone.
 */
export function cpuMsOf(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    // The command name may contain spaces and parentheses, so the fields after its last ")" start at the state
    // (field 3), and utime and stime (fields 14 and 15) are at indexes 11 and 12.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/**
 * Peak resident set size of another process in bytes, from VmHWM in
 * /proc/PID/status (Linux only). Returns NaN when the process is gone.
 */
export function peakRssOf(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** Current resident set size of another process in bytes, from VmRSS in /proc/PID/status. */
export function rssOf(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function packageVersion(path: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, "node_modules", path, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

/** Versions of the packages whose speed the figures depend on, as installed under node_modules. */
export function packageVersions(): Record<string, string> {
  return {
    "@automerge/automerge": packageVersion("@automerge/automerge"),
    "@automerge/automerge-repo": packageVersion("@automerge/automerge-repo"),
    "@automerge/automerge-repo-network-websocket": packageVersion("@automerge/automerge-repo-network-websocket"),
    ws: packageVersion("ws"),
    fastify: packageVersion("fastify"),
    "pouchdb-node": packageVersion("pouchdb-node"),
    "leveldown (pouchdb-node)": packageVersion("leveldown"),
    "pouchdb-server": packageVersion("pouchdb-server"),
  };
}

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  platform: string;
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  return {
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

/** Nanosecond-resolution clock in milliseconds. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Short hash of every product source file (packages/NAME/src) and of the
 * bench's generators and fixtures, so cached generated data is never
 * reused by a different version of the product or of its generator.
 */
export function dataFingerprint(): string {
  const hash = createHash("sha256");
  const packages = join(ROOT, "packages");
  for (const name of readdirSync(packages).sort()) hashSources(hash, join(packages, name, "src"), `${name}/`);
  // The generators and the fixtures they share decide what the cached data contains too.
  hashSources(hash, join(ROOT, "scripts", "lib"), "scripts/lib/");
  hashSources(hash, join(ROOT, "scripts", "bench"), "scripts/bench/", (file) => !file.startsWith("figures"));
  return hash.digest("hex").slice(0, 12);
}

/** Adds the path and content of every .ts file under `dir` (missing folders add nothing) to `hash`. */
function hashSources(hash: Hash, dir: string, prefix: string, keep: (file: string) => boolean = () => true): void {
  let files: string[];
  try {
    files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith(".ts") && keep(f)).sort();
  } catch {
    return;
  }
  for (const file of files) {
    hash.update(`${prefix}${file}\n`);
    hash.update(readFileSync(join(dir, file)));
  }
}

/** Reads the commit of the measured tree and lists its uncommitted changes under packages/. */
export function gitState(): { commit: string; productChanges: string[] } {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const status = execFileSync("git", ["status", "--short", "--", "packages"], { cwd: ROOT, encoding: "utf8" });
    return { commit, productChanges: status.split("\n").filter(Boolean) };
  } catch {
    return { commit: "unknown (not a git checkout)", productChanges: [] };
  }
}
