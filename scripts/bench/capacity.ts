/**
 * Worker for the relay capacity figure. Modes:
 * - `generate`: a relay with `stores` branches of 4 terminals each and the
 *   real catalog, created through the HQ API, with a device key activated
 *   for every terminal.
 * - `mercora`: starts a `mercora relay` process on a copy of that data,
 *   splits the stores over `generators` load-generator processes
 *   (capacity-load.ts), runs the soak, and samples the relay's RSS and CPU
 *   time every `sampleMs` from /proc.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { startMercora } from "../lib/processes.ts";
import { buildBranch, devicesPath, storeIds } from "./lib/fixture.ts";
import { freePort } from "./lib/store-procs.ts";
import { ROOT, nowMs, peakRssOf, rssOf, sleep } from "./lib/stats.ts";
import { workerMain } from "./lib/worker.ts";

interface Input {
  mode: "generate" | "mercora";
  dir: string;
  stores: number;
  durationMs?: number;
  generators?: number;
  sampleMs?: number;
  reportMs?: number;
  rampMs?: number;
}

export interface IntervalReport {
  atMs: number;
  written: number;
  acknowledged: number;
  outstanding: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

export interface CapacityResult {
  stores: number;
  terminals: number;
  connectFailures: number;
  relayStartMs: number;
  connectMs: number;
  written: number;
  acknowledged: number;
  outstanding: number;
  /** Lag from write to ackedSeq per report interval, merged over generators by taking the worst. */
  intervals: IntervalReport[];
  rss: { atMs: number; rss: number; cpuPercent: number }[];
  peakRss: number;
}

const TERMINALS = ["T1", "T2", "T3", "T4"];

/** CPU time (user + system) of a process in clock ticks, from /proc/PID/stat. */
function cpuTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return Number.NaN;
  }
}

async function measure(input: Input): Promise<CapacityResult> {
  const durationMs = input.durationMs ?? 120_000;
  const generatorCount = input.generators ?? 4;
  const port = await freePort();
  const t0 = nowMs();
  const relay = await startMercora(
    "relay",
    ["relay", "--data", join(input.dir, "relay"), "--listen", `127.0.0.1:${port}`],
    join(input.dir, "logs", "relay.log"),
    30 * 60_000,
  );
  const relayStartMs = nowMs() - t0;
  const pid = relay.child.pid!;
  const state = JSON.parse(await readFile(join(input.dir, "relay", "relay.json"), "utf8")) as {
    branches: Record<string, { directoryUrl: string; ingestUrl: string; terminals: string[] }>;
  };
  const branches = Object.entries(state.branches).map(([id, b]) => ({ id, directoryUrl: b.directoryUrl, ingestUrl: b.ingestUrl, terminals: b.terminals }));
  const children: ChildProcess[] = [];
  const rss: CapacityResult["rss"] = [];
  let sampling = true;
  const sampler = (async () => {
    let lastTicks = cpuTicks(pid);
    let lastAt = nowMs();
    const start = nowMs();
    while (sampling) {
      await sleep(input.sampleMs ?? 10_000);
      const ticks = cpuTicks(pid);
      const at = nowMs();
      // Linux reports CPU time in 100 ticks per second.
      rss.push({ atMs: at - start, rss: rssOf(pid), cpuPercent: ((ticks - lastTicks) / 100 / ((at - lastAt) / 1000)) * 100 });
      lastTicks = ticks;
      lastAt = at;
    }
  })();
  try {
    const reports: { connected: { terminals: number; failures: number; ms: number }[]; intervals: IntervalReport[][]; finals: IntervalReport[] } = {
      connected: [],
      intervals: [],
      finals: [],
    };
    const done: Promise<void>[] = [];
    for (let g = 0; g < generatorCount; g++) {
      const share = branches.filter((_, i) => i % generatorCount === g);
      if (share.length === 0) continue;
      const args = {
        relayUrl: relay.ready.http,
        devicesPath: devicesPath(input.dir),
        branches: share,
        durationMs,
        ticketsPerMinute: 1,
        reportMs: input.reportMs ?? 60_000,
        rampMs: input.rampMs ?? 60_000,
      };
      const child = spawn(process.execPath, ["--max-old-space-size=4096", "--import", "tsx", join(ROOT, "scripts", "bench", "capacity-load.ts"), JSON.stringify(args)], {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
      });
      children.push(child);
      const own: IntervalReport[] = [];
      reports.intervals.push(own);
      const lines = createInterface({ input: child.stdout! });
      lines.on("line", (line) => {
        try {
          const parsed = JSON.parse(line) as { type: string } & IntervalReport & { terminals: number; failures: number; ms: number };
          if (parsed.type === "connected") reports.connected.push(parsed);
          if (parsed.type === "interval") own.push(parsed);
          if (parsed.type === "final") reports.finals.push(parsed);
        } catch {
          // Not a report line.
        }
      });
      done.push(new Promise((resolve, reject) => child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`load generator ${g} exited with code ${code}`))))));
    }
    await Promise.all(done);
    const intervals: IntervalReport[] = [];
    // A generator that saw no acknowledgement in an interval reports no lag for it, which is not a lag of zero.
    const worst = (values: (number | null)[]) => {
      const known = values.filter((value): value is number => value !== null && Number.isFinite(value));
      return known.length > 0 ? Math.max(...known) : null;
    };
    const length = Math.max(0, ...reports.intervals.map((r) => r.length));
    for (let i = 0; i < length; i++) {
      const row = reports.intervals.map((r) => r[i]).filter((r): r is IntervalReport => r !== undefined);
      intervals.push({
        atMs: Math.max(...row.map((r) => r.atMs)),
        written: row.reduce((s, r) => s + r.written, 0),
        acknowledged: row.reduce((s, r) => s + r.acknowledged, 0),
        outstanding: row.reduce((s, r) => s + r.outstanding, 0),
        p50: worst(row.map((r) => r.p50)),
        p99: worst(row.map((r) => r.p99)),
        max: worst(row.map((r) => r.max)),
      });
    }
    return {
      stores: branches.length,
      terminals: reports.connected.reduce((s, r) => s + r.terminals, 0),
      connectFailures: reports.connected.reduce((s, r) => s + r.failures, 0),
      relayStartMs,
      connectMs: Math.max(0, ...reports.connected.map((r) => r.ms)),
      written: reports.finals.reduce((s, r) => s + r.written, 0),
      acknowledged: reports.finals.reduce((s, r) => s + r.acknowledged, 0),
      outstanding: reports.finals.reduce((s, r) => s + r.outstanding, 0),
      intervals,
      rss,
      peakRss: peakRssOf(pid),
    };
  } finally {
    sampling = false;
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
    await relay.stop(10_000);
    await sampler;
  }
}

workerMain<Input, unknown>(async (input) => {
  switch (input.mode) {
    case "generate": {
      const started = nowMs();
      await buildBranch(input.dir, TERMINALS, storeIds(input.stores));
      return { ms: nowMs() - started };
    }
    case "mercora":
      return measure(input);
  }
}, 3 * 3_600_000);
