/**
 * End of the demonstration: waits for every branch to converge, compares each
 * replica with the relay, and prints the summary with the checks that decide
 * the exit code.
 */
import { join } from "node:path";
import type { Conflict } from "@mercora/crdt-model";
import { api } from "./processes.ts";
import type { StoreHarness } from "./store.ts";
import {
  CONTESTED_BRANCH,
  CONTESTED_OPENING_STOCK,
  DEMO_BRANCHES,
  DEMO_TERMINALS,
  OPENING_STOCK,
  formatPesos,
  terminalLabel,
} from "./demo-plan.ts";
import type { DemoPlan } from "./demo-plan.ts";
import { readStatus, sleep } from "./demo-selling.ts";
import type { OutageResult, Replay, Reporter } from "./demo-selling.ts";

const CONVERGENCE_TIMEOUT_MS = 60_000;
const CONFLICT_TIMEOUT_MS = 20_000;
const API_TIMEOUT_MS = 30_000;
/** Disagreeing SKUs listed per replica before the rest are only counted. */
const DIFFERENCES_LISTED = 5;

interface RelayBranchSummary {
  terminals: { id: string; ackedSeq: number; connected: boolean }[];
  days: { businessDay: string; tickets: number; sales: number; tax: number; offlineTickets: number }[];
  conflicts: Conflict[];
}

/** Checks that failed; an empty list means the demonstration succeeded. */
export type Failures = string[];

/**
 * Waits for convergence, prints the summary and returns the failed checks:
 * a branch that did not converge, a replica whose stock disagrees with the
 * relay, or a missing oversell conflict for the contested SKU.
 */
export async function summarize(
  store: StoreHarness,
  plan: DemoPlan,
  replay: Replay,
  outage: OutageResult,
  reporter: Reporter,
  dataDir: string,
): Promise<Failures> {
  const failures: Failures = [];
  await waitForConvergence(store, reporter, failures);
  const conflict = await waitForOversell(store, plan, outage, reporter);

  const relay = new Map<string, RelayBranchSummary>();
  for (const branch of DEMO_BRANCHES) {
    const response = await api<RelayBranchSummary>(store.relayUrl, `/api/hq/branches/${branch.id}`, { timeoutMs: API_TIMEOUT_MS });
    relay.set(branch.id, response.body);
  }

  process.stdout.write("\n==== Summary ====\n");
  printTickets(replay);
  await printSync(replay, relay, failures);
  await printStock(store, plan, replay, failures);
  printDays(relay);
  printConflicts(plan, relay, outage, conflict, failures);
  printLinks(store, replay, dataDir);
  return failures;
}

async function waitForConvergence(store: StoreHarness, reporter: Reporter, failures: Failures): Promise<void> {
  for (const branch of DEMO_BRANCHES) {
    const since = Date.now();
    try {
      await store.waitForConvergence(branch.id, CONVERGENCE_TIMEOUT_MS);
      reporter.line(`Branch ${branch.id} converged with the relay in ${((Date.now() - since) / 1000).toFixed(1)} s`);
    } catch (error) {
      failures.push(`branch ${branch.id} did not converge within ${CONVERGENCE_TIMEOUT_MS / 1000} s`);
      reporter.line(`Branch ${branch.id} did not converge: ${(error as Error).message}`);
    }
  }
}

/**
 * Polls the relay for the oversell conflict of the contested SKU naming both
 * contested tickets, because the relay reconciles shortly after it ingests.
 * Returns the conflict as last seen, or null.
 */
async function waitForOversell(store: StoreHarness, plan: DemoPlan, outage: OutageResult, reporter: Reporter) {
  const id = `oversell:${plan.contested.sku}`;
  const deadline = Date.now() + CONFLICT_TIMEOUT_MS;
  let last: Conflict | null = null;
  while (Date.now() < deadline) {
    const response = await api<Conflict[]>(store.relayUrl, `/api/hq/branches/${CONTESTED_BRANCH}/conflicts`, {
      timeoutMs: API_TIMEOUT_MS,
    }).catch(() => null);
    last = (Array.isArray(response?.body) ? response.body : []).find((conflict) => conflict.id === id) ?? last;
    if (last && isExpectedOversell(last, outage)) return last;
    await sleep(500);
  }
  reporter.line(`The relay did not report the expected conflict ${id} within ${CONFLICT_TIMEOUT_MS / 1000} s`);
  return last;
}

function isExpectedOversell(conflict: Conflict, outage: OutageResult): boolean {
  const expectedShortfall = outage.contestedSales.length - CONTESTED_OPENING_STOCK;
  return (
    outage.contestedSales.length === 2 &&
    conflict.shortfall === expectedShortfall &&
    outage.contestedSales.every((sale) => conflict.tickets.includes(sale.ticket))
  );
}

function printTickets(replay: Replay): void {
  process.stdout.write("\nTickets per terminal\n");
  process.stdout.write("  terminal   sold  rejected  failed  not rung up  cash kept         closing count\n");
  for (const tally of replay.tallies) {
    const closing = tally.closingCount === null ? "not recorded" : formatPesos(tally.closingCount);
    process.stdout.write(
      `  ${tally.label.padEnd(9)} ${String(tally.sold).padStart(5)} ${String(tally.rejected).padStart(9)} ` +
        `${String(tally.failed).padStart(7)} ${String(tally.notRung).padStart(12)}  ${formatPesos(tally.cash).padEnd(17)} ${closing}\n`,
    );
    if (tally.rejectedByCode.size > 0) {
      const codes = [...tally.rejectedByCode].map(([code, count]) => `${code} x${count}`).join(", ");
      process.stdout.write(`             rejected by code: ${codes}\n`);
    }
    if (tally.duplicates > 0) process.stdout.write(`             ${tally.duplicates} retried request(s) returned the sale already recorded\n`);
  }
}

/** Compares each terminal's last sequence number with the relay's acknowledgement mark. */
async function printSync(replay: Replay, relay: Map<string, RelayBranchSummary>, failures: Failures): Promise<void> {
  process.stdout.write("\nRecords synced to the relay (sales and cash movements)\n");
  for (const [index, handle] of replay.handles.entries()) {
    const label = replay.tallies[index]!.label;
    const status = await readStatus(handle);
    const acked = relay.get(handle.branch)?.terminals.find((terminal) => terminal.id === handle.id)?.ackedSeq ?? 0;
    if (!status) {
      process.stdout.write(`  ${label}: no status from the terminal; relay acknowledged ${acked}\n`);
      continue;
    }
    const state = status.lastSeq === acked ? "all synced" : `${status.lastSeq - acked} not acknowledged`;
    process.stdout.write(`  ${label}: last seq ${status.lastSeq}, relay acknowledged ${acked}: ${state}\n`);
    if (status.lastSeq !== acked) failures.push(`${label} has ${status.lastSeq - acked} records the relay has not acknowledged`);
  }
}

/**
 * Compares every terminal's stock with the relay's for all SKUs, and the
 * relay's stock with the opening stock minus the units of the sales the
 * terminals returned. Only the first comparison is a failed check, because a
 * sale whose response was lost would make the second one differ.
 */
async function printStock(store: StoreHarness, plan: DemoPlan, replay: Replay, failures: Failures): Promise<void> {
  process.stdout.write("\nStock of every replica against the relay\n");
  for (const branch of DEMO_BRANCHES) {
    const relayStock = (await api<Record<string, number>>(store.relayUrl, `/api/hq/branches/${branch.id}/stock`, {
      timeoutMs: API_TIMEOUT_MS,
    })).body;
    for (const [index, handle] of replay.handles.entries()) {
      if (handle.branch !== branch.id) continue;
      const label = replay.tallies[index]!.label;
      const stock = (await api<Record<string, number>>(handle.http, "/stock", { timeoutMs: API_TIMEOUT_MS })).body;
      const differences = compareStock(relayStock, stock);
      process.stdout.write(`  ${label}: ${differences.compared} SKUs compared, ${differences.skus.length} disagree\n`);
      for (const sku of differences.skus.slice(0, DIFFERENCES_LISTED)) {
        process.stdout.write(`    ${sku}: terminal ${stock[sku] ?? "missing"}, relay ${relayStock[sku] ?? "missing"}\n`);
      }
      if (differences.skus.length > 0) failures.push(`${label} disagrees with the relay on ${differences.skus.length} SKUs`);
    }

    const expected = expectedStock(plan, replay, branch.id, Object.keys(relayStock));
    const differences = compareStock(relayStock, expected);
    const sold = Object.entries(expected).filter(([sku, units]) => units !== openingStockOf(plan, branch.id, sku)).length;
    process.stdout.write(
      `  branch ${branch.id} relay against its opening stock minus the tickets rung up: ${differences.compared} SKUs compared ` +
        `(${sold} sold), ${differences.skus.length} differ\n`,
    );
    for (const sku of differences.skus.slice(0, DIFFERENCES_LISTED)) {
      process.stdout.write(`    ${sku}: expected ${expected[sku] ?? "missing"}, relay ${relayStock[sku] ?? "missing"}\n`);
    }
  }
}

function compareStock(relay: Record<string, number>, replica: Record<string, number>) {
  const skus = new Set([...Object.keys(relay), ...Object.keys(replica)]);
  const differing = [...skus].filter((sku) => relay[sku] !== replica[sku]).sort();
  return { compared: skus.size, skus: differing };
}

function openingStockOf(plan: DemoPlan, branch: string, sku: string): number {
  return branch === CONTESTED_BRANCH && sku === plan.contested.sku ? CONTESTED_OPENING_STOCK : OPENING_STOCK;
}

function expectedStock(plan: DemoPlan, replay: Replay, branch: string, skus: string[]): Record<string, number> {
  const expected: Record<string, number> = {};
  for (const sku of skus) expected[sku] = openingStockOf(plan, branch, sku);
  for (const [index, tally] of replay.tallies.entries()) {
    if (DEMO_TERMINALS[index]!.branch !== branch) continue;
    for (const [sku, units] of tally.units) expected[sku] = (expected[sku] ?? 0) - units;
  }
  return expected;
}

function printDays(relay: Map<string, RelayBranchSummary>): void {
  process.stdout.write("\nBusiness day totals at the relay\n");
  for (const branch of DEMO_BRANCHES) {
    for (const day of relay.get(branch.id)?.days ?? []) {
      process.stdout.write(
        `  ${branch.id} ${branch.name}, ${day.businessDay}: ${day.tickets} tickets (${day.offlineTickets} rung up offline), ` +
          `sales ${formatPesos(day.sales)}, VAT ${formatPesos(day.tax)}\n`,
      );
    }
  }
}

function printConflicts(
  plan: DemoPlan,
  relay: Map<string, RelayBranchSummary>,
  outage: OutageResult,
  expected: Conflict | null,
  failures: Failures,
): void {
  process.stdout.write("\nConflicts at the relay\n");
  for (const branch of DEMO_BRANCHES) {
    const conflicts = relay.get(branch.id)?.conflicts ?? [];
    if (conflicts.length === 0) process.stdout.write(`  ${branch.id}: none\n`);
    for (const conflict of conflicts) {
      const name = plan.products.get(conflict.sku)?.name ?? "";
      process.stdout.write(
        `  ${branch.id}: ${conflict.kind} of ${conflict.sku} ${name}: shortfall ${conflict.shortfall}, ` +
          `tickets ${conflict.tickets.join(", ")}, detected by ${conflict.detectedByAll.join(", ")}\n`,
      );
    }
  }
  const sales = outage.contestedSales.map((sale) => `${sale.ticket} on ${sale.terminal} (stock it knew: ${sale.stockBefore})`);
  process.stdout.write(`  contested sales during the outage: ${sales.length > 0 ? sales.join(", ") : "none"}\n`);
  for (const problem of outage.problems) process.stdout.write(`  outage step failed: ${problem}\n`);
  if (!expected || !isExpectedOversell(expected, outage)) {
    failures.push(
      `the oversell conflict of ${plan.contested.sku} with shortfall 1 and both contested tickets is missing at the relay`,
    );
  }
}

function printLinks(store: StoreHarness, replay: Replay, dataDir: string): void {
  process.stdout.write("\nLinks\n");
  for (const line of screenLinks(store, replay)) process.stdout.write(`  ${line}\n`);
  process.stdout.write(`  data folder: ${dataDir}\n  logs: ${join(dataDir, "logs")}\n`);
}

/**
 * Lists the addresses of the demonstration store's screens: the HQ
 * dashboard with its token, each branch's manager dashboard at HQ and on
 * its first terminal, and the cashier screen and status of every terminal.
 */
export function screenLinks(store: StoreHarness, replay: Replay): string[] {
  const token = encodeURIComponent(store.hqToken);
  const lines = [`HQ dashboard: ${store.relayUrl}/hq?token=${token}`];
  for (const branch of DEMO_BRANCHES) {
    const first = replay.handles.find((handle) => handle.branch === branch.id);
    lines.push(`branch ${branch.id} manager dashboard: ${store.relayUrl}/hq/gerencia?branch=${branch.id}&token=${token}` + (first ? ` (or ${first.http}/gerencia)` : ""));
  }
  for (const [index, handle] of replay.handles.entries()) {
    lines.push(`${terminalLabel(DEMO_TERMINALS[index]!)} cashier screen: ${handle.http}/caja (status ${handle.http}/status)`);
  }
  return lines;
}
