import { expect } from "chai";
import { pendingFiscalRecords, startOfLocalDay, taxProfile, transmissionDeadline } from "../src/index.ts";
import type { LedgerRecord } from "../src/index.ts";

const rule = (country: string) => taxProfile(country).transmissionDeadline;
const sale = (at: string, offline = false) => ({ kind: "sale" as const, at, offline });

describe("transmission deadlines", function () {
  it("gives Mexico 72 hours", function () {
    expect(transmissionDeadline(rule("MX"), sale("2026-03-10T15:30:00.000Z"), "America/Mexico_City")).to.equal("2026-03-13T15:30:00.000Z");
  });

  it("keeps 72 hours across a DST change", function () {
    // Tijuana moves its clocks forward on 2026-03-08; an hours rule counts elapsed time, not wall time.
    expect(transmissionDeadline(rule("MX"), sale("2026-03-07T20:00:00.000Z"), "America/Tijuana")).to.equal("2026-03-10T20:00:00.000Z");
  });

  it("gives Colombia the same local day", function () {
    // 22:30 in Bogotá (UTC-5) on March 10 is 03:30 UTC on March 11; the day ends at 05:00 UTC.
    expect(transmissionDeadline(rule("CO"), sale("2026-03-11T03:30:00.000Z"), "America/Bogota")).to.equal("2026-03-11T05:00:00.000Z");
  });

  it("ends a short DST day on time", function () {
    // 2024-03-10 in New York has 23 hours: it ends at 04:00 UTC, not 05:00.
    expect(transmissionDeadline(rule("CO"), sale("2024-03-10T12:00:00.000Z"), "America/New_York")).to.equal("2024-03-11T04:00:00.000Z");
  });

  it("gives Peru three calendar days", function () {
    // Issued on 2026-03-10 in Lima (UTC-5): due by the end of March 13.
    expect(transmissionDeadline(rule("PE"), sale("2026-03-10T23:50:00.000Z"), "America/Lima")).to.equal("2026-03-14T05:00:00.000Z");
  });

  it("gives Costa Rica two days offline only", function () {
    expect(transmissionDeadline(rule("CR"), sale("2026-03-10T18:00:00.000Z", true), "America/Costa_Rica")).to.equal("2026-03-13T06:00:00.000Z");
    expect(transmissionDeadline(rule("CR"), sale("2026-03-10T18:00:00.000Z", false), "America/Costa_Rica")).to.equal(null);
  });

  it("sets none for non-fiscal records", function () {
    expect(transmissionDeadline(rule("MX"), { kind: "cash-movement", at: "2026-03-10T15:30:00.000Z", offline: false }, "America/Mexico_City")).to.equal(null);
    expect(transmissionDeadline(rule("AR"), sale("2026-03-10T15:30:00.000Z"), "America/Argentina/Buenos_Aires")).to.equal(null);
  });

  it("starts a day whose midnight is skipped", function () {
    // Chile skipped from 2024-09-08 00:00 to 01:00 (UTC-4 to UTC-3).
    expect(new Date(startOfLocalDay("2024-09-08", "America/Santiago")).toISOString()).to.equal("2024-09-08T04:00:00.000Z");
    expect(new Date(startOfLocalDay("2024-09-07", "America/Santiago")).toISOString()).to.equal("2024-09-07T04:00:00.000Z");
  });

  it("starts days east and west of UTC", function () {
    expect(new Date(startOfLocalDay("2026-01-01", "Pacific/Kiritimati")).toISOString()).to.equal("2025-12-31T10:00:00.000Z");
    expect(new Date(startOfLocalDay("2026-01-01", "Pacific/Pago_Pago")).toISOString()).to.equal("2026-01-01T11:00:00.000Z");
  });
});

describe("fiscal debt", function () {
  function fiscal(seq: number, fields: Partial<LedgerRecord>): LedgerRecord {
    return {
      id: `A-T1-${String(seq).padStart(8, "0")}`,
      kind: "sale",
      terminal: "T1",
      seq,
      at: "2026-03-10T15:00:00.000Z",
      folio: null,
      provisionalFolio: null,
      transmitBy: "2026-03-13T15:00:00.000Z",
      ...fields,
    } as LedgerRecord;
  }
  const now = Date.parse("2026-03-12T15:00:00.000Z");

  it("settles acknowledged final folios", function () {
    const records = [fiscal(1, { folio: "001-00000121" }), fiscal(2, { folio: "001-00000122" })];
    const pending = pendingFiscalRecords(records, { acked: () => 1, finalFolio: () => null }, now);
    expect(pending.map((d) => d.record)).to.deep.equal(["A-T1-00000002"]);
    expect(pending[0]!.waitingFor).to.equal("relay");
    expect(pending[0]!.msLeft).to.equal(86_400_000);
    expect(pending[0]!.overdue).to.equal(false);
  });

  it("keeps provisional folios until assigned", function () {
    const records = [fiscal(1, { provisionalFolio: "T1-P-000001" }), fiscal(2, { provisionalFolio: "T1-P-000002" })];
    const pending = pendingFiscalRecords(records, { acked: () => 2, finalFolio: (id) => (id === "A-T1-00000001" ? "UUID-1" : null) }, now);
    expect(pending.map((d) => [d.record, d.waitingFor, d.folio, d.provisional])).to.deep.equal([["A-T1-00000002", "final-folio", "T1-P-000002", true]]);
  });

  it("sorts the most urgent first", function () {
    const records = [
      fiscal(1, { transmitBy: "2026-03-13T15:00:00.000Z" }),
      fiscal(2, { transmitBy: "2026-03-11T15:00:00.000Z" }),
      fiscal(3, { kind: "cash-movement", transmitBy: undefined }),
    ];
    const pending = pendingFiscalRecords(records, { acked: () => 0, finalFolio: () => null }, now);
    expect(pending.map((d) => d.record)).to.deep.equal(["A-T1-00000002", "A-T1-00000001"]);
    expect(pending[0]!.overdue).to.equal(true);
  });
});
