import { join } from "node:path";
import { LinkProxy } from "../../lib/link-proxy.ts";
import { freePort } from "../../lib/ports.ts";
import { startMercora } from "../../lib/processes.ts";
import type { MercoraProcess } from "../../lib/processes.ts";
import { BRANCH, signInCashier, startRelay } from "./fixture.ts";
import { peakRssOf } from "./stats.ts";

export { freePort };

const PROFILE_PRELOAD = join(import.meta.dirname, "cpu-profile-preload.mjs");

/**
 * Runs `start` with NODE_OPTIONS set, so the processes it spawns write a
 * CPU profile to `profileDir` when they exit. Without a folder it only runs `start`.
 */
export async function withCpuProfile<T>(profileDir: string | undefined, start: () => Promise<T>): Promise<T> {
  if (!profileDir) return start();
  const before = { options: process.env.NODE_OPTIONS, dir: process.env.MERCORA_BENCH_PROFILE_DIR };
  process.env.NODE_OPTIONS = `${before.options ?? ""} --import ${PROFILE_PRELOAD}`.trim();
  process.env.MERCORA_BENCH_PROFILE_DIR = profileDir;
  try {
    return await start();
  } finally {
    restoreEnv("NODE_OPTIONS", before.options);
    restoreEnv("MERCORA_BENCH_PROFILE_DIR", before.dir);
  }
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/**
 * Relay and terminal processes (`bin/mercora.js`) on data folders made by
 * `buildBranch`, each terminal reaching the relay through its own
 * `LinkProxy`, which counts the bytes it forwards. Unlike `StoreHarness`,
 * it creates nothing: it opens what a generator process left.
 */
export class BenchStore {
  relay: MercoraProcess | null = null;
  relayPort = 0;
  readonly wan = new Map<string, LinkProxy>();
  readonly terminals = new Map<string, MercoraProcess>();

  constructor(
    readonly root: string,
    readonly terminalIds: string[],
  ) {}

  /** Starts the relay; with `profileDir` it runs under `node --cpu-prof` and writes its profile there on exit. */
  async startRelay(profileDir?: string): Promise<string> {
    this.relayPort = await freePort();
    this.relay = await withCpuProfile(profileDir, () => startRelay(join(this.root, "relay"), this.relayPort, join(this.root, "logs", "relay.log")));
    return this.relay.ready.http;
  }

  /** Creates every WAN link, cut, so terminals start offline; `openWan` connects them all at once. */
  async createWan(): Promise<void> {
    for (const id of this.terminalIds) {
      const link = new LinkProxy(`wan ${id}`, { host: "127.0.0.1", port: this.relayPort });
      await link.open();
      await link.cut();
      this.wan.set(id, link);
    }
  }

  async openWan(): Promise<void> {
    await Promise.all([...this.wan.values()].map((link) => link.open()));
  }

  wanBytes(): number {
    let total = 0;
    for (const link of this.wan.values()) total += link.bytesForwarded;
    return total;
  }

  resetWanBytes(): void {
    for (const link of this.wan.values()) link.bytesForwarded = 0;
  }

  /** Starts every terminal with the CLI's default connection settings and no LAN peer, and signs its cashier in. */
  async startTerminals(extraFlags: string[] = []): Promise<void> {
    await Promise.all(
      this.terminalIds.map(async (id) => {
        const link = this.wan.get(id);
        const args = [
          "terminal",
          "--data", join(this.root, id),
          "--branch", BRANCH,
          "--terminal", id,
          "--lan-listen", "127.0.0.1:0",
          "--no-lan-discovery",
          ...(link ? ["--relay", `http://127.0.0.1:${link.port}`] : []),
          ...extraFlags,
        ];
        const process = await startMercora(`terminal ${id}`, args, join(this.root, "logs", `${id}.log`), 120_000);
        this.terminals.set(id, process);
        await signInCashier(process.ready.http);
      }),
    );
  }

  /** Peak RSS in bytes of the relay and of each terminal process, read before they stop. */
  peakRss(): { relay: number; terminals: number[] } {
    return {
      relay: peakRssOf(this.relay?.child.pid),
      terminals: [...this.terminals.values()].map((t) => peakRssOf(t.child.pid)),
    };
  }

  async stop(): Promise<void> {
    await Promise.all([...this.terminals.values()].map((t) => t.stop(5000)));
    await this.relay?.stop(5000);
    for (const link of this.wan.values()) await link.cut();
  }
}
