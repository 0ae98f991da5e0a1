/**
 * The selling part of the demonstration: cash drawers, the trace replay on
 * every terminal, progress lines while it runs, and the WAN outage of branch A
 * in which two terminals sell the last unit of the contested SKU.
 */
import type { LedgerRecord, Tender } from "@mercora/crdt-model";
import { api } from "./processes.ts";
import type { StoreHarness, TerminalHandle } from "./store.ts";
import {
  CONTESTED_BRANCH,
  DEMO_BRANCHES,
  DEMO_TERMINALS,
  OPENING_FLOAT,
  cashKept,
  formatPesos,
  terminalLabel,
} from "./demo-plan.ts";
import type { DemoPlan, PlannedTicket } from "./demo-plan.ts";

const SALE_TIMEOUT_MS = 15_000;
const STATUS_TIMEOUT_MS = 5_000;
/** Rejections with one error code printed per terminal before the rest are only counted. */
const REJECTIONS_PRINTED = 3;

/** Printer of output lines that start with the time since the demonstration started. */
export class Reporter {
  readonly startedAt = Date.now();

  elapsedSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }

  line(message: string): void {
    process.stdout.write(`[${this.elapsedSeconds().toFixed(1).padStart(6)}s] ${message}\n`);
  }
}

/** Counts and money of one terminal's run. */
export interface TerminalTally {
  label: string;
  sold: number;
  /** Sales the terminal had already recorded under the same requestId (after a retried request). */
  duplicates: number;
  /** Sales the terminal rejected with HTTP 400 or 409. */
  rejected: number;
  rejectedByCode: Map<string, number>;
  /** Requests that failed twice on the network or with a server error. */
  failed: number;
  /** Planned tickets not rung up because the selling time was over. */
  notRung: number;
  /** Cash the sales left in the drawer, in centavos. */
  cash: number;
  /** True once the terminal recorded the opening float. */
  openingFloat: boolean;
  /** Closing count the terminal recorded, in centavos, or null. */
  closingCount: number | null;
  /** Units sold per SKU, from the records the terminal returned. */
  units: Map<string, number>;
}

type SaleOutcome =
  | { kind: "sold"; record: LedgerRecord; duplicate: boolean }
  | { kind: "rejected"; status: number; code: string; message: string }
  | { kind: "failed"; message: string };

interface SaleBody {
  lines: { sku: string; qty: number }[];
  tenders: Tender[];
  cashier: string;
  requestId: string;
}

/** Trace replay on the store's terminals, with a tally per terminal of every sale it sends. */
export class Replay {
  readonly tallies: TerminalTally[];
  readonly handles: TerminalHandle[];

  constructor(
    store: StoreHarness,
    private readonly plan: DemoPlan,
    private readonly reporter: Reporter,
  ) {
    this.handles = DEMO_TERMINALS.map((terminal) => store.terminal(terminal.branch, terminal.id));
    this.tallies = DEMO_TERMINALS.map((terminal) => ({
      label: terminalLabel(terminal),
      sold: 0,
      duplicates: 0,
      rejected: 0,
      rejectedByCode: new Map(),
      failed: 0,
      notRung: 0,
      cash: 0,
      openingFloat: false,
      closingCount: null,
      units: new Map(),
    }));
  }

  /** Records the opening float of every cash drawer. */
  async openDrawers(): Promise<void> {
    await Promise.all(
      this.handles.map(async (handle, index) => {
        this.tallies[index]!.openingFloat = await this.#cashMovement(handle, index, "opening-float", OPENING_FLOAT);
      }),
    );
    this.reporter.line(`Cash drawers opened with a float of ${formatPesos(OPENING_FLOAT)} each`);
  }

  /** Records the closing count of every drawer: the float plus the cash its sales left in it. */
  async closeDrawers(): Promise<void> {
    await Promise.all(
      this.handles.map(async (handle, index) => {
        const tally = this.tallies[index]!;
        const amount = (tally.openingFloat ? OPENING_FLOAT : 0) + tally.cash;
        if (await this.#cashMovement(handle, index, "closing-count", amount)) tally.closingCount = amount;
      }),
    );
    this.reporter.line("Cash drawers closed with a closing count each");
  }

  async #cashMovement(handle: TerminalHandle, index: number, reason: string, amount: number): Promise<boolean> {
    const label = this.tallies[index]!.label;
    try {
      const response = await api<{ message?: string }>(handle.http, "/cash-movements", {
        body: { reason, amount, cashier: DEMO_TERMINALS[index]!.cashier },
        timeoutMs: SALE_TIMEOUT_MS,
      });
      if (response.status === 201) return true;
      this.reporter.line(`${label}: ${reason} rejected with HTTP ${response.status}: ${response.body.message ?? ""}`);
    } catch (error) {
      this.reporter.line(`${label}: ${reason} failed: ${(error as Error).message}`);
    }
    return false;
  }

  /**
   * Rings up every planned ticket at its time on its terminal, one ticket at a
   * time per terminal, as a till does. A terminal that falls behind rings up its
   * tickets back to back, and tickets not started by `deadline` are counted as
   * not rung up.
   */
  async run(sellingStartedAt: number, deadline: number): Promise<void> {
    const queues = DEMO_TERMINALS.map(() => [] as PlannedTicket[]);
    for (const ticket of this.plan.tickets) queues[ticket.terminal]!.push(ticket);
    await Promise.all(
      queues.map(async (queue, index) => {
        for (let position = 0; position < queue.length; position++) {
          const ticket = queue[position]!;
          if (Date.now() >= deadline) {
            this.tallies[index]!.notRung += queue.length - position;
            break;
          }
          const wait = Math.min(sellingStartedAt + ticket.offsetMs, deadline) - Date.now();
          if (wait > 0) await sleep(wait);
          await this.sell(index, {
            lines: ticket.lines.map((line) => ({ sku: line.sku, qty: line.qty })),
            tenders: ticket.tenders,
            cashier: DEMO_TERMINALS[index]!.cashier,
            requestId: ticket.requestId,
          });
        }
      }),
    );
  }

  /**
   * Sends one sale and tallies the outcome. A request that fails on the network
   * or times out is sent once more with the same requestId, so the terminal
   * returns the sale it recorded instead of recording it twice.
   */
  async sell(index: number, body: SaleBody): Promise<SaleOutcome> {
    let outcome = await this.#post(index, body);
    if (outcome.kind === "failed") {
      await sleep(500);
      outcome = await this.#post(index, body);
    }
    const tally = this.tallies[index]!;
    if (outcome.kind === "sold") {
      tally.sold += 1;
      if (outcome.duplicate) tally.duplicates += 1;
      tally.cash += cashKept(outcome.record.tenders, outcome.record.change);
      for (const line of outcome.record.lines) tally.units.set(line.sku, (tally.units.get(line.sku) ?? 0) + line.qty);
    } else if (outcome.kind === "rejected") {
      tally.rejected += 1;
      const count = (tally.rejectedByCode.get(outcome.code) ?? 0) + 1;
      tally.rejectedByCode.set(outcome.code, count);
      if (count <= REJECTIONS_PRINTED) {
        const more = count === REJECTIONS_PRINTED ? " (further rejections with this code are only counted)" : "";
        this.reporter.line(`${tally.label}: ticket ${body.requestId} rejected, HTTP ${outcome.status} ${outcome.code}: ${outcome.message}${more}`);
      }
    } else {
      tally.failed += 1;
      this.reporter.line(`${tally.label}: ticket ${body.requestId} failed twice: ${outcome.message}`);
    }
    return outcome;
  }

  async #post(index: number, body: SaleBody): Promise<SaleOutcome> {
    try {
      const response = await api<{ record?: LedgerRecord; duplicate?: boolean; error?: string; message?: string }>(
        this.handles[index]!.http,
        "/sales",
        { body, timeoutMs: SALE_TIMEOUT_MS },
      );
      if ((response.status === 201 || response.status === 200) && response.body.record) {
        return { kind: "sold", record: response.body.record, duplicate: response.body.duplicate === true };
      }
      if (response.status === 400 || response.status === 409) {
        return {
          kind: "rejected",
          status: response.status,
          code: response.body.error ?? "UNKNOWN",
          message: response.body.message ?? JSON.stringify(response.body),
        };
      }
      return { kind: "failed", message: `HTTP ${response.status}: ${JSON.stringify(response.body).slice(0, 300)}` };
    } catch (error) {
      return { kind: "failed", message: (error as Error).message };
    }
  }
}

interface TerminalStatus {
  mode: string;
  pending: number;
  lastSeq: number;
  ackedSeq: number;
  conflicts: { open: number };
}

/** Reads a terminal's /status, or returns null when the request fails or times out. */
export async function readStatus(handle: TerminalHandle): Promise<TerminalStatus | null> {
  try {
    const response = await api<TerminalStatus>(handle.http, "/status", { timeoutMs: STATUS_TIMEOUT_MS });
    return response.status === 200 ? response.body : null;
  } catch {
    return null;
  }
}

/**
 * Prints one progress line every `intervalMs` until `done` resolves: tickets
 * sold per terminal, each terminal's connectivity mode and its records not yet
 * acknowledged by the relay.
 */
export async function reportProgress(
  replay: Replay,
  reporter: Reporter,
  sellingStartedAt: number,
  durationMs: number,
  done: Promise<unknown>,
  intervalMs = 5_000,
): Promise<void> {
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  // Bounded by the selling time plus the replay's grace period, with room to spare.
  const maxLines = Math.ceil((durationMs * 3) / intervalMs) + 20;
  for (let count = 0; count < maxLines && !finished; count++) {
    await Promise.race([sleep(intervalMs), done]);
    if (finished) break;
    const statuses = await Promise.all(replay.handles.map(readStatus));
    const parts = replay.tallies.map((tally, index) => {
      const status = statuses[index];
      const rejected = tally.rejected + tally.failed > 0 ? `, ${tally.rejected + tally.failed} rejected or failed` : "";
      const state = status ? `${status.mode}, ${status.pending} pending` : "no status";
      return `${tally.label} ${tally.sold} sold${rejected} (${state})`;
    });
    const selling = Math.min(Date.now() - sellingStartedAt, durationMs) / 1000;
    reporter.line(`selling ${selling.toFixed(0)}/${durationMs / 1000}s | ${parts.join(" | ")}`);
  }
}

/** Prints a line when the replay reaches each trading day of the trace, which explains the quiet nights. */
export async function announceTraceDays(
  plan: DemoPlan,
  reporter: Reporter,
  sellingStartedAt: number,
  done: Promise<unknown>,
): Promise<void> {
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  for (const [index, day] of plan.days.entries()) {
    await Promise.race([sleep(sellingStartedAt + day.offsetMs - Date.now()), done]);
    if (finished) break;
    const weekday = new Date(`${day.date}T12:00:00Z`).toLocaleDateString("en-GB", { weekday: "long", timeZone: "UTC" });
    reporter.line(`Trace day ${index + 1} of ${plan.days.length} (${weekday} ${day.date}) opens: ${day.tickets} tickets`);
  }
}

/** A sale of the contested SKU rung up during the outage. */
export interface ContestedSale {
  terminal: string;
  ticket: string;
  stockBefore: number;
}

export interface OutageResult {
  contestedSales: ContestedSale[];
  /** Steps that failed or timed out, in order. */
  problems: string[];
}

/**
 * Runs the WAN outage of branch A while the replay goes on. At `cutAt` it cuts
 * the WAN with the LAN up. It then cuts T1 off the LAN, so that T1 and T2 each
 * sell the contested SKU's last unit without seeing the other's sale, and
 * restores the LAN. It restores the WAN at `restoreAt`, or right after the
 * contested sales if they end later. A failed step is printed and recorded,
 * and the outage carries on.
 */
export async function runOutage(
  store: StoreHarness,
  replay: Replay,
  plan: DemoPlan,
  reporter: Reporter,
  times: { cutAt: number; restoreAt: number },
): Promise<OutageResult> {
  const result: OutageResult = { contestedSales: [], problems: [] };
  const branch = DEMO_BRANCHES.find((candidate) => candidate.id === CONTESTED_BRANCH)!;
  const step = async (what: string, action: () => Promise<void>) => {
    try {
      await action();
    } catch (error) {
      result.problems.push(`${what}: ${(error as Error).message}`);
      reporter.line(`Outage step failed: ${what}: ${(error as Error).message}`);
    }
  };
  const waitForModes = async (mode: "online" | "lan-only", terminals: readonly string[]) => {
    const since = Date.now();
    await Promise.all(terminals.map((id) => store.waitForMode(branch.id, id, mode, 15_000)));
    const labels = terminals.map((id) => `${branch.id}/${id}`).join(", ");
    reporter.line(`${labels} ${terminals.length === 1 ? "is" : "are"} ${mode} after ${((Date.now() - since) / 1000).toFixed(1)} s`);
  };

  await sleep(times.cutAt - Date.now());
  reporter.line(`EVENT WAN of branch ${branch.id} (${branch.name}) cut; its LAN stays up`);
  await store.cutWan(branch.id);
  await step("terminals switching to lan-only", () => waitForModes("lan-only", branch.terminals));

  // With T1 off the LAN, T2 and T3 still sync with each other but neither reaches T1.
  const [first, second] = [0, 1].map((index) => DEMO_TERMINALS[index]!);
  reporter.line(`EVENT LAN links of ${terminalLabel(first!)} cut, so ${terminalLabel(first!)} and ${terminalLabel(second!)} cannot see each other's sales`);
  await store.cutLan(branch.id, first!.id);
  await step(`${terminalLabel(first!)} going offline`, async () => {
    await store.waitForMode(branch.id, first!.id, "offline", 15_000);
    reporter.line(`${terminalLabel(first!)} is offline (no relay, no LAN peer)`);
  });
  for (const index of [0, 1]) {
    await step(`contested sale on ${terminalLabel(DEMO_TERMINALS[index]!)}`, async () => {
      const sale = await sellContested(replay, plan, index);
      result.contestedSales.push(sale);
      reporter.line(
        `EVENT ${sale.terminal} sold the last unit of ${plan.contested.sku} ${plan.contested.name} ` +
          `(ticket ${sale.ticket}, stock it knew: ${sale.stockBefore})`,
      );
    });
  }
  reporter.line(`EVENT LAN links of ${terminalLabel(first!)} restored`);
  await store.restoreLan(branch.id, first!.id);
  await step(`${terminalLabel(first!)} rejoining the LAN`, () => waitForModes("lan-only", [first!.id]));
  await step("oversell detection during the outage", async () => {
    const found = await waitForTerminalConflict(replay.handles[1]!, `oversell:${plan.contested.sku}`, 10_000);
    reporter.line(
      `${terminalLabel(second!)} reports oversell of ${found.sku}: shortfall ${found.shortfall}, tickets ${found.tickets.join(", ")} (WAN still down)`,
    );
  });

  await sleep(times.restoreAt - Date.now());
  reporter.line(`EVENT WAN of branch ${branch.id} restored`);
  await store.restoreWan(branch.id);
  await step("terminals coming back online", () => waitForModes("online", branch.terminals));
  return result;
}

/** Sells one unit of the contested SKU on a terminal, paid by card. */
async function sellContested(replay: Replay, plan: DemoPlan, index: number): Promise<ContestedSale> {
  const terminal = DEMO_TERMINALS[index]!;
  const outcome = await replay.sell(index, {
    lines: [{ sku: plan.contested.sku, qty: 1 }],
    tenders: [{ type: "card", amount: plan.contested.price }],
    cashier: terminal.cashier,
    requestId: `demo-contested-${terminal.branch}-${terminal.id}`,
  });
  if (outcome.kind !== "sold") {
    throw new Error(outcome.kind === "rejected" ? `${outcome.code}: ${outcome.message}` : outcome.message);
  }
  return {
    terminal: terminalLabel(terminal),
    ticket: outcome.record.id,
    stockBefore: outcome.record.lines[0]?.stockBefore ?? Number.NaN,
  };
}

async function waitForTerminalConflict(handle: TerminalHandle, id: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const response = await api<{ id: string; sku: string; shortfall: number; tickets: string[] }[]>(handle.http, "/conflicts", {
      timeoutMs: STATUS_TIMEOUT_MS,
    }).catch(() => null);
    const found = response?.body.find?.((conflict) => conflict.id === id);
    if (found) return found;
    await sleep(300);
  }
  throw new Error(`no conflict ${id} on ${handle.branch}/${handle.id} within ${timeoutMs} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
