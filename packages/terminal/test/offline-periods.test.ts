import * as A from "@automerge/automerge";
import { expect } from "chai";
import { initDirectory, putTerminalConnectivity, readTerminalConnectivity, summarizeOffline } from "@mercora/crdt-model";
import type { DirectoryDoc } from "@mercora/crdt-model";
import { buildConnectivityReport, offlinePeriodsOf, parseConnectivityLog } from "../src/offline-periods.ts";
import type { ConnectivityEvent } from "../src/connectivity.ts";

const ZONE = "America/Argentina/Buenos_Aires";
const HOUR = 3_600_000;

function directory(): A.Doc<DirectoryDoc> {
  return A.from(
    initDirectory({
      branch: "A",
      name: "Sucursal Centro",
      timeZone: ZONE,
      cashRoundingIncrement: 0,
      catalogUrl: "automerge:catalog",
      conflictsUrl: "automerge:conflicts",
      permissionsUrl: "automerge:permissions",
      foliosUrl: "automerge:folios",
      ingestUrl: "automerge:ingest",
      baselineUrl: "automerge:baseline",
      terminals: [
        { id: "T1", name: "Caja 1" },
        { id: "T2", name: "Caja 2" },
      ],
    }) as unknown as Record<string, unknown>,
  ) as unknown as A.Doc<DirectoryDoc>;
}

describe("offline periods", function () {
  it("pairs offline and online events", function () {
    const periods = offlinePeriodsOf([
      { at: "2025-03-10T12:00:00.000Z", event: "online" },
      { at: "2025-03-10T13:00:00.000Z", event: "offline", reason: "fetch failed" },
      { at: "2025-03-10T13:00:05.000Z", event: "offline" },
      { at: "2025-03-10T13:20:00.000Z", event: "online" },
      { at: "2025-03-10T15:00:00.000Z", event: "manual-offline", by: "gerente", reason: "mudanza" },
      { at: "2025-03-10T15:00:00.100Z", event: "offline", reason: "manual offline switch" },
    ]);
    expect(periods).to.have.length(2);
    expect(periods[0]).to.deep.equal({ start: "2025-03-10T13:00:00.000Z", end: "2025-03-10T13:20:00.000Z", manual: false, by: null, reason: "fetch failed" });
    expect(periods[1]!.end).to.equal(null);
    expect(periods[1]!.manual).to.equal(true);
    expect(periods[1]!.by).to.equal("gerente");
    expect(periods[1]!.reason).to.equal("mudanza");
  });

  it("splits a period across months", function () {
    // 2025-03-31 23:00 to 2025-04-01 01:00 in Buenos Aires (UTC-3).
    const events: ConnectivityEvent[] = [
      { at: "2025-04-01T02:00:00.000Z", event: "offline" },
      { at: "2025-04-01T04:00:00.000Z", event: "online" },
    ];
    const report = buildConnectivityReport(events, Date.parse("2025-04-01T12:00:00.000Z"), ZONE);
    expect(report.months["2025-03"]).to.deep.equal({ offlineMs: HOUR, periods: 1 });
    expect(report.months["2025-04"]).to.deep.equal({ offlineMs: HOUR, periods: 0 });
    expect(report.periods).to.have.length(1);
  });

  it("keeps only this month's periods", function () {
    const events: ConnectivityEvent[] = [
      { at: "2025-02-10T12:00:00.000Z", event: "offline" },
      { at: "2025-02-10T13:00:00.000Z", event: "online" },
      { at: "2025-03-05T12:00:00.000Z", event: "offline" },
      { at: "2025-03-05T12:30:00.000Z", event: "online" },
    ];
    const report = buildConnectivityReport(events, Date.parse("2025-03-20T12:00:00.000Z"), ZONE);
    expect(report.periods.map((p) => p.start)).to.deep.equal(["2025-03-05T12:00:00.000Z"]);
    expect(Object.keys(report.months).sort()).to.deep.equal(["2025-02", "2025-03"]);
  });

  it("skips a torn last log line", function () {
    const text = '{"at":"2025-03-10T13:00:00.000Z","event":"offline"}\n{"at":"2025-03-10T13:';
    expect(parseConnectivityLog(text)).to.have.length(1);
  });

  it("summarizes today and this month", function () {
    const now = Date.parse("2025-03-10T18:00:00.000Z");
    const report = buildConnectivityReport(
      [
        { at: "2025-03-09T12:00:00.000Z", event: "offline" },
        { at: "2025-03-09T14:00:00.000Z", event: "online" },
        { at: "2025-03-10T16:00:00.000Z", event: "offline" },
      ],
      now,
      ZONE,
    );
    const summary = summarizeOffline(report, now, ZONE);
    expect(summary.offlineNow).to.equal(true);
    expect(summary.offlineSince).to.equal("2025-03-10T16:00:00.000Z");
    expect(summary.todayMs).to.equal(2 * HOUR);
    expect(summary.monthMs).to.equal(4 * HOUR);
  });

  it("round-trips through the directory entry", function () {
    const now = Date.parse("2025-03-10T18:00:00.000Z");
    const first = buildConnectivityReport(
      [
        { at: "2025-03-10T13:00:00.000Z", event: "offline" },
        { at: "2025-03-10T13:20:00.000Z", event: "online" },
      ],
      now,
      ZONE,
    );
    let doc = A.change(directory(), (d) => putTerminalConnectivity(d, "T1", first));
    expect(readTerminalConnectivity(doc, "T1")!.periods).to.deep.equal(first.periods);
    expect(readTerminalConnectivity(doc, "T2")).to.equal(null);

    const later = buildConnectivityReport([], now, ZONE);
    doc = A.change(doc, (d) => putTerminalConnectivity(d, "T1", later));
    expect(readTerminalConnectivity(doc, "T1")!.periods).to.deep.equal([]);
    expect(readTerminalConnectivity(doc, "T1")!.months).to.deep.equal({});
  });
});
