import { expect } from "chai";
import type { LedgerRef } from "@mercora/crdt-model";
import { liveLedgerIds, ownLiveLedgers, peerLiveLedgers } from "../src/live-set.ts";

function ref(terminal: string, businessDay: string, firstSeq: number): LedgerRef {
  return { documentId: `${terminal}-${businessDay}`, url: `automerge:${terminal}-${businessDay}`, terminal, businessDay, part: 1, firstSeq };
}

describe("live set", function () {
  // Three days of 300 records each: seq 1-300, 301-600, 601 onwards.
  const days = ["2026-12-02", "2026-12-03", "2026-12-04"];
  const ledgers = (terminal: string) => days.map((day, i) => ref(terminal, day, i * 300 + 1));

  it("opens own ledgers above the covered mark", function () {
    expect(ownLiveLedgers(ledgers("T1"), 600, new Set()).map((l) => l.businessDay)).to.deep.equal(["2026-12-04"]);
    expect(ownLiveLedgers(ledgers("T1"), 599, new Set()).map((l) => l.businessDay)).to.deep.equal(["2026-12-03", "2026-12-04"]);
    expect(ownLiveLedgers(ledgers("T1"), 0, new Set()).length).to.equal(3);
  });

  it("opens own ledgers the log names", function () {
    const live = ownLiveLedgers(ledgers("T1"), 900, new Set(["T1-2026-12-02"]));
    expect(live.map((l) => l.businessDay)).to.deep.equal(["2026-12-02", "2026-12-04"]);
  });

  it("holds peer ledgers of recent days", function () {
    const recent = new Set(["2026-12-03", "2026-12-04"]);
    expect(peerLiveLedgers(ledgers("T2"), recent, 900).map((l) => l.businessDay)).to.deep.equal(["2026-12-03", "2026-12-04"]);
    // A peer's older ledger with records the baseline has not folded counts in stock, so it stays.
    expect(peerLiveLedgers(ledgers("T2"), recent, 250).map((l) => l.businessDay)).to.deep.equal(days);
    // The newest ledger stays whatever its day, as its last record is unknown.
    expect(peerLiveLedgers(ledgers("T2"), new Set(["2026-12-09"]), 900).map((l) => l.businessDay)).to.deep.equal(["2026-12-04"]);
  });

  it("lists the live ledgers of a branch", function () {
    const terminals = ["T1", "T2"].map((id) => ({ id, name: id, lanUrl: null, ledgers: ledgers(id) }));
    const live = liveLedgerIds(terminals, "T1", 600, new Set(["2026-12-04"]), () => 900);
    expect([...live].sort()).to.deep.equal(["T1-2026-12-04", "T2-2026-12-04"]);
  });
});
