import type { DirectoryDoc, OfflinePeriodDoc } from "./schema.ts";
import { imm, optStr, str } from "./strings.ts";
import { monthOf, startOfZonedDay, startOfZonedMonth } from "./zoned-time.ts";

/** One period during which a terminal could not reach the relay. */
export interface OfflinePeriod {
  start: string;
  /** Null while the period is still open. */
  end: string | null;
  /** True when a manager switched the terminal offline by hand. */
  manual: boolean;
  by: string | null;
  reason: string | null;
}

/** A terminal's published connectivity report; see `TerminalConnectivityDoc`. */
export interface TerminalConnectivity {
  updatedAt: string;
  /** Periods that overlap the report's month or are still open, oldest first. */
  periods: OfflinePeriod[];
  /** Closed offline time and number of periods per month (YYYY-MM). */
  months: Record<string, { offlineMs: number; periods: number }>;
}

/** Offline figures of one terminal at one instant, in the branch time zone. */
export interface OfflineSummary {
  offlineNow: boolean;
  offlineSince: string | null;
  todayMs: number;
  monthMs: number;
  /** When the terminal last published its report; an open period is extended to now. */
  reportedAt: string | null;
}

function samePeriod(stored: OfflinePeriodDoc, period: OfflinePeriod): boolean {
  return (
    optStr(stored.end) === period.end &&
    stored.manual === period.manual &&
    optStr(stored.by) === period.by &&
    optStr(stored.reason) === period.reason
  );
}

function storedPeriod(period: OfflinePeriod): OfflinePeriodDoc {
  return {
    start: imm(period.start),
    end: period.end === null ? null : imm(period.end),
    manual: period.manual,
    by: period.by === null ? null : imm(period.by),
    reason: period.reason === null ? null : imm(period.reason),
  };
}

/**
 * Writes a terminal's connectivity report into its own directory entry,
 * inside a `change()` callback, touching only what differs from the stored
 * report. Only that terminal writes its entry, so creating the report on
 * its first call cannot race with another writer.
 */
export function putTerminalConnectivity(doc: DirectoryDoc, terminal: string, report: TerminalConnectivity): void {
  const entry = doc.terminals[terminal];
  if (!entry) {
    throw new Error(`Branch ${str(doc.branch)} has no terminal ${terminal}; add it on the relay before starting it`);
  }
  if (!entry.connectivity) entry.connectivity = { updatedAt: imm(report.updatedAt), periods: {}, months: {} };
  const stored = entry.connectivity;
  stored.updatedAt = imm(report.updatedAt);

  const wanted = new Map(report.periods.map((period) => [period.start, period]));
  for (const key of Object.keys(stored.periods)) {
    if (!wanted.has(key)) delete stored.periods[key];
  }
  for (const [key, period] of wanted) {
    const current = stored.periods[key];
    if (!current || !samePeriod(current, period)) stored.periods[key] = storedPeriod(period);
  }

  for (const key of Object.keys(stored.months)) {
    if (!(key in report.months)) delete stored.months[key];
  }
  for (const [key, month] of Object.entries(report.months)) {
    const current = stored.months[key];
    if (!current) stored.months[key] = { ...month };
    else {
      if (current.offlineMs !== month.offlineMs) current.offlineMs = month.offlineMs;
      if (current.periods !== month.periods) current.periods = month.periods;
    }
  }
}

/** Reads a terminal's connectivity report, or null before its first one. */
export function readTerminalConnectivity(doc: DirectoryDoc, terminal: string): TerminalConnectivity | null {
  const stored = doc.terminals[terminal]?.connectivity;
  if (!stored) return null;
  const periods = Object.values(stored.periods)
    .map((period) => ({
      start: str(period.start),
      end: optStr(period.end),
      manual: period.manual,
      by: optStr(period.by),
      reason: optStr(period.reason),
    }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const months: TerminalConnectivity["months"] = {};
  for (const [key, month] of Object.entries(stored.months)) months[key] = { offlineMs: month.offlineMs, periods: month.periods };
  return { updatedAt: str(stored.updatedAt), periods, months };
}

/** Milliseconds of [start, end) that fall inside [from, to). */
export function overlapMs(start: number, end: number, from: number, to: number): number {
  return Math.max(0, Math.min(end, to) - Math.max(start, from));
}

/**
 * Summarizes a terminal's report at `nowMs`: whether it is offline now,
 * and its offline time today and this month in the branch time zone. The
 * month figure is the closed time of the month plus the open period's part
 * of it; today's comes from the periods themselves.
 */
export function summarizeOffline(report: TerminalConnectivity | null, nowMs: number, timeZone: string): OfflineSummary {
  if (!report) return { offlineNow: false, offlineSince: null, todayMs: 0, monthMs: 0, reportedAt: null };
  const dayStart = startOfZonedDay(nowMs, timeZone);
  const monthStart = startOfZonedMonth(nowMs, timeZone);
  const open = report.periods.find((period) => period.end === null) ?? null;
  let todayMs = 0;
  for (const period of report.periods) {
    const end = period.end === null ? nowMs : Date.parse(period.end);
    todayMs += overlapMs(Date.parse(period.start), end, dayStart, nowMs);
  }
  const closedThisMonth = report.months[monthOf(nowMs, timeZone)]?.offlineMs ?? 0;
  const openThisMonth = open ? overlapMs(Date.parse(open.start), nowMs, monthStart, nowMs) : 0;
  return {
    offlineNow: open !== null,
    offlineSince: open?.start ?? null,
    todayMs,
    monthMs: closedThisMonth + openThisMonth,
    reportedAt: report.updatedAt,
  };
}
