import { listTerminals, readDirectoryUrls } from "./directory.ts";
import { readAcked } from "./ingest.ts";
import { businessDayOf } from "./sale.ts";
import type { DirectoryDoc, IngestDoc } from "./schema.ts";
import { str } from "./strings.ts";
import { readTerminalConnectivity, summarizeOffline } from "./terminal-connectivity.ts";
import type { OfflinePeriod, OfflineSummary, TerminalConnectivity } from "./terminal-connectivity.ts";
import type { LedgerRecord } from "./types.ts";
import { zonedParts } from "./zoned-time.ts";

/** Manager authorizations listed on a dashboard, newest first. */
export const DASHBOARD_AUTHORIZATIONS = 50;

/** One terminal of the branch as a dashboard shows it. */
export interface DashboardTerminal {
  id: string;
  name: string;
  /** Highest sequence number of the terminal among the records this replica holds, or null for none. */
  lastSeq: number | null;
  /** Highest sequence number the relay ingested. */
  ackedSeq: number;
  /** Records of the terminal in this replica that the relay has not ingested; null when the replica has none of them but the relay has some. */
  pending: number | null;
  lastRecordAt: string | null;
  offline: OfflineSummary;
  /** Offline periods of the current month, oldest first. */
  periods: OfflinePeriod[];
  months: TerminalConnectivity["months"];
}

/** Sales and refunds of one hour of the business day. */
export interface HourTotals {
  hour: number;
  tickets: number;
  sales: number;
  refunds: number;
  offlineTickets: number;
}

/** A record a manager authorized with a PIN: a refund or a stock buffer override. */
export interface Authorization {
  at: string;
  record: string;
  terminal: string;
  kind: "refund" | "override";
  manager: string;
  total: number;
  reason: string | null;
  refundOf: string | null;
  offline: boolean;
}

/** A manual offline switch, from a terminal's published periods. */
export interface ManualSwitch {
  terminal: string;
  start: string;
  end: string | null;
  by: string | null;
  reason: string | null;
}

/** Everything a branch dashboard shows except conflicts and the conflict audit. */
export interface BranchDashboard {
  branch: string;
  name: string;
  timeZone: string;
  businessDay: string;
  generatedAt: string;
  currency: string;
  minorUnitDigits: number;
  terminals: DashboardTerminal[];
  salesPerHour: HourTotals[];
  authorizations: Authorization[];
  manualSwitches: ManualSwitch[];
}

export interface BranchDashboardInput {
  directory: DirectoryDoc;
  ingest: IngestDoc;
  /** Records this replica holds; today's are enough for the hourly figures. */
  records: Iterable<LedgerRecord>;
  nowMs: number;
  currency: string;
  minorUnitDigits: number;
}

function hourlyTotals(records: LedgerRecord[], businessDay: string, timeZone: string): HourTotals[] {
  const hours: HourTotals[] = Array.from({ length: 24 }, (_, hour) => ({ hour, tickets: 0, sales: 0, refunds: 0, offlineTickets: 0 }));
  for (const record of records) {
    if (record.businessDay !== businessDay) continue;
    if (record.kind !== "sale" && record.kind !== "refund") continue;
    const slot = hours[zonedParts(Date.parse(record.at), timeZone).hour]!;
    if (record.kind === "sale") {
      slot.tickets += 1;
      slot.sales += record.total;
      if (record.offline) slot.offlineTickets += 1;
    } else {
      slot.refunds += record.total;
    }
  }
  return hours;
}

/** Orders by `at`, newest first. */
function newestFirst(a: { at: string }, b: { at: string }): number {
  if (a.at === b.at) return 0;
  return a.at < b.at ? 1 : -1;
}

/** Pending records of a terminal: its last record in this replica minus the relay's acknowledgement. */
function pendingOf(lastSeq: number | null, acked: number): number | null {
  if (lastSeq !== null) return Math.max(0, lastSeq - acked);
  // A terminal with no record anywhere has nothing pending; one whose records this replica lacks is unknown.
  return acked === 0 ? 0 : null;
}

function authorizations(records: LedgerRecord[]): Authorization[] {
  return records
    .filter((record) => record.authorizedBy !== null)
    .sort(newestFirst)
    .slice(0, DASHBOARD_AUTHORIZATIONS)
    .map((record) => ({
      at: record.at,
      record: record.id,
      terminal: record.terminal,
      kind: record.kind === "refund" ? "refund" : "override",
      manager: record.authorizedBy!,
      total: record.total,
      reason: record.reason,
      refundOf: record.refundOf,
      offline: record.offline,
    }));
}

/**
 * Builds a branch dashboard from the documents a replica holds: the
 * pending queue and offline time of every terminal, today's sales per
 * hour, and the manager authorizations and manual offline switches.
 * Terminals and the relay build it the same way from their own copies.
 */
export function buildBranchDashboard(input: BranchDashboardInput): BranchDashboard {
  const urls = readDirectoryUrls(input.directory);
  const records = [...input.records];
  const businessDay = businessDayOf(new Date(input.nowMs), urls.timeZone);
  const lastSeq = new Map<string, number>();
  for (const record of records) lastSeq.set(record.terminal, Math.max(lastSeq.get(record.terminal) ?? 0, record.seq));

  const terminals = listTerminals(input.directory).map((terminal): DashboardTerminal => {
    const report = readTerminalConnectivity(input.directory, terminal.id);
    const acked = readAcked(input.ingest, terminal.id);
    const last = lastSeq.get(terminal.id) ?? null;
    const lastRecordAt = input.ingest.lastRecordAt[terminal.id];
    return {
      id: terminal.id,
      name: terminal.name,
      lastSeq: last,
      ackedSeq: acked,
      pending: pendingOf(last, acked),
      lastRecordAt: lastRecordAt ? str(lastRecordAt) : null,
      offline: summarizeOffline(report, input.nowMs, urls.timeZone),
      periods: report?.periods ?? [],
      months: report?.months ?? {},
    };
  });

  const manualSwitches = terminals
    .flatMap((terminal) => terminal.periods.filter((p) => p.manual).map((p) => ({ terminal: terminal.id, start: p.start, end: p.end, by: p.by, reason: p.reason })))
    .sort((a, b) => (a.start < b.start ? 1 : -1));

  return {
    branch: urls.branch,
    name: urls.name,
    timeZone: urls.timeZone,
    businessDay,
    generatedAt: new Date(input.nowMs).toISOString(),
    currency: input.currency,
    minorUnitDigits: input.minorUnitDigits,
    terminals,
    salesPerHour: hourlyTotals(records, businessDay, urls.timeZone),
    authorizations: authorizations(records),
    manualSwitches,
  };
}
