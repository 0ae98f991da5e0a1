import { generateKeyPairSync } from "node:crypto";
import * as A from "@automerge/automerge";
import { expect } from "chai";
import {
  CatalogIndex,
  LEDGER_BUCKET_SIZE,
  LEDGER_PART_CAP,
  SCHEMA_VERSION,
  appendRecord,
  canonicalJson,
  countRecords,
  folioCountersOf,
  genesisHash,
  imm,
  initCatalog,
  initFolios,
  initLedger,
  ledgerBucket,
  ledgerBucketsReady,
  listRecords,
  maxSeq,
  nextFolio,
  nextFolioFrom,
  priceSale,
  putProducts,
  readStoredRecord,
  recordHash,
  recordHashOfJson,
  recordId,
  sealRecord,
  sealRecordJson,
  touchedRecordIds,
  verifyRecordIntegrity,
} from "../src/index.ts";
import type { AnyLedgerDoc, CatalogDoc, LedgerDoc, LedgerDocV1, LedgerRecord, LedgerRecordDoc } from "../src/index.ts";

const { privateKey, publicKey } = generateKeyPairSync("ed25519");

function record(seq: number, overrides: Partial<LedgerRecord> = {}): LedgerRecord {
  const base: Omit<LedgerRecord, "hash" | "signature" | "prevHash"> = {
    id: recordId("A", "T1", seq),
    kind: "sale",
    branch: "A",
    terminal: "T1",
    seq,
    hlc: `${String(1000 + seq).padStart(16, "0")}.0000.T1`,
    at: "2026-12-04T15:00:00.000Z",
    businessDay: "2026-12-04",
    timeZone: "America/Argentina/Buenos_Aires",
    epoch: 1,
    offline: false,
    cashier: "cajero",
    requestId: null,
    lines: [
      { sku: "779", barcode: null, name: "Yerba Ñandú", qty: 1, unitPrice: 121, taxCode: "IVA21", taxRateBp: 2100, base: 100, tax: 21, total: 121, stockBefore: 5, refLine: null, soldQty: null },
    ],
    tenders: [{ type: "cash", amount: 121 }],
    total: 121,
    tax: 21,
    cashRounding: 0,
    change: 0,
    stock: [{ sku: "779", delta: -1 }],
    cashAmount: 0,
    reason: null,
    refundOf: null,
    authorizedBy: null,
    deviceAt: null,
    folio: null,
    folioNumber: null,
    provisionalFolio: null,
    ...overrides,
  };
  return sealRecord(base, seq === 1 ? genesisHash("A", "T1") : "0".repeat(64), privateKey);
}

function ledgerDoc(): A.Doc<LedgerDoc> {
  const init = initLedger({ branch: "A", terminal: "T1", businessDay: "2026-12-04", part: 1, firstSeq: 1 });
  return A.from(init as unknown as Record<string, unknown>) as unknown as A.Doc<LedgerDoc>;
}

/** A record as a version 1 ledger stored it: a nested object with immutable strings. */
function v1Record(plain: LedgerRecord): LedgerRecordDoc {
  const wrap = (value: unknown): unknown => {
    if (typeof value === "string") return imm(value);
    if (Array.isArray(value)) return value.map(wrap);
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wrap(v)]));
    return value;
  };
  return wrap(plain) as LedgerRecordDoc;
}

describe("ledger schema v2", function () {
  it("stores a record as one JSON string", function () {
    const first = record(1);
    let doc = ledgerDoc();
    doc = A.change(doc, (d) => void appendRecord(d, first));
    expect(doc.schema).to.equal(SCHEMA_VERSION);
    const stored = doc.records[ledgerBucket(1)]![first.id]!;
    expect(stored).to.be.instanceOf(A.ImmutableString);
    expect(stored.val).to.equal(canonicalJson(first));
    expect(readStoredRecord(first.id, stored)).to.deep.equal(first);
    expect(verifyRecordIntegrity(readStoredRecord(first.id, stored), genesisHash("A", "T1"), [publicKey])).to.equal(null);
  });

  it("hashes stored JSON like the record", function () {
    const first = record(1);
    const json = canonicalJson(first);
    expect(recordHashOfJson(json)).to.equal(first.hash);
    expect(recordHashOfJson(json.replace('"total":121', '"total":1'))).to.not.equal(first.hash);
    expect(recordHashOfJson(json.replace(',"hash":', ',"hash":"x","hash2":'))).to.equal(null);
    const edited = readStoredRecord(first.id, json.replace('"unitPrice":121', '"unitPrice":1'));
    expect(verifyRecordIntegrity(edited, genesisHash("A", "T1"), [publicKey], json.replace('"unitPrice":121', '"unitPrice":1'))).to.match(/does not match the content/);
  });

  it("seals a record with its stored JSON", function () {
    const first = record(1, { transmitBy: "2026-12-07T02:59:59.999Z" });
    const { hash: _hash, signature: _signature, prevHash, ...unsealed } = first;
    const { record: sealed, json } = sealRecordJson(unsealed, prevHash, privateKey);
    // Ed25519 signatures are deterministic, so sealing the same content again gives the same record.
    expect(sealed).to.deep.equal(first);
    expect(json).to.equal(canonicalJson(first));
    expect(recordHashOfJson(json)).to.equal(first.hash);
    expect(recordHash(sealed)).to.equal(sealed.hash);
    expect(verifyRecordIntegrity(sealed, genesisHash("A", "T1"), [publicKey], json)).to.equal(null);
  });

  it("canonical JSON sorts keys, drops undefined", function () {
    expect(canonicalJson({ b: [1, undefined, { d: 1, c: null }], a: "x", z: undefined, "é": true, B: 2 })).to.equal(
      '{"B":2,"a":"x","b":[1,null,{"c":null,"d":1}],"é":true}',
    );
    expect(canonicalJson([])).to.equal("[]");
    expect(canonicalJson({})).to.equal("{}");
  });

  it("keeps buckets at the bucket size", function () {
    let doc = ledgerDoc();
    for (let seq = 1; seq <= 201; seq++) {
      const next = record(seq);
      doc = A.change(doc, (d) => void appendRecord(d, next));
    }
    const used = Object.keys(doc.records).filter((key) => Object.keys(doc.records[key]!).length > 0);
    expect(used.sort()).to.deep.equal(["0", "1", "2"]);
    for (const bucket of Object.values(doc.records)) expect(Object.keys(bucket).length).to.be.at.most(LEDGER_BUCKET_SIZE);
    expect(countRecords(doc)).to.equal(201);
    expect(maxSeq(doc)).to.equal(201);
    expect(listRecords(doc).map((r) => r.seq)).to.deep.equal(Array.from({ length: 201 }, (_, i) => i + 1));
  });

  it("creates every bucket with the ledger", function () {
    const doc = ledgerDoc();
    expect(Object.keys(doc.records).length).to.equal(Number(ledgerBucket(LEDGER_PART_CAP)) + 1);
    expect(ledgerBucketsReady(doc)).to.equal(true);
    const next = record(1);
    const after = A.change(doc, (d) => void appendRecord(d, next));
    expect(Object.keys(after.records)).to.deep.equal(Object.keys(doc.records));
    // A ledger made before buckets came with it creates them as records arrive.
    const older = A.change(A.clone(doc), (d) => {
      for (const key of Object.keys(d.records)) delete d.records[key];
    });
    expect(ledgerBucketsReady(older)).to.equal(false);
  });

  it("shows a re-appended record once", function () {
    const base = ledgerDoc();
    const first = record(1);
    const second = record(2);
    // The terminal appended both, and a peer received that change. Then the terminal lost it in a crash.
    const peer = A.change(A.clone(base), (d) => {
      appendRecord(d, first);
      appendRecord(d, second);
    });
    // Its write-ahead log appends them again, as another change with another actor.
    const replayed = A.change(A.clone(base, { actor: "abcd" }), (d) => {
      appendRecord(d, first);
      appendRecord(d, second);
    });
    const merged = A.merge(A.clone(replayed), peer);
    expect(countRecords(merged)).to.equal(2);
    expect(listRecords(merged)).to.deep.equal([first, second]);
    expect(listRecords(A.merge(A.clone(peer), replayed))).to.deep.equal([first, second]);
  });

  it("hides one of two bucket creations", function () {
    // Why a replay creates a bucket only in a ledger with every expected head: two maps made under one key conflict, and only one shows.
    const base = A.change(ledgerDoc(), (d) => {
      for (const key of Object.keys(d.records)) delete d.records[key];
    });
    const first = record(1);
    const second = record(2);
    // With the same starting operation, the change of the greater actor id wins the conflict.
    const peer = A.change(A.clone(base, { actor: "ffff" }), (d) => void appendRecord(d, first));
    const replayed = A.change(A.clone(base, { actor: "abcd" }), (d) => {
      appendRecord(d, first);
      appendRecord(d, second);
    });
    const merged = A.merge(A.clone(peer), replayed);
    expect(Object.keys(A.getConflicts(merged.records, "0") ?? {})).to.have.length(2);
    expect(countRecords(merged)).to.equal(1);
  });

  it("readies buckets from an unaligned first record", function () {
    const doc = initLedger({ branch: "A", terminal: "T1", businessDay: "2026-12-04", part: 2, firstSeq: 150 });
    expect(Object.keys(doc.records)[0]).to.equal("1");
    expect(doc.records[ledgerBucket(150 + LEDGER_PART_CAP - 1)]).to.not.equal(undefined);
    expect(ledgerBucketsReady(doc)).to.equal(true);
  });

  it("rejects a second record under one id", function () {
    const first = record(1);
    const doc = A.change(ledgerDoc(), (d) => void appendRecord(d, first));
    expect(() => A.change(doc, (d) => void appendRecord(d, record(1, { total: 5 })))).to.throw(/records are never edited/);
  });

  it("names touched records from patches", function () {
    let doc = ledgerDoc();
    const heads = A.getHeads(doc);
    doc = A.change(doc, (d) => {
      appendRecord(d, record(99));
      appendRecord(d, record(100));
    });
    const touched = touchedRecordIds(doc, A.diff(doc, heads, A.getHeads(doc)));
    expect([...touched].sort()).to.deep.equal([recordId("A", "T1", 99), recordId("A", "T1", 100)]);
  });

  it("reads a version 1 ledger", function () {
    const first = record(1);
    const second = record(2, { kind: "cash-movement", lines: [], tenders: [], stock: [], total: 0, tax: 0, cashAmount: 5000, reason: "cash-in" });
    const v1 = {
      schema: 1,
      type: imm("ledger"),
      branch: imm("A"),
      terminal: imm("T1"),
      businessDay: imm("2026-12-04"),
      part: 1,
      firstSeq: 1,
      records: { [first.id]: v1Record(first), [second.id]: v1Record(second) },
    } as LedgerDocV1;
    let doc = A.from(v1 as unknown as Record<string, unknown>) as unknown as A.Doc<AnyLedgerDoc>;
    expect(listRecords(doc)).to.deep.equal([first, second]);
    expect(maxSeq(doc)).to.equal(2);
    expect(countRecords(doc)).to.equal(2);
    expect(() => A.change(doc, (d) => void appendRecord(d, record(3)))).to.throw(/read-only/);
    const heads = A.getHeads(doc);
    doc = A.change(doc, (d) => {
      ((d as LedgerDocV1).records[first.id]!.lines[0] as { unitPrice: number }).unitPrice = 1;
    });
    expect([...touchedRecordIds(doc, A.diff(doc, heads, A.getHeads(doc)))]).to.deep.equal([first.id]);
  });
});

describe("folio counters", function () {
  const folios = (scheme: "self-numbered" | "authority-range" | "assigned-at-validation") =>
    initFolios({ branch: "A", scheme, branchCode: "001", terminals: ["T1"] });

  it("issues what the full history issues", function () {
    const own = [
      record(1, { folio: "x", folioNumber: 7 }),
      record(2, { kind: "refund", folio: "y", folioNumber: 2 }),
      record(3, { provisionalFolio: "T1-P-000004" }),
    ];
    const counters = folioCountersOf(own);
    for (const scheme of ["self-numbered", "authority-range", "assigned-at-validation"] as const) {
      for (const kind of ["sale", "refund"] as const) {
        expect(nextFolioFrom(folios(scheme), "T1", kind, counters), `${scheme} ${kind}`).to.deep.equal(nextFolio(folios(scheme), "T1", kind, own));
      }
    }
    expect(nextFolioFrom(folios("assigned-at-validation"), "T1", "sale", counters).provisionalFolio).to.equal("T1-P-000005");
  });
});

describe("catalog index", function () {
  function catalog(): CatalogDoc {
    const doc = initCatalog({
      country: "AR",
      currency: "ARS",
      minorUnitDigits: 2,
      pricesIncludeTax: true,
      rounding: "per-line",
      taxes: [{ code: "IVA21", name: "IVA 21%", rateBp: 2100 }],
    });
    putProducts(doc, [
      { sku: "779", barcode: "7790001", name: "Yerba", brand: "Marca", presentation: "1 kg", price: 12100, taxCode: "IVA21", active: true, stockBuffer: 0 },
      { sku: "780", barcode: null, name: "Azúcar", brand: "Marca", presentation: "1 kg", price: 5000, taxCode: "IVA21", active: true, stockBuffer: 2 },
    ]);
    return doc;
  }

  it("prices a sale like the document", function () {
    const doc = catalog();
    const index = CatalogIndex.fromSnapshot(JSON.parse(JSON.stringify(CatalogIndex.fromDoc(doc, "automerge:x", ["h"]).snapshot)));
    const request = { lines: [{ code: "7790001", qty: 2 }, { code: "780", qty: 1 }], tenders: [{ type: "cash" as const, amount: 30000 }] };
    const store = { cashRoundingIncrement: 0 };
    expect(priceSale(index, request, () => 9, store)).to.deep.equal(priceSale(doc, request, () => 9, store));
    expect(index.findProduct("7790001")?.sku).to.equal("779");
    expect(index.readProduct("780")?.stockBuffer).to.equal(2);
  });

  it("rejects a file that is no snapshot", function () {
    expect(() => CatalogIndex.fromSnapshot({ products: [] })).to.throw(/not a version 1 catalog snapshot/);
  });
});
