import { monthOf, startOfNextZonedMonth, startOfZonedMonth } from "@mercora/crdt-model";
import type { OfflinePeriod, TerminalConnectivity } from "@mercora/crdt-model";
import type { ConnectivityEvent } from "./connectivity.ts";

/** Months of closed offline time a report keeps. */
export const REPORT_MONTHS = 12;

/** Periods a report lists at most; older ones of the month stay counted in its month total. */
export const REPORT_PERIODS = 200;

/** Parses `connectivity.jsonl`, skipping lines that are not events (a line cut short by a crash). */
export function parseConnectivityLog(text: string): ConnectivityEvent[] {
  const events: ConnectivityEvent[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const event = JSON.parse(line) as ConnectivityEvent;
      if (typeof event.at === "string" && !Number.isNaN(Date.parse(event.at))) events.push(event);
    } catch {
      // A torn last line after a crash.
    }
  }
  return events;
}

/**
 * Turns connectivity events into offline periods. A period opens at the
 * first `offline` or `manual-offline` event and closes at the next
 * `online` event; a manual switch during a period marks it manual. A
 * terminal switched off while offline shows as offline until it is back
 * online, because nothing in the log marks the time it was off.
 */
export function offlinePeriodsOf(events: ConnectivityEvent[]): OfflinePeriod[] {
  const periods: OfflinePeriod[] = [];
  let open: OfflinePeriod | null = null;
  for (const event of events) {
    if (event.event === "offline" || event.event === "manual-offline") {
      if (!open) {
        open = { start: event.at, end: null, manual: false, by: null, reason: event.event === "offline" ? (event.reason ?? null) : null };
        periods.push(open);
      }
      if (event.event === "manual-offline") {
        open.manual = true;
        open.by = event.by;
        open.reason = event.reason;
      }
    } else if (event.event === "online" && open) {
      open.end = event.at;
      open = null;
    }
  }
  return periods;
}

/** Adds a closed period's time to the months it spans, split at month boundaries in the time zone. */
function addToMonths(months: TerminalConnectivity["months"], period: OfflinePeriod, timeZone: string): void {
  const end = Date.parse(period.end!);
  let cursor = Date.parse(period.start);
  const first = monthOf(cursor, timeZone);
  while (cursor < end) {
    const boundary = Math.min(end, startOfNextZonedMonth(cursor, timeZone));
    const key = monthOf(cursor, timeZone);
    const month = (months[key] ??= { offlineMs: 0, periods: 0 });
    month.offlineMs += boundary - cursor;
    if (key === first) month.periods += 1;
    cursor = boundary;
  }
  if (Date.parse(period.start) >= end) (months[first] ??= { offlineMs: 0, periods: 0 }).periods += 1;
}

/**
 * Builds the bounded report a terminal publishes in its directory entry:
 * the periods that overlap the current month (at most `REPORT_PERIODS`,
 * the newest) and the closed offline time of the last `REPORT_MONTHS`
 * months. Reasons are cut to 200 characters.
 */
export function buildConnectivityReport(events: ConnectivityEvent[], nowMs: number, timeZone: string): TerminalConnectivity {
  const periods = offlinePeriodsOf(events).map((period) => ({ ...period, reason: period.reason?.slice(0, 200) ?? null }));
  const months: TerminalConnectivity["months"] = {};
  for (const period of periods) if (period.end !== null) addToMonths(months, period, timeZone);

  const kept = Object.keys(months).sort().slice(-REPORT_MONTHS);
  const boundedMonths: TerminalConnectivity["months"] = {};
  for (const key of kept) boundedMonths[key] = months[key]!;

  const monthStart = startOfZonedMonth(nowMs, timeZone);
  const current = periods.filter((period) => period.end === null || Date.parse(period.end) >= monthStart).slice(-REPORT_PERIODS);
  return { updatedAt: new Date(nowMs).toISOString(), periods: current, months: boundedMonths };
}
