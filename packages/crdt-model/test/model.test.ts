import { readdirSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as A from "@automerge/automerge";
import { expect } from "chai";
import {
  AvailableStock,
  DurableFileStorageAdapter,
  HybridLogicalClock,
  StockFold,
  SyncStateCache,
  ValidationError,
  businessDayOf,
  settleTenders,
  compareHlc,
  divideRoundHalfUp,
  MOVED_BUCKET,
  MOVED_FOLD_MIN_SKUS,
  STOCK_BUCKETS,
  STORAGE_CONCURRENCY,
  imm,
  initStockBaseline,
  openSealedBytes,
  readAllBaselineStock,
  readBaselineStock,
  readStockBucket,
  sealBytes,
  splitTaxIncluded,
  str,
  stockBucket,
  writeBaselineStock,
} from "../src/index.ts";
import type { StockBaselineDoc } from "../src/index.ts";

describe("money", function () {
  it("rounds half up exactly", function () {
    expect(divideRoundHalfUp(5, 2)).to.equal(3);
    expect(divideRoundHalfUp(4, 2)).to.equal(2);
    expect(divideRoundHalfUp(7, 3)).to.equal(2);
    expect(divideRoundHalfUp(Number.MAX_SAFE_INTEGER, 1)).to.equal(Number.MAX_SAFE_INTEGER);
  });

  it("splits tax-included amounts per line", function () {
    // 159.99 at 21%: base 132.22, tax 27.77.
    expect(splitTaxIncluded(15999, 2100)).to.deep.equal({ base: 13222, tax: 2777 });
    // 1,250.00 at 13%: base 1,106.19, tax 143.81.
    expect(splitTaxIncluded(125000, 1300)).to.deep.equal({ base: 110619, tax: 14381 });
    expect(splitTaxIncluded(1000, 0)).to.deep.equal({ base: 1000, tax: 0 });
  });

  it("gives change on cash only", function () {
    const options = { currency: "ARS", cashRoundingIncrement: 0 };
    const settled = settleTenders([{ type: "card", amount: 700 }, { type: "cash", amount: 500 }], 1000, options);
    expect(settled.change).to.equal(200);
    expect(settled.cashIn).to.equal(300);
    expect(() => settleTenders([{ type: "card", amount: 1200 }], 1000, options)).to.throw(ValidationError, /change is given on cash only/);
    expect(() => settleTenders([{ type: "cash", amount: 999 }], 1000, options)).to.throw(ValidationError, /leave 1 still due/);
    expect(() => settleTenders([], 1000, options)).to.throw(ValidationError, /no tenders/);
    expect(() => settleTenders([{ type: "cash", amount: 0 }], 0, options)).to.throw(ValidationError, /not a positive whole number/);
  });

  it("names the business day in the store zone", function () {
    const instant = new Date("2026-12-05T02:30:00Z");
    expect(businessDayOf(instant, "America/Argentina/Buenos_Aires")).to.equal("2026-12-04");
    expect(businessDayOf(instant, "UTC")).to.equal("2026-12-05");
  });

  it("business day turns at local midnight", function () {
    const zone = "Asia/Kathmandu"; // UTC+05:45: midnight of 2026-12-05 is 18:15 UTC the day before
    for (const [at, day] of [
      ["2026-12-04T18:14:00.000Z", "2026-12-04"],
      ["2026-12-04T18:14:59.999Z", "2026-12-04"],
      ["2026-12-04T18:15:00.000Z", "2026-12-05"],
      ["2026-12-04T18:15:59.999Z", "2026-12-05"],
      ["2026-12-04T18:14:30.000Z", "2026-12-04"],
      ["2026-12-04T18:15:00.000Z", "2026-12-05"],
    ] as const) {
      expect(businessDayOf(new Date(at), zone), at).to.equal(day);
    }
    expect(businessDayOf(new Date("2026-12-04T18:15:00.000Z"), "America/Mexico_City")).to.equal("2026-12-04");
    expect(() => businessDayOf(new Date(Number.NaN), zone)).to.throw(RangeError);
  });
});

describe("hybrid logical clock", function () {
  it("orders events past a lagging wall clock", function () {
    let wall = 1_000;
    const fast = new HybridLogicalClock("T1", () => 5_000);
    const slow = new HybridLogicalClock("T2", () => wall);
    const remote = fast.now();
    slow.observe(remote);
    const local = slow.now();
    expect(compareHlc(remote, local)).to.equal(-1);
    wall = 6_000;
    expect(slow.now().startsWith("0000000000006000.0000")).to.equal(true);
  });

  it("counts events within one millisecond", function () {
    const clock = new HybridLogicalClock("T1", () => 42);
    const stamps = [clock.now(), clock.now(), clock.now()];
    expect(stamps).to.deep.equal([...stamps].sort());
    expect(new Set(stamps).size).to.equal(3);
  });
});

function fromValue<T>(value: T): A.Doc<T> {
  return A.from(value as Record<string, unknown>) as unknown as A.Doc<T>;
}

describe("stock baseline and deltas", function () {
  const init = () =>
    initStockBaseline({
      branch: "A",
      epoch: 1,
      previousUrl: null,
      openedAt: "2026-12-04T00:00:00Z",
      businessDay: "2026-12-04",
      stock: { "779": 1, "780": 5 },
      applied: { T1: 0, T2: 0 },
      windowApplied: { T1: 0, T2: 0 },
      dayStartApplied: { T1: 0, T2: 0 },
    });
  const saleOf = (terminal: string, seq: number, sku = "779", delta = -1) => ({ terminal, seq, stock: [{ sku, delta }] });
  /** Builds a baseline as relays opened it before the bucket of moved SKUs existed. */
  const initWithoutMoved = () => {
    const value = init();
    delete value.stock[MOVED_BUCKET];
    return value;
  };
  /** Reads stock as terminals of earlier versions do: every bucket in the order the document lists them. */
  const readInListedOrder = (doc: StockBaselineDoc) => Object.assign({}, ...Object.values(doc.stock).map((bucket) => readStockBucket(bucket)));

  it("merges concurrent sales of the last unit", function () {
    // T1 and T2 each record a sale in their own ledger; a replica holding both counts both.
    const replica = new AvailableStock();
    replica.loadBaseline(init());
    replica.addRecord(saleOf("T1", 1));
    replica.addRecord(saleOf("T2", 1));
    expect(replica.stockOf("779")).to.equal(-1);
    expect(replica.negative()).to.deep.equal({ "779": -1 });
  });

  it("loses a sale when stock is a plain number", function () {
    // The same two sales on a last-writer-wins number end at 0 and hide the oversell,
    // which is why terminals never write stock, only deltas in their own ledgers.
    const base = A.from<{ stock: Record<string, number> }>({ stock: { "779": 1 } });
    const t1 = A.change(A.clone(base), (doc) => void (doc.stock["779"] = doc.stock["779"]! - 1));
    const t2 = A.change(A.clone(base), (doc) => void (doc.stock["779"] = doc.stock["779"]! - 1));
    expect(A.merge(t1, t2).stock["779"]).to.equal(0);
  });

  it("counts a record once", function () {
    const fold = new StockFold({ "779": 1 }, { T1: 0 });
    expect(fold.fold(saleOf("T1", 1))).to.equal(true);
    expect(fold.fold(saleOf("T1", 1))).to.equal(false);
    expect(fold.fold(saleOf("T1", 3))).to.equal(false);
    expect(fold.stockOf("779")).to.equal(0);
    const replica = new AvailableStock();
    replica.loadBaseline(init());
    replica.addRecord(saleOf("T1", 1));
    replica.addRecord(saleOf("T1", 1));
    expect(replica.stockOf("779")).to.equal(0);
  });

  it("keeps totals when the relay publishes", function () {
    let doc = A.from(init() as unknown as Record<string, unknown>) as unknown as A.Doc<StockBaselineDoc>;
    const replica = new AvailableStock();
    replica.loadBaseline(doc);
    const records = [saleOf("T1", 1), saleOf("T2", 1), saleOf("T2", 2, "780", -2)];
    for (const record of records) replica.addRecord(record);
    expect(replica.stockOf("779")).to.equal(-1);
    expect(replica.stockOf("780")).to.equal(3);
    // The relay folds T1's sale and T2's first only, and publishes them with the marks in one change.
    const fold = new StockFold({ "779": 1, "780": 5 }, { T1: 0, T2: 0 });
    fold.fold(records[0]!);
    fold.fold(records[1]!);
    const changes = fold.takeChanges()!;
    const before = A.getHeads(doc);
    doc = A.change(doc, (d) => writeBaselineStock(d, changes.units, changes.applied));
    replica.applyBaselinePatches(doc, A.diff(doc, before, A.getHeads(doc)));
    expect(readBaselineStock(doc, "779")).to.equal(-1);
    expect(replica.applied("T2")).to.equal(1);
    expect(replica.stockOf("779")).to.equal(-1);
    expect(replica.stockOf("780")).to.equal(3);
  });

  it("publishes into a missing bucket", function () {
    let doc = A.from(initWithoutMoved() as unknown as Record<string, unknown>) as unknown as A.Doc<StockBaselineDoc>;
    const bucket = stockBucket("779");
    doc = A.change(doc, (d) => void delete d.stock[bucket]);
    doc = A.change(doc, (d) => writeBaselineStock(d, new Map([["779", 7]]), { T1: 3 }));
    expect(readBaselineStock(doc, "779")).to.equal(7);
    expect(doc.applied["T1"]).to.equal(3);
  });

  it("rewrites one bucket without moved bucket", function () {
    let doc = A.from(initWithoutMoved() as unknown as Record<string, unknown>) as unknown as A.Doc<StockBaselineDoc>;
    expect(Object.keys(doc.stock)).to.have.length(STOCK_BUCKETS);
    expect(str(doc.stock[stockBucket("779")])).to.equal('{"779":1}');
    const before = A.getHeads(doc);
    doc = A.change(doc, (d) => writeBaselineStock(d, new Map([["779", 0]]), { T1: 1 }));
    const touched = A.diff(doc, before, A.getHeads(doc)).filter((patch) => patch.path[0] === "stock");
    expect(touched.map((patch) => patch.path)).to.deep.equal([["stock", stockBucket("779")]]);
    expect(readAllBaselineStock(doc)).to.deep.equal({ "779": 0, "780": 5 });
  });

  it("publishes into older map buckets", function () {
    // Baselines written before buckets were strings hold a map of units per SKU in each bucket.
    const value = initWithoutMoved() as unknown as { stock: Record<string, unknown> };
    value.stock = Object.fromEntries(Object.entries(value.stock).map(([bucket, text]) => [bucket, JSON.parse(str(text))]));
    let doc = A.from(value as unknown as Record<string, unknown>) as unknown as A.Doc<StockBaselineDoc>;
    const replica = new AvailableStock();
    replica.loadBaseline(doc);
    expect(replica.stockOf("780")).to.equal(5);
    const before = A.getHeads(doc);
    doc = A.change(doc, (d) => writeBaselineStock(d, new Map([["780", 4]]), { T1: 1 }));
    replica.applyBaselinePatches(doc, A.diff(doc, before, A.getHeads(doc)));
    expect(doc.stock[stockBucket("780")]).to.deep.equal({ "780": 4 });
    expect(readBaselineStock(doc, "780")).to.equal(4);
    expect(replica.stockOf("780")).to.equal(4);
  });

  it("publishes into the moved bucket", function () {
    let doc = A.from(init() as unknown as Record<string, unknown>) as unknown as A.Doc<StockBaselineDoc>;
    expect(Object.keys(doc.stock)).to.have.length(STOCK_BUCKETS + 1);
    const before = A.getHeads(doc);
    doc = A.change(doc, (d) => writeBaselineStock(d, new Map([["779", 0]]), { T1: 1 }));
    const touched = A.diff(doc, before, A.getHeads(doc)).filter((patch) => patch.path[0] === "stock");
    expect(touched.map((patch) => patch.path)).to.deep.equal([["stock", MOVED_BUCKET, "779"]]);
    expect(str(doc.stock[stockBucket("779")]), "the hashed bucket stays").to.equal('{"779":1}');
    expect(readBaselineStock(doc, "779")).to.equal(0);
    expect(readAllBaselineStock(doc)).to.deep.equal({ "779": 0, "780": 5 });
    const replica = new AvailableStock();
    replica.loadBaseline(doc);
    expect(replica.stockOf("779")).to.equal(0);
    expect(replica.stockOf("780")).to.equal(5);
  });

  it("reads moved SKUs as earlier terminals do", function () {
    let doc = A.from(init() as unknown as Record<string, unknown>) as unknown as A.Doc<StockBaselineDoc>;
    doc = A.change(doc, (d) => writeBaselineStock(d, new Map([["779", -3], ["780", 2]]), { T1: 4 }));
    const loaded = A.load<StockBaselineDoc>(A.save(doc));
    const synced = A.applyChanges(A.init<StockBaselineDoc>(), A.getAllChanges(doc))[0];
    for (const [name, copy] of [["loaded", loaded], ["synced", synced]] as const) {
      expect(Object.keys(copy.stock).at(-1), `${name}: the moved bucket is listed last`).to.equal(MOVED_BUCKET);
      expect(readInListedOrder(copy), name).to.deep.equal({ "779": -3, "780": 2 });
      expect(readAllBaselineStock(copy), name).to.deep.equal({ "779": -3, "780": 2 });
    }
  });

  it("folds moved SKUs on a large publish", function () {
    let doc = A.from(init() as unknown as Record<string, unknown>) as unknown as A.Doc<StockBaselineDoc>;
    doc = A.change(doc, (d) => writeBaselineStock(d, new Map([["779", 4]]), { T1: 1 }));
    const replica = new AvailableStock();
    replica.loadBaseline(doc);
    const large = new Map(Array.from({ length: MOVED_FOLD_MIN_SKUS }, (_, index) => [`S${index}`, index] as [string, number]));
    large.set("780", 2);
    const before = A.getHeads(doc);
    doc = A.change(doc, (d) => writeBaselineStock(d, large, { T1: 2 }));
    replica.applyBaselinePatches(doc, A.diff(doc, before, A.getHeads(doc)));
    expect(doc.stock[MOVED_BUCKET], "the moved bucket is empty again").to.deep.equal({});
    expect(readStockBucket(doc.stock[stockBucket("779")])["779"], "the earlier moved value reached its bucket").to.equal(4);
    const expected = { ...Object.fromEntries(large), "779": 4 };
    expect(readAllBaselineStock(doc)).to.deep.equal(expected);
    expect(readInListedOrder(doc), "earlier terminals read the same").to.deep.equal(expected);
    expect(replica.all(), "a replica patched by the change").to.deep.equal(expected);
    expect(replica.applied("T1")).to.equal(2);
    const synced = A.applyChanges(A.init<StockBaselineDoc>(), A.getAllChanges(doc))[0];
    expect(readAllBaselineStock(synced), "a replica synced from scratch").to.deep.equal(expected);
    // The next small publish goes to the moved bucket again.
    doc = A.change(doc, (d) => writeBaselineStock(d, new Map([["779", 3]]), { T1: 3 }));
    expect(doc.stock[MOVED_BUCKET]).to.deep.equal({ "779": 3 });
    expect(readBaselineStock(doc, "779")).to.equal(3);
  });

  it("keeps moved values over bucket rewrites", function () {
    let doc = A.from(init() as unknown as Record<string, unknown>) as unknown as A.Doc<StockBaselineDoc>;
    doc = A.change(doc, (d) => writeBaselineStock(d, new Map([["779", 4]]), { T1: 1 }));
    const replica = new AvailableStock();
    replica.loadBaseline(doc);
    const before = A.getHeads(doc);
    doc = A.change(doc, (d) => {
      d.stock[stockBucket("779")] = imm('{"779":9}');
    });
    replica.applyBaselinePatches(doc, A.diff(doc, before, A.getHeads(doc)));
    expect(replica.stockOf("779"), "the moved value still wins").to.equal(4);
  });

  it("names a damaged bucket", function () {
    expect(() => readStockBucket(imm("[1,2]"))).to.throw(/Stock bucket "\[1,2\]" is invalid/);
  });

  it("reads a SKU no baseline names as its deltas", function () {
    const replica = new AvailableStock();
    replica.loadBaseline(init());
    expect(replica.stockOf("999")).to.equal(null);
    replica.addRecord({ terminal: "T1", seq: 1, stock: [{ sku: "999", delta: 4 }] });
    replica.addRecord({ terminal: "T1", seq: 2, stock: [{ sku: "999", delta: -4 }] });
    expect(replica.stockOf("999")).to.equal(0);
  });
});

describe("durable file storage", function () {
  let root: string;

  beforeEach(async function () {
    root = await mkdtemp(join(tmpdir(), "mercora-storage-"));
  });

  afterEach(async function () {
    await rm(root, { recursive: true, force: true });
  });

  it("round-trips chunks by prefix", async function () {
    const storage = new DurableFileStorageAdapter(root);
    await storage.save(["doc1", "incremental", "a"], new Uint8Array([1, 2, 3]));
    await storage.save(["doc1", "snapshot", "b"], new Uint8Array([4]));
    await storage.save(["doc2", "incremental", "c"], new Uint8Array([5]));
    const chunks = await storage.loadRange(["doc1"]);
    expect(chunks.map((c) => c.key.join("/"))).to.deep.equal(["doc1/incremental/a", "doc1/snapshot/b"]);
    expect([...(await storage.load(["doc1", "incremental", "a"]))!]).to.deep.equal([1, 2, 3]);
    await storage.removeRange(["doc1", "incremental"]);
    expect(await storage.load(["doc1", "incremental", "a"])).to.equal(undefined);
    expect(await storage.load(["doc2", "incremental", "c"])).to.not.equal(undefined);
  });

  it("bounds open files under 1,000 saves", async function () {
    const storage = new DurableFileStorageAdapter(root);
    // Warm up: the first save creates the root and docs folders.
    await storage.save(["warm", "sync-state", "x"], new Uint8Array([0]));
    const openFiles = () => readdirSync("/proc/self/fd").length;
    const before = openFiles();
    let peak = before;
    let saving = true;
    const watch = (async () => {
      while (saving) {
        peak = Math.max(peak, openFiles());
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const keys = Array.from({ length: 1000 }, (_, i) => [`doc${i % 50}`, "sync-state", `peer${i}`]);
    await Promise.all(keys.map((key, i) => storage.save(key, new Uint8Array([i % 256, 1]))));
    saving = false;
    await watch;
    // Each operation keeps at most a chunk and its folder open.
    expect(peak - before).to.be.at.most(2 * STORAGE_CONCURRENCY);
    const loaded = await Promise.all(keys.map((key) => storage.load(key)));
    expect(loaded.every((bytes, i) => bytes !== undefined && bytes[0] === i % 256)).to.equal(true);
  });

  it("recreates a removed folder on save", async function () {
    const storage = new DurableFileStorageAdapter(root);
    await storage.save(["doc1", "incremental", "a"], new Uint8Array([1]));
    // The adapter remembers the folder; an operator clears it by hand.
    await rm(join(root, "docs", "doc1"), { recursive: true });
    await storage.save(["doc1", "incremental", "b"], new Uint8Array([2]));
    expect([...(await storage.load(["doc1", "incremental", "b"]))!]).to.deep.equal([2]);
  });

  it("quarantines a flipped byte once", async function () {
    const storage = new DurableFileStorageAdapter(root);
    await storage.save(["doc1", "incremental", "a"], new Uint8Array([1, 2, 3, 4]));
    const file = join(root, "docs", "doc1", "incremental", "a.chunk");
    const bytes = await readFile(file);
    bytes[bytes.length - 1] = 0xff;
    await writeFile(file, bytes);
    const reported: string[] = [];
    storage.on("damaged", (chunk) => reported.push(chunk.reason));
    expect(await storage.loadRange(["doc1"])).to.deep.equal([]);
    expect(await storage.loadRange(["doc1"])).to.deep.equal([]);
    expect(reported).to.have.length(1);
    expect(reported[0]).to.include("checksum");
    expect(await readdir(join(root, "quarantine"))).to.have.length(1);
  });

  it("quarantines a chunk cut short", async function () {
    const storage = new DurableFileStorageAdapter(root);
    await storage.save(["doc1", "incremental", "a"], new Uint8Array(100));
    const file = join(root, "docs", "doc1", "incremental", "a.chunk");
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, 20));
    expect(await storage.load(["doc1", "incremental", "a"])).to.equal(undefined);
    expect(storage.damagedChunks).to.have.length(1);
    expect(storage.damagedChunks[0]!.reason).to.include("shorter than");
  });

  it("uses a fresh nonce per chunk", async function () {
    const key = Buffer.alloc(32, 7);
    const sealed = Array.from({ length: 5000 }, () => sealBytes(key, new Uint8Array([1, 2, 3]), "doc1/incremental/a"));
    // Bytes 4 to 16 are the nonce; 5,000 seals cross a refill of the nonce pool.
    expect(new Set(sealed.map((bytes) => bytes.subarray(4, 16).toString("hex"))).size).to.equal(5000);
    expect([...(openSealedBytes(key, sealed[4999]!, "doc1/incremental/a") as Uint8Array)]).to.deep.equal([1, 2, 3]);
  });

  it("rejects keys that escape the folder", async function () {
    const storage = new DurableFileStorageAdapter(root);
    let error: unknown = null;
    try {
      await storage.save(["..", "x"], new Uint8Array([1]));
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).message).to.include("not a valid file name");
  });
});

describe("sync state cache", function () {
  let root: string;
  let disk: DurableFileStorageAdapter;
  let cache: SyncStateCache;
  const state = (n: number) => new Uint8Array([n, n + 1]);
  /** The test's disk, whose saves fail with "disk full" while `failing()` returns true. */
  const failingDisk = (failing: () => boolean) => ({
    load: (key: string[]) => disk.load(key),
    save: (key: string[], data: Uint8Array) => (failing() ? Promise.reject(new Error("disk full")) : disk.save(key, data)),
    remove: (key: string[]) => disk.remove(key),
    loadRange: (prefix: string[]) => disk.loadRange(prefix),
    removeRange: (prefix: string[]) => disk.removeRange(prefix),
  });
  const onDisk = async (key: string[]) => {
    const bytes = await new DurableFileStorageAdapter(root).load(key);
    return bytes ? [...bytes] : undefined;
  };

  beforeEach(async function () {
    root = await mkdtemp(join(tmpdir(), "mercora-sync-states-"));
    disk = new DurableFileStorageAdapter(root);
    // Long enough that no timed write runs during a test.
    cache = new SyncStateCache(disk, { flushMs: 600_000 });
  });

  afterEach(async function () {
    await cache.close();
    await rm(root, { recursive: true, force: true });
  });

  it("holds saved states until a flush", async function () {
    const key = ["doc1", "sync-state", "peer1"];
    await cache.save(key, state(1));
    await cache.save(key, state(2));
    expect([...(await cache.load(key))!]).to.deep.equal([2, 3]);
    expect(await onDisk(key)).to.equal(undefined);
    expect(cache.size).to.deep.equal({ states: 1, unwritten: 1 });
    await cache.flush();
    expect(await onDisk(key)).to.deep.equal([2, 3]);
    expect(cache.size).to.deep.equal({ states: 1, unwritten: 0 });
  });

  it("passes document chunks straight through", async function () {
    const key = ["doc1", "incremental", "abc"];
    await cache.save(key, state(7));
    expect(await onDisk(key)).to.deep.equal([7, 8]);
    expect(cache.size.states).to.equal(0);
  });

  it("loads a stored state once", async function () {
    const key = ["doc1", "sync-state", "peer1"];
    await disk.save(key, state(4));
    expect([...(await cache.load(key))!]).to.deep.equal([4, 5]);
    await rm(join(root, "docs", "doc1"), { recursive: true });
    expect([...(await cache.load(key))!]).to.deep.equal([4, 5]);
    expect(await cache.load(["doc1", "sync-state", "peer2"])).to.equal(undefined);
  });

  it("flushes pending states before loadRange", async function () {
    await cache.save(["doc1", "sync-state", "peer1"], state(1));
    await cache.save(["doc2", "sync-state", "peer1"], state(3));
    const chunks = await cache.loadRange(["doc1"]);
    expect(chunks.map((c) => c.key.join("/"))).to.deep.equal(["doc1/sync-state/peer1"]);
    expect(cache.size.unwritten).to.equal(1);
  });

  it("forgets states of a removed range", async function () {
    await cache.save(["doc1", "sync-state", "peer1"], state(1));
    await cache.save(["doc2", "sync-state", "peer1"], state(3));
    await cache.removeRange(["doc1"]);
    expect(await cache.load(["doc1", "sync-state", "peer1"])).to.equal(undefined);
    expect([...(await cache.load(["doc2", "sync-state", "peer1"]))!]).to.deep.equal([3, 4]);
  });

  it("evicts only written states", async function () {
    const small = new SyncStateCache(disk, { flushMs: 600_000, limit: 2 });
    for (let i = 0; i < 4; i++) await small.save(["doc1", "sync-state", `peer${i}`], state(i));
    expect(small.size).to.deep.equal({ states: 4, unwritten: 4 });
    await small.flush();
    await small.save(["doc1", "sync-state", "peer9"], state(9));
    expect(small.size).to.deep.equal({ states: 2, unwritten: 1 });
    // A dropped state is read back from disk.
    expect([...(await small.load(["doc1", "sync-state", "peer0"]))!]).to.deep.equal([0, 1]);
    await small.close();
  });

  it("flushes on close, then writes through", async function () {
    const key = ["doc1", "sync-state", "peer1"];
    await cache.save(key, state(1));
    await cache.close();
    expect(await onDisk(key)).to.deep.equal([1, 2]);
    await cache.save(key, state(5));
    expect(await onDisk(key)).to.deep.equal([5, 6]);
  });

  it("keeps states after a failed write", async function () {
    let failing = true;
    const guarded = new SyncStateCache(failingDisk(() => failing), { flushMs: 600_000 });
    await guarded.save(["doc1", "sync-state", "peer1"], state(1));
    let error: unknown = null;
    await guarded.flush().catch((caught: unknown) => (error = caught));
    expect((error as Error).message).to.include("disk full");
    expect(guarded.size.unwritten).to.equal(1);
    failing = false;
    await guarded.close();
    expect(await onDisk(["doc1", "sync-state", "peer1"])).to.deep.equal([1, 2]);
  });

  it("retries a failed timed write", async function () {
    let failures = 1;
    const errors: string[] = [];
    const timed = new SyncStateCache(failingDisk(() => failures-- > 0), { flushMs: 50, onError: (error) => errors.push((error as Error).message) });
    await timed.save(["doc1", "sync-state", "peer1"], state(1));
    let written: number[] | undefined;
    for (let i = 0; i < 100 && !written; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      written = await onDisk(["doc1", "sync-state", "peer1"]);
    }
    expect(written).to.deep.equal([1, 2]);
    expect(errors).to.have.length(1);
    expect(timed.size.unwritten).to.equal(0);
    await timed.close();
  });

  it("rejects a non-positive flush interval", function () {
    expect(() => new SyncStateCache(disk, { flushMs: 0 })).to.throw(RangeError, "flushMs");
  });
});
