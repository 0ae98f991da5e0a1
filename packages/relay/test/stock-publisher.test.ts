import type * as Automerge from "@automerge/automerge";
import type { DocHandle, Repo as RepoClass } from "@automerge/automerge-repo";
import { expect } from "chai";
import { pino } from "pino";
import { businessDayOf, initDirectory, initStockBaseline, readAllBaselineStock, readBaselineInfo, readDirectoryUrls } from "@mercora/crdt-model";
import type { DirectoryDoc, StockBaselineDoc } from "@mercora/crdt-model";
import { StockPublisher } from "../src/index.ts";

const ZONE = "America/Argentina/Buenos_Aires";
const sale = (terminal: string, seq: number, sku: string, delta: number) => ({ terminal, seq, stock: [{ sku, delta }] });

describe("stock publisher", function () {
  let A: typeof Automerge;
  let Repo: typeof RepoClass;
  let repo: RepoClass;
  let directory: DocHandle<DirectoryDoc>;
  let published: (() => void) | null;
  let current: StockPublisher | null = null;

  before(async function () {
    // Mocha may load this file as CommonJS; automerge-repo needs Automerge's ES module build, which loads its WebAssembly.
    A = await import("@automerge/automerge");
    ({ Repo } = await import("@automerge/automerge-repo"));
  });

  afterEach(async function () {
    current?.close();
    await repo?.shutdown();
  });

  /** Creates a branch with a baseline opened on `businessDay`, and a publisher on it. */
  async function branch(businessDay: string, options: { rollChanges?: number; minIntervalMs?: number } = {}) {
    repo = new Repo({ network: [] });
    const marks = { T1: 0, T2: 0 };
    const baseline = repo.create<StockBaselineDoc>(
      initStockBaseline({
        branch: "A",
        epoch: 1,
        previousUrl: null,
        openedAt: "2026-12-01T12:00:00Z",
        businessDay,
        stock: { "779": 1, "780": 10 },
        applied: marks,
        windowApplied: marks,
        dayStartApplied: { T1: 0, T2: 0 },
      }),
    );
    directory = repo.create<DirectoryDoc>(
      initDirectory({
        branch: "A",
        name: "Centro",
        timeZone: ZONE,
        cashRoundingIncrement: 0,
        catalogUrl: "automerge:catalog",
        conflictsUrl: "automerge:conflicts",
        permissionsUrl: "automerge:permissions",
        foliosUrl: "automerge:folios",
        ingestUrl: "automerge:ingest",
        baselineUrl: baseline.url,
        terminals: [{ id: "T1", name: "Caja 1" }, { id: "T2", name: "Caja 2" }],
      }),
    );
    published = null;
    const publisher = new StockPublisher({
      branch: "A",
      repo,
      log: pino({ level: "silent" }),
      directory: () => directory,
      onDocument: () => undefined,
      onPublished: () => published?.(),
      ...options,
    });
    await publisher.open(baseline.url);
    current = publisher;
    return { publisher, baseline };
  }

  function nextPublish(): Promise<void> {
    return new Promise((resolve) => {
      published = resolve;
    });
  }

  it("folds records in sequence once", async function () {
    const { publisher } = await branch(businessDayOf(new Date(), ZONE));
    const records = [sale("T1", 1, "779", -1), sale("T1", 2, "780", -3), sale("T2", 1, "779", -1), sale("T2", 3, "780", -1)];
    const find = (terminal: string, seq: number) => records.find((r) => r.terminal === terminal && r.seq === seq);
    for (const record of records) publisher.hold(record);
    expect(publisher.stock()).to.deep.equal({ "779": -1, "780": 6 });
    const folded = publisher.foldIngested(["T1", "T2"], () => 5, find);
    expect(folded).to.equal(3);
    expect(publisher.foldIngested(["T1", "T2"], () => 5, find)).to.equal(0);
    expect(publisher.applied("T2")).to.equal(1);
    expect(publisher.stock()).to.deep.equal({ "779": -1, "780": 6 });
    expect(publisher.negative()).to.deep.equal({ "779": -1 });
  });

  it("publishes stock and marks in one change", async function () {
    const { publisher, baseline } = await branch(businessDayOf(new Date(), ZONE));
    const records = [sale("T1", 1, "779", -1), sale("T2", 1, "779", -1)];
    for (const record of records) publisher.hold(record);
    const before = A.stats(baseline.doc() as Automerge.Doc<unknown>).numChanges;
    const done = nextPublish();
    publisher.foldIngested(["T1", "T2"], () => 1, (terminal, seq) => records.find((r) => r.terminal === terminal && r.seq === seq));
    await done;
    const doc = baseline.doc();
    expect(A.stats(doc as Automerge.Doc<unknown>).numChanges).to.equal(before + 1);
    expect(readAllBaselineStock(doc)).to.deep.equal({ "779": -1, "780": 10 });
    expect(readBaselineInfo(doc).applied).to.deep.equal({ T1: 1, T2: 1 });
    expect(publisher.stock()).to.deep.equal({ "779": -1, "780": 10 });
  });

  it("rolls at a new business day", async function () {
    const { publisher, baseline } = await branch("2026-12-01");
    const records = [sale("T1", 1, "780", -2)];
    publisher.hold(records[0]!);
    const done = nextPublish();
    publisher.foldIngested(["T1", "T2"], () => 1, () => records[0]);
    await done;
    const url = readDirectoryUrls(directory.doc()).baselineUrl;
    expect(url).to.not.equal(baseline.url);
    expect(publisher.handle.url).to.equal(url);
    const info = readBaselineInfo(publisher.handle.doc());
    expect(info.epoch).to.equal(2);
    expect(info.previousUrl).to.equal(baseline.url);
    expect(info.businessDay).to.equal(businessDayOf(new Date(), ZONE));
    expect(info.applied).to.deep.equal({ T1: 1, T2: 0 });
    // The window moves to the start of the old document's day; today starts at the current marks.
    expect(info.windowApplied).to.deep.equal({ T1: 0, T2: 0 });
    expect(info.dayStartApplied).to.deep.equal({ T1: 1, T2: 0 });
    expect(readAllBaselineStock(publisher.handle.doc())).to.deep.equal({ "779": 1, "780": 8 });
  });

  it("rolls when history passes the threshold", async function () {
    const { publisher, baseline } = await branch(businessDayOf(new Date(), ZONE), { rollChanges: 2, minIntervalMs: 0 });
    const records = [sale("T1", 1, "780", -2), sale("T1", 2, "780", -1)];
    const find = (terminal: string, seq: number) => records.find((r) => r.terminal === terminal && r.seq === seq);
    for (const record of records) publisher.hold(record);
    let done = nextPublish();
    publisher.foldIngested(["T1"], () => 1, find);
    await done;
    expect(publisher.handle.url, "the first publish fits").to.equal(baseline.url);
    done = nextPublish();
    publisher.foldIngested(["T1"], () => 2, find);
    await done;
    expect(publisher.handle.url).to.not.equal(baseline.url);
    expect(publisher.epoch).to.equal(2);
    expect(readAllBaselineStock(publisher.handle.doc())["780"]).to.equal(7);
    expect(readBaselineInfo(publisher.handle.doc()).windowApplied, "same day: the window stays").to.deep.equal({ T1: 0, T2: 0 });
  });

  it("spaces publishes by the interval", async function () {
    const { publisher, baseline } = await branch(businessDayOf(new Date(), ZONE), { minIntervalMs: 2500 });
    const records = [sale("T1", 1, "780", -2), sale("T1", 2, "780", -1)];
    const find = (terminal: string, seq: number) => records.find((r) => r.terminal === terminal && r.seq === seq);
    for (const record of records) publisher.hold(record);
    let done = nextPublish();
    let started = Date.now();
    publisher.foldIngested(["T1"], () => 1, find);
    await done;
    expect(Date.now() - started, "the first publish waits only for quiet").to.be.below(2500);
    done = nextPublish();
    started = Date.now();
    publisher.foldIngested(["T1"], () => 2, find);
    await done;
    expect(Date.now() - started, "the second waits for the interval").to.be.at.least(1400);
    expect(readAllBaselineStock(baseline.doc())["780"]).to.equal(7);
    expect(readBaselineInfo(baseline.doc()).applied).to.deep.equal({ T1: 2, T2: 0 });
  });
});
