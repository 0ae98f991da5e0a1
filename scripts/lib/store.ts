import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { LinkProxy } from "./link-proxy.ts";
import { freePort } from "./ports.ts";
import { api, setBearer, startMercora, waitFor } from "./processes.ts";
import type { MercoraProcess } from "./processes.ts";

export interface BranchPlan {
  id: string;
  name: string;
  timeZone: string;
  terminals: string[];
  openingStock?: { default?: number; skus?: Record<string, number> };
  /** Users with PINs; every branch gets the test manager and cashier of `DEFAULT_USERS` unless told. */
  users?: { id: string; name: string; role: "cashier" | "manager"; pin: string }[];
  cashRoundingIncrement?: number;
  /** Extra flags for particular terminals, by terminal id. */
  terminalFlags?: Record<string, string[]>;
  /** Extra environment variables for particular terminals, by terminal id. */
  terminalEnv?: Record<string, Record<string, string>>;
  /** Fiscal numbering of the branch, as the relay's branch API takes it. */
  fiscal?: { scheme?: string; branchCode?: string; blockSize?: number; lowWater?: number };
}

/** A manager and a cashier that tests and the demo sign in with. */
export const DEFAULT_USERS: NonNullable<BranchPlan["users"]> = [
  { id: "gerente", name: "Ana Gerente", role: "manager", pin: "2468" },
  { id: "cajero", name: "Luis Cajero", role: "cashier", pin: "1357" },
];

export interface StorePlan {
  /** Folder that holds every process's data folder and log. */
  root: string;
  /** Catalog CSV text imported into the relay before branches are created. */
  catalogCsv: string;
  /** Country of the catalog's tax profile (default AR, as the bundled catalog). */
  country?: string;
  /** More catalog CSVs imported after the first, each with its own tax code. */
  extraCatalogs?: { csv: string; taxCode: string }[];
  branches: BranchPlan[];
  /** Extra flags for every terminal, e.g. faster connection checks in tests. */
  terminalFlags?: string[];
  relayPort?: number;
  readyTimeoutMs?: number;
}

export interface TerminalHandle {
  id: string;
  branch: string;
  dataDir: string;
  lanPort: number;
  process: MercoraProcess;
  /** Base URL of the terminal's HTTP API. */
  http: string;
}

/** Fast connection checks, so tests notice an outage within about a second. */
export const TEST_TERMINAL_FLAGS = ["--check-interval", "300", "--check-timeout", "1500", "--retry", "250", "--receipts", "file"];

/**
 * A whole store on this machine: a relay process, terminal processes, and a
 * link proxy for every network path between them. Each terminal reaches the
 * relay through its own WAN link and each pair of terminals of a branch
 * shares one LAN link (dialed by the terminal whose id sorts first), so a
 * test or the demo can cut any path and restore it.
 */
export class StoreHarness {
  relay!: MercoraProcess;
  relayUrl!: string;
  /** Token of the relay's HQ routes, read from its keystore. */
  hqToken!: string;
  readonly terminals = new Map<string, TerminalHandle>();
  readonly wan = new Map<string, LinkProxy>();
  readonly lan = new Map<string, LinkProxy>();
  readonly #plan: StorePlan;
  /** Every child process spawned, ready or not, so `stop()` ends those still starting too. */
  readonly #spawned = new Set<import("node:child_process").ChildProcess>();

  constructor(plan: StorePlan) {
    this.#plan = plan;
  }

  static key(branch: string, terminal: string): string {
    return `${branch}/${terminal}`;
  }

  async start(): Promise<void> {
    const plan = this.#plan;
    const relayPort = plan.relayPort ?? (await freePort());
    this.relay = await startMercora(
      "relay",
      ["relay", "--data", join(plan.root, "relay"), "--listen", `127.0.0.1:${relayPort}`],
      join(plan.root, "logs", "relay.log"),
      plan.readyTimeoutMs,
      (child) => this.#spawned.add(child),
    );
    this.relayUrl = this.relay.ready.http;
    this.hqToken = (await readFile(join(plan.root, "relay", "keystore", "hq.token"), "utf8")).trim();
    setBearer(this.relayUrl, this.hqToken);
    const imported = await api<{ imported: number; rejected: number }>(this.relayUrl, `/api/hq/catalog?country=${plan.country ?? "AR"}`, {
      rawBody: plan.catalogCsv,
      contentType: "text/csv",
      timeoutMs: 120_000,
    });
    if (imported.status !== 200 || imported.body.rejected > 0) {
      throw new Error(`Catalog import failed or rejected rows: ${JSON.stringify(imported.body).slice(0, 2000)}`);
    }
    for (const extra of plan.extraCatalogs ?? []) {
      const more = await api(this.relayUrl, `/api/hq/catalog?taxCode=${encodeURIComponent(extra.taxCode)}`, {
        rawBody: extra.csv,
        contentType: "text/csv",
      });
      if (more.status !== 200) throw new Error(`Catalog import failed: ${JSON.stringify(more.body)}`);
    }
    for (const branch of plan.branches) {
      const created = await api(this.relayUrl, "/api/hq/branches", {
        body: {
          id: branch.id,
          name: branch.name,
          timeZone: branch.timeZone,
          terminals: branch.terminals.map((id) => ({ id, name: `Caja ${id}` })),
          openingStock: branch.openingStock ?? { default: 0 },
          users: branch.users ?? DEFAULT_USERS,
          ...(branch.cashRoundingIncrement !== undefined ? { cashRoundingIncrement: branch.cashRoundingIncrement } : {}),
          ...(branch.fiscal ? { fiscal: branch.fiscal } : {}),
        },
        timeoutMs: 120_000,
      });
      if (created.status !== 201) throw new Error(`Branch ${branch.id} not created: ${JSON.stringify(created.body)}`);
    }
    for (const branch of plan.branches) {
      const lanPorts = new Map<string, number>();
      for (const id of branch.terminals) lanPorts.set(id, await freePort());
      for (const id of branch.terminals) {
        const wan = new LinkProxy(`wan ${branch.id}/${id}`, { host: "127.0.0.1", port: relayPort });
        await wan.open();
        this.wan.set(StoreHarness.key(branch.id, id), wan);
      }
      const sorted = [...branch.terminals].sort();
      for (let i = 0; i < sorted.length; i++) {
        for (let j = i + 1; j < sorted.length; j++) {
          const a = sorted[i]!;
          const b = sorted[j]!;
          const link = new LinkProxy(`lan ${branch.id}/${a}-${b}`, { host: "127.0.0.1", port: lanPorts.get(b)! });
          await link.open();
          this.lan.set(`${branch.id}/${a}-${b}`, link);
        }
      }
      await Promise.all(branch.terminals.map((id) => this.#startTerminal(branch, id, lanPorts.get(id)!, true)));
    }
  }

  /** Asks HQ for a one-time activation code of a terminal. */
  async enroll(branch: string, terminal: string): Promise<string> {
    const response = await api<{ code: string }>(this.relayUrl, `/api/hq/branches/${branch}/enrollments`, { body: { terminal } });
    if (response.status !== 201) throw new Error(`Enrollment of ${branch}/${terminal} failed: ${JSON.stringify(response.body)}`);
    return response.body.code;
  }

  /** Signs the branch's cashier in at a terminal, as a cashier does at the start of a shift. */
  async signIn(branch: string, id: string, user = "cajero", pin = "1357"): Promise<void> {
    const plan = this.#plan.branches.find((b) => b.id === branch)!;
    const cashier = (plan.users ?? DEFAULT_USERS).find((u) => u.id === user) ?? { id: user, pin };
    const response = await api(this.terminal(branch, id).http, "/sessions", { body: { user: cashier.id, pin: cashier.pin } });
    if (response.status !== 201) throw new Error(`Sign-in at ${branch}/${id} failed: ${JSON.stringify(response.body)}`);
  }

  #terminalArgs(branch: BranchPlan, id: string, lanPort: number, activationCode: string | null): string[] {
    const args = [
      "terminal",
      "--data", join(this.#plan.root, branch.id, id),
      "--branch", branch.id,
      "--terminal", id,
      "--relay", `http://127.0.0.1:${this.wan.get(StoreHarness.key(branch.id, id))!.port}`,
      "--lan-listen", `127.0.0.1:${lanPort}`,
      "--no-lan-discovery",
      ...(this.#plan.terminalFlags ?? []),
      ...(branch.terminalFlags?.[id] ?? []),
      ...(activationCode ? ["--activation-code", activationCode] : []),
    ];
    for (const other of branch.terminals) {
      if (other <= id) continue;
      const link = this.lan.get(`${branch.id}/${id}-${other}`)!;
      args.push("--lan-peer", `${other}=ws://127.0.0.1:${link.port}`);
    }
    return args;
  }

  async #startTerminal(branch: BranchPlan, id: string, lanPort: number, firstStart: boolean): Promise<TerminalHandle> {
    const code = firstStart ? await this.enroll(branch.id, id) : null;
    const process = await startMercora(
      `terminal ${branch.id}/${id}`,
      this.#terminalArgs(branch, id, lanPort, code),
      join(this.#plan.root, "logs", `${branch.id}-${id}.log`),
      this.#plan.readyTimeoutMs,
      (child) => this.#spawned.add(child),
      branch.terminalEnv?.[id],
    );
    const handle: TerminalHandle = {
      id,
      branch: branch.id,
      dataDir: join(this.#plan.root, branch.id, id),
      lanPort,
      process,
      http: process.ready.http,
    };
    this.terminals.set(StoreHarness.key(branch.id, id), handle);
    await this.signIn(branch.id, id);
    return handle;
  }

  terminal(branch: string, id: string): TerminalHandle {
    const handle = this.terminals.get(StoreHarness.key(branch, id));
    if (!handle) throw new Error(`No terminal ${branch}/${id} in this store`);
    return handle;
  }

  /** Kills a terminal with SIGKILL, as a power cut or a crash would. */
  async killTerminal(branch: string, id: string): Promise<void> {
    await this.terminal(branch, id).process.kill();
  }

  /** Starts a terminal again on the same data folder and ports. */
  async restartTerminal(branch: string, id: string): Promise<TerminalHandle> {
    const old = this.terminal(branch, id);
    await old.process.stop();
    const plan = this.#plan.branches.find((b) => b.id === branch)!;
    return this.#startTerminal(plan, id, old.lanPort, false);
  }

  /** Cuts the WAN link of every terminal of a branch, or of one terminal. */
  async cutWan(branch: string, terminal?: string): Promise<void> {
    for (const [key, link] of this.wan) {
      if (key === StoreHarness.key(branch, terminal ?? "") || (!terminal && key.startsWith(`${branch}/`))) await link.cut();
    }
  }

  async restoreWan(branch: string, terminal?: string): Promise<void> {
    for (const [key, link] of this.wan) {
      if (key === StoreHarness.key(branch, terminal ?? "") || (!terminal && key.startsWith(`${branch}/`))) await link.open();
    }
  }

  /** Cuts every LAN link of a branch, or only those of one terminal. */
  async cutLan(branch: string, terminal?: string): Promise<void> {
    for (const [key, link] of this.lan) {
      if (!key.startsWith(`${branch}/`)) continue;
      const pair = key.slice(branch.length + 1).split("-");
      if (!terminal || pair.includes(terminal)) await link.cut();
    }
  }

  async restoreLan(branch: string, terminal?: string): Promise<void> {
    for (const [key, link] of this.lan) {
      if (!key.startsWith(`${branch}/`)) continue;
      const pair = key.slice(branch.length + 1).split("-");
      if (!terminal || pair.includes(terminal)) await link.open();
    }
  }

  /** Cuts every link of a terminal: it is alone, with no LAN peer and no relay. */
  async isolate(branch: string, terminal: string): Promise<void> {
    await this.cutWan(branch, terminal);
    await this.cutLan(branch, terminal);
  }

  /** Restores every link of the store. */
  async reconnectAll(): Promise<void> {
    for (const link of [...this.wan.values(), ...this.lan.values()]) await link.open();
  }

  /** Waits until a terminal reports the expected connectivity mode. */
  async waitForMode(branch: string, id: string, mode: "online" | "offline" | "lan-only", timeoutMs = 20_000) {
    const handle = this.terminal(branch, id);
    return waitFor(`${branch}/${id} to be ${mode}`, async () => {
      const status = await api<{ mode: string }>(handle.http, "/status");
      return status.body.mode === mode ? status.body : undefined;
    }, timeoutMs);
  }

  /**
   * Waits until every terminal of a branch and the relay hold the same heads
   * for every document the relay holds, and every queue is empty.
   */
  async waitForConvergence(branch: string, timeoutMs = 60_000): Promise<void> {
    const plan = this.#plan.branches.find((b) => b.id === branch)!;
    await waitFor(`branch ${branch} to converge`, async () => {
      const relay = await api<{ heads: Record<string, string[]> }>(this.relayUrl, `/api/hq/branches/${branch}/replica`);
      for (const id of plan.terminals) {
        const handle = this.terminal(branch, id);
        const status = await api<{ pending: number }>(handle.http, "/status");
        if (status.body.pending !== 0) return undefined;
        const replica = await api<{ heads: Record<string, string[]> }>(handle.http, "/replica");
        for (const [doc, heads] of Object.entries(replica.body.heads)) {
          const relayHeads = relay.body.heads[doc];
          if (!relayHeads || [...relayHeads].sort().join() !== [...heads].sort().join()) return undefined;
        }
      }
      return true;
    }, timeoutMs, 300);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.terminals.values()].map((t) => t.process.stop(3000)));
    await this.relay?.stop(3000);
    for (const child of this.#spawned) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    for (const link of [...this.wan.values(), ...this.lan.values()]) await link.cut();
  }
}
