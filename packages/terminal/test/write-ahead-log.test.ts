import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import type { Repo as RepoClass } from "@automerge/automerge-repo";
import { expect } from "chai";
import { pino } from "pino";
import type { AnyLedgerDoc, LedgerRecord } from "@mercora/crdt-model";
import { appendRecord, canonicalJson, initLedger, storedRecords } from "@mercora/crdt-model";
import { catalogProducts } from "../../../scripts/bench/lib/fixture.ts";
import { RecordChain } from "../../../scripts/bench/lib/records.ts";
import { DurableWrites, WriteAheadLog, replayFrames } from "../src/index.ts";
import type { LogFrame } from "../src/index.ts";
import { SEGMENT_PREALLOCATED_BYTES } from "../src/write-ahead-log.ts";

const KEY = randomBytes(32);

/** Returns a frame's change hash or record id. */
function keyOf(frame: LogFrame): string {
  return frame.kind === "change" ? frame.hash : frame.recordId;
}

/** Sealed sales of terminal T1 of branch A with their canonical JSON, chained from the first. */
function sales(count: number): { record: LedgerRecord; json: string }[] {
  const chain = new RecordChain("T1", { branch: "A" });
  const products = catalogProducts();
  return Array.from({ length: count }, () => {
    const record = chain.next(products, new Date("2026-12-04T15:00:00.000Z"));
    return { record, json: canonicalJson(record) };
  });
}

/** Changes of one document, each adding one key, with their hashes. */
function changes(count: number): { doc: A.Doc<Record<string, number>>; list: { change: Uint8Array; hash: string }[] } {
  let doc = A.from<Record<string, number>>({});
  const list: { change: Uint8Array; hash: string }[] = [];
  for (let i = 0; i < count; i++) {
    doc = A.change(doc, (d) => void (d[`k${i}`] = i));
    const change = A.getLastLocalChange(doc)!;
    list.push({ change, hash: A.decodeChange(change).hash });
  }
  return { doc, list };
}

/** Appends a sealed record to a ledger inside a change. */
function appendRecordTo(doc: AnyLedgerDoc, sale: { record: LedgerRecord; json: string }): void {
  appendRecord(doc, sale.record, sale.json);
}

describe("write-ahead log", function () {
  let dir: string;
  let Repo: typeof RepoClass;

  before(async function () {
    // Mocha may load this file as CommonJS; automerge-repo needs Automerge's ES module build, which loads its WebAssembly.
    await import("@automerge/automerge");
    ({ Repo } = await import("@automerge/automerge-repo"));
  });

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), "mercora-wal-"));
  });

  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  async function write(count: number): Promise<{ list: { change: Uint8Array; hash: string }[] }> {
    const log = new WriteAheadLog(dir, KEY);
    await log.open();
    const { list } = changes(count);
    for (const { change, hash } of list) await log.append("doc-1", hash, change);
    await log.close();
    return { list };
  }

  async function segmentFiles(): Promise<string[]> {
    return (await readdir(dir)).filter((name) => name.endsWith(".wal")).sort();
  }

  it("reads back every appended frame", async function () {
    const { list } = await write(3);
    const log = new WriteAheadLog(dir, KEY);
    const { frames, problems } = await log.open();
    await log.close();
    expect(problems).to.deep.equal([]);
    expect(frames.map(keyOf)).to.deep.equal(list.map((c) => c.hash));
    expect(frames.map((f, i) => f.kind === "change" && Buffer.from(f.change).equals(Buffer.from(list[i]!.change)))).to.deep.equal([true, true, true]);
  });

  it("stores no change in clear", async function () {
    let doc = A.from<{ name: string }>({ name: "" });
    doc = A.change(doc, (d) => void (d.name = "Luis Cajero"));
    const change = A.getLastLocalChange(doc)!;
    const log = new WriteAheadLog(dir, KEY);
    await log.open();
    await log.append("doc-1", A.decodeChange(change).hash, change);
    await log.close();
    const [file] = await segmentFiles();
    expect((await readFile(join(dir, file!))).includes(Buffer.from("Luis Cajero"))).to.equal(false);
  });

  it("reports a torn last frame and keeps the rest", async function () {
    const { list } = await write(3);
    const [file] = await segmentFiles();
    const path = join(dir, file!);
    await truncate(path, (await stat(path)).size - 7);
    const log = new WriteAheadLog(dir, KEY);
    const { frames, problems } = await log.open();
    await log.close();
    expect(frames.map(keyOf)).to.deep.equal(list.slice(0, 2).map((c) => c.hash));
    expect(problems).to.have.length(1);
    expect(problems[0]!.torn).to.equal(true);
    expect(problems[0]!.reason).to.include("cut short");
  });

  /** Appends `count` changes and returns the open segment's bytes as a crash would leave them, with the frames' total length. */
  async function crashedSegment(count: number): Promise<{ bytes: Buffer; used: number; list: { change: Uint8Array; hash: string }[] }> {
    const log = new WriteAheadLog(dir, KEY);
    await log.open();
    const { list } = changes(count);
    for (const { change, hash } of list) await log.append("doc-1", hash, change);
    const [file] = await segmentFiles();
    const bytes = await readFile(join(dir, file!));
    const used = log.segmentBytes;
    await log.close();
    await rm(dir, { recursive: true, force: true });
    return { bytes, used, list };
  }

  async function openCopy(bytes: Buffer) {
    const copy = await mkdtemp(join(tmpdir(), "mercora-wal-copy-"));
    try {
      await writeFile(join(copy, "00000001.wal"), bytes);
      const log = new WriteAheadLog(copy, KEY);
      const opened = await log.open();
      await log.close();
      return opened;
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  }

  it("writes over zeros, trims at close", async function () {
    const { bytes, used } = await crashedSegment(3);
    expect(bytes.length).to.equal(SEGMENT_PREALLOCATED_BYTES);
    expect(bytes.subarray(used).every((byte) => byte === 0)).to.equal(true);
    await write(3);
    const [file] = await segmentFiles();
    expect((await stat(join(dir, file!))).size).to.be.below(SEGMENT_PREALLOCATED_BYTES);
  });

  it("reads a segment a crash left", async function () {
    const { bytes, list } = await crashedSegment(3);
    const { frames, problems } = await openCopy(bytes);
    expect(problems).to.deep.equal([]);
    expect(frames.map(keyOf)).to.deep.equal(list.map((c) => c.hash));
  });

  it("reports a torn frame before zeros", async function () {
    const { bytes, used, list } = await crashedSegment(3);
    bytes.fill(0, used - 7, used);
    const { frames, problems } = await openCopy(bytes);
    expect(frames.map(keyOf)).to.deep.equal(list.slice(0, 2).map((c) => c.hash));
    expect(problems).to.have.length(1);
    expect(problems[0]).to.include({ torn: true, hash: list[2]!.hash });
  });

  it("reports data after zeros as damage", async function () {
    const { bytes, used, list } = await crashedSegment(2);
    // A frame whose first bytes were lost: its length reads as zero, its tail does not.
    bytes[used + 600] = 0x5a;
    const { frames, problems } = await openCopy(bytes);
    expect(frames.map(keyOf)).to.deep.equal(list.map((c) => c.hash));
    expect(problems).to.have.length(1);
    expect(problems[0]).to.include({ torn: false, offset: used + 600 });
    expect(problems[0]!.reason).to.include(`follow the end of the frames at offset ${used}`);
  });

  it("reports a damaged frame with its change hash", async function () {
    const { list } = await write(3);
    const [file] = await segmentFiles();
    const path = join(dir, file!);
    const bytes = await readFile(path);
    // The first frame's last byte is inside its sealed change.
    const firstLength = bytes.readUInt32BE(0);
    const last = 4 + firstLength - 1;
    bytes[last] = bytes[last]! ^ 0xff;
    await writeFile(path, bytes);
    const log = new WriteAheadLog(dir, KEY);
    const { frames, problems } = await log.open();
    await log.close();
    expect(frames.map(keyOf)).to.deep.equal(list.slice(1).map((c) => c.hash));
    expect(problems).to.have.length(1);
    expect(problems[0]).to.include({ torn: false, documentId: "doc-1", hash: list[0]!.hash });
    expect(problems[0]!.reason).to.include("authentication");
  });

  it("rejects frames sealed under another key", async function () {
    await write(1);
    const log = new WriteAheadLog(dir, randomBytes(32));
    const { frames, problems } = await log.open();
    await log.close();
    expect(frames).to.deep.equal([]);
    expect(problems).to.have.length(1);
  });

  it("replays only the changes a document lacks", async function () {
    const { list } = await write(4);
    const log = new WriteAheadLog(dir, KEY);
    const { frames } = await log.open();
    await log.close();
    const repo = new Repo({ network: [] });
    // Storage kept the first two changes; the log supplies the other two.
    const saved = A.applyChanges(A.init<Record<string, number>>(), list.slice(0, 2).map((c) => c.change))[0];
    const handle = repo.import<Record<string, number>>(A.save(saved));
    const result = await replayFrames(frames, async () => handle);
    expect(result.applied).to.equal(2);
    expect(result.missing.size).to.equal(0);
    expect(handle.doc()).to.deep.equal({ k0: 0, k1: 1, k2: 2, k3: 3 });
    await repo.shutdown();
  });

  it("deletes covered segments at a checkpoint", async function () {
    const repo = new Repo({ network: [] });
    const handle = repo.create<Record<string, number>>({});
    const durable = new DurableWrites(join(dir, "terminal"), KEY, pino({ level: "silent" }));
    const before = await durable.open();
    expect(before.checkpoint).to.equal(null);
    handle.change((d) => void (d.a = 1));
    await durable.acknowledge(handle);
    const counters = { lastSeq: 1, lastHash: "h", folios: { byDocumentType: {}, highestNumber: 0, highestProvisional: 0 } };
    await durable.checkpoint(repo, counters);
    await durable.settled();
    await durable.close();
    const reopened = new DurableWrites(join(dir, "terminal"), KEY, pino({ level: "silent" }));
    const state = await reopened.open();
    await reopened.close();
    expect(state.frames).to.deep.equal([]);
    expect(state.checkpoint?.counters).to.deep.equal(counters);
    expect(state.checkpoint?.heads[handle.documentId]).to.deep.equal(A.getHeads(handle.doc()));
    await repo.shutdown();
  });

  it("reads record frames between changes", async function () {
    const { list } = changes(2);
    const [sale] = sales(1);
    const log = new WriteAheadLog(dir, KEY);
    await log.open();
    await log.append("doc-1", list[0]!.hash, list[0]!.change);
    await log.appendRecord("ledger-1", sale!.record.id, sale!.json);
    await log.append("doc-1", list[1]!.hash, list[1]!.change);
    await log.close();
    const [file] = await segmentFiles();
    expect((await readFile(join(dir, file!))).includes(Buffer.from(sale!.record.lines[0]!.name))).to.equal(false);
    const reopened = new WriteAheadLog(dir, KEY);
    const { frames, problems } = await reopened.open();
    await reopened.close();
    expect(problems).to.deep.equal([]);
    expect(frames.map((f) => f.kind)).to.deep.equal(["change", "record", "change"]);
    expect(frames.map(keyOf)).to.deep.equal([list[0]!.hash, sale!.record.id, list[1]!.hash]);
    expect(frames[1]).to.include({ documentId: "ledger-1", json: sale!.json });
  });

  it("appends logged records a ledger lacks", async function () {
    const list = sales(3);
    const repo = new Repo({ network: [] });
    const handle = repo.create<AnyLedgerDoc>(initLedger({ branch: "A", terminal: "T1", businessDay: "2026-12-04", part: 1, firstSeq: 1 }));
    // The ledger kept the first record, and the log contains all three.
    handle.change((doc) => void appendRecordTo(doc, list[0]!));
    const frames: LogFrame[] = list.map(({ record, json }) => ({ kind: "record", documentId: handle.documentId, recordId: record.id, json, segment: 1 }));
    const logged: string[][] = [];
    const result = await replayFrames(frames, async () => handle as never, async (h) => void logged.push(A.getHeads(h.doc() as A.Doc<unknown>)));
    expect(result.applied).to.equal(2);
    expect(result.missing.size).to.equal(0);
    expect(storedRecords(handle.doc()).map((entry) => entry.id)).to.deep.equal(list.map((s) => s.record.id));
    expect(logged).to.deep.equal([A.getHeads(handle.doc() as A.Doc<unknown>)]);
    // A second replay finds every record and changes nothing.
    const again = await replayFrames(frames, async () => handle as never, async () => expect.fail("no change to log"));
    expect(again.applied).to.equal(0);
    await repo.shutdown();
  });

  it("reports rejected logged records missing", async function () {
    const [sale] = sales(1);
    const repo = new Repo({ network: [] });
    const handle = repo.create<AnyLedgerDoc>(initLedger({ branch: "A", terminal: "T2", businessDay: "2026-12-04", part: 1, firstSeq: 1 }));
    const frames: LogFrame[] = [{ kind: "record", documentId: handle.documentId, recordId: sale!.record.id, json: sale!.json, segment: 1 }];
    const result = await replayFrames(frames, async () => handle as never);
    expect(result.applied).to.equal(0);
    expect(result.missing.get(handle.documentId)).to.deep.equal([sale!.record.id]);
    await repo.shutdown();
  });

  it("delays checkpoints for unappended records", async function () {
    const [sale] = sales(1);
    const repo = new Repo({ network: [] });
    const handle = repo.create<AnyLedgerDoc>(initLedger({ branch: "A", terminal: "T1", businessDay: "2026-12-04", part: 1, firstSeq: 1 }));
    const durable = new DurableWrites(join(dir, "terminal"), KEY, pino({ level: "silent" }));
    await durable.open();
    durable.countPendingRecordsWith(() => 1);
    const counters = { lastSeq: 1, lastHash: sale!.record.hash, folios: { byDocumentType: {}, highestNumber: 0, highestProvisional: 0 } };
    await durable.logRecord(handle.documentId, sale!.record.id, sale!.json);
    await durable.checkpoint(repo, counters);
    await durable.settled();
    await durable.close();

    // No checkpoint ran, so the record frame is still there.
    const reopened = new DurableWrites(join(dir, "terminal"), KEY, pino({ level: "silent" }));
    const state = await reopened.open();
    let pending = 1;
    reopened.countPendingRecordsWith(() => pending);
    expect(state.checkpoint).to.equal(null);
    expect(state.frames.map(keyOf)).to.deep.equal([sale!.record.id]);

    handle.change((doc) => void appendRecordTo(doc, sale!));
    await reopened.acknowledge(handle as never);
    pending = 0;
    await reopened.checkpoint(repo, counters);
    await reopened.settled();
    await reopened.close();

    const last = new DurableWrites(join(dir, "terminal"), KEY, pino({ level: "silent" }));
    const after = await last.open();
    await last.close();
    expect(after.checkpoint?.counters).to.deep.equal(counters);
    expect(after.frames).to.deep.equal([]);
    await repo.shutdown();
  });

  it("keeps a frame appended during rotation", async function () {
    const { list } = changes(3);
    const log = new WriteAheadLog(dir, KEY);
    await log.open();
    await log.append("doc-1", list[0]!.hash, list[0]!.change);
    const rotation = log.rotate();
    // The rotation waits on the disk, and an append in that time goes to the segment still in use.
    await log.append("doc-2", list[1]!.hash, list[1]!.change);
    const rotated = await rotation;
    await log.append("doc-1", list[2]!.hash, list[2]!.change);
    await log.close();
    expect([...rotated.documents].sort()).to.deep.equal(["doc-1", "doc-2"]);
    const reopened = new WriteAheadLog(dir, KEY);
    const { frames, problems } = await reopened.open();
    await reopened.close();
    expect(problems).to.deep.equal([]);
    expect(frames.map(keyOf)).to.deep.equal(list.map((c) => c.hash));
  });

  it("defers records of an incomplete ledger", async function () {
    const [sale] = sales(1);
    const repo = new Repo({ network: [] });
    const handle = repo.create<AnyLedgerDoc>(initLedger({ branch: "A", terminal: "T1", businessDay: "2026-12-04", part: 1, firstSeq: 1 }));
    const frames: LogFrame[] = [{ kind: "record", documentId: handle.documentId, recordId: sale!.record.id, json: sale!.json, segment: 1 }];
    const result = await replayFrames(frames, async () => handle as never, async () => expect.fail("no change to log"), () => false);
    expect(result.applied).to.equal(0);
    expect(result.deferred).to.deep.equal(frames);
    expect(result.missing.get(handle.documentId)).to.deep.equal([sale!.record.id]);
    expect(storedRecords(handle.doc())).to.deep.equal([]);
    await repo.shutdown();
  });

  it("keeps segments while told to", async function () {
    const repo = new Repo({ network: [] });
    const handle = repo.create<Record<string, number>>({});
    const durable = new DurableWrites(join(dir, "terminal"), KEY, pino({ level: "silent" }));
    await durable.open();
    let keep = true;
    durable.keepLogWhile(() => keep);
    handle.change((d) => void (d.a = 1));
    await durable.acknowledge(handle);
    const counters = { lastSeq: 1, lastHash: "h", folios: { byDocumentType: {}, highestNumber: 0, highestProvisional: 0 } };
    await durable.checkpoint(repo, counters);
    await durable.settled();
    expect((await readdir(join(dir, "terminal", "wal"))).filter((name) => name.endsWith(".wal"))).to.have.length(2);
    keep = false;
    await durable.checkpoint(repo, counters);
    await durable.settled();
    await durable.close();
    expect((await readdir(join(dir, "terminal", "wal"))).filter((name) => name.endsWith(".wal"))).to.have.length(1);
    await repo.shutdown();
  });
});
