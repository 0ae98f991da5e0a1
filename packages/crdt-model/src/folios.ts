import type { FoliosDoc } from "./schema.ts";
import { SCHEMA_VERSION } from "./schema.ts";
import { imm, str } from "./strings.ts";
import type { LedgerRecord, RecordKind } from "./types.ts";

/**
 * The three ways countries number fiscal documents:
 * - self-numbered: each terminal issues final numbers itself, offline too
 *   (Costa Rica's 20-digit consecutive);
 * - authority-range: the tax authority authorizes a range, the relay hands
 *   each terminal blocks of it, and a terminal that runs out issues
 *   provisional folios that the relay later replaces (Colombia, Chile);
 * - assigned-at-validation: every folio is provisional until the relay
 *   assigns the final one (Mexico's stamping).
 */
export const FOLIO_SCHEMES = ["self-numbered", "authority-range", "assigned-at-validation"] as const;
export type FolioScheme = (typeof FOLIO_SCHEMES)[number];

/** Default numbers a terminal receives per block, and the numbers left that trigger a top-up. */
export const FOLIO_BLOCK_SIZE = 50;
export const FOLIO_LOW_WATER = 10;

export interface FolioRange {
  prefix: string;
  from: number;
  to: number;
  validUntil: string;
}

export interface FolioBlock {
  prefix: string;
  from: number;
  to: number;
}

/** Builds the value of a branch's folios document, with one block list per terminal. */
export function initFolios(init: {
  branch: string;
  scheme: FolioScheme;
  branchCode: string;
  terminals: string[];
  blockSize?: number;
  lowWater?: number;
}): FoliosDoc {
  const terminalCodes: Record<string, number> = {};
  const blocks: FoliosDoc["blocks"] = {};
  init.terminals.forEach((terminal, index) => {
    terminalCodes[terminal] = index + 1;
    blocks[terminal] = [];
  });
  return {
    schema: SCHEMA_VERSION,
    type: imm("folios"),
    branch: imm(init.branch),
    scheme: imm(init.scheme),
    branchCode: imm(init.branchCode),
    terminalCodes,
    ranges: [],
    blocks,
    poolNext: 0,
    blockSize: init.blockSize ?? FOLIO_BLOCK_SIZE,
    lowWater: init.lowWater ?? FOLIO_LOW_WATER,
    finals: {},
  };
}

/** Reads the scheme of a folios document. */
export function readScheme(doc: FoliosDoc): FolioScheme {
  return str(doc.scheme) as FolioScheme;
}

/** Formats a number of an authority range: its prefix and eight digits, e.g. 001-00000121. */
export function formatRangeFolio(prefix: string, number: number): string {
  return `${prefix}${String(number).padStart(8, "0")}`;
}

/** Formats a provisional folio, scoped to its terminal so it can never look like a final one. */
export function formatProvisionalFolio(terminal: string, number: number): string {
  return `${terminal}-P-${String(number).padStart(6, "0")}`;
}

/** Two-digit document type of the self-numbered scheme: 04 for a sale's ticket, 03 for a credit note. */
export function documentType(kind: RecordKind): string {
  return kind === "refund" ? "03" : "04";
}

/**
 * Formats Costa Rica's 20-digit consecutive: branch (3 digits), terminal
 * (5), document type (2) and sequence (10).
 */
export function formatConsecutive(branchCode: string, terminalCode: number, docType: string, sequence: number): string {
  return `${branchCode.padStart(3, "0")}${String(terminalCode).padStart(5, "0")}${docType}${String(sequence).padStart(10, "0")}`;
}

/** Lists the blocks handed to a terminal, in the order they were. */
export function readBlocks(doc: FoliosDoc, terminal: string): FolioBlock[] {
  return (doc.blocks[terminal] ?? []).map((b) => ({ prefix: str(b.prefix), from: b.from, to: b.to }));
}

/** Lists the authority ranges. */
export function readRanges(doc: FoliosDoc): FolioRange[] {
  return doc.ranges.map((r) => ({ prefix: str(r.prefix), from: r.from, to: r.to, validUntil: str(r.validUntil) }));
}

export interface IssuedFolio {
  folio: string | null;
  folioNumber: number | null;
  provisionalFolio: string | null;
}

/** Kinds of record that carry a fiscal folio. */
export function isFiscal(kind: RecordKind): boolean {
  return kind === "sale" || kind === "refund";
}

/**
 * The highest folio numbers a terminal has used, which is all it needs to
 * issue the next folio: per document type of the self-numbered scheme,
 * overall for authority ranges, and of its provisional folios.
 */
export interface FolioCounters {
  /** Highest `folioNumber` per two-digit document type ("04" tickets, "03" credit notes). */
  byDocumentType: Record<string, number>;
  /** Highest `folioNumber` of any record. */
  highestNumber: number;
  /** Highest number of a provisional folio (`T1-P-000042` is 42). */
  highestProvisional: number;
}

/** Counters of a terminal that has issued no folio. */
export function emptyFolioCounters(): FolioCounters {
  return { byDocumentType: {}, highestNumber: 0, highestProvisional: 0 };
}

/**
 * Raises the counters to cover one of the terminal's records. With
 * `blocks`, the terminal's authority-range blocks, a number outside every
 * block is left out of `highestNumber`: the terminal did not issue it (a
 * forged record, which the relay rejects), and it must not spend the rest
 * of a block.
 */
export function observeFolio(
  counters: FolioCounters,
  record: Pick<LedgerRecord, "kind" | "folioNumber" | "provisionalFolio">,
  blocks: readonly FolioBlock[] | null = null,
): void {
  const number = record.folioNumber;
  if (number !== null) {
    const inBlock = blocks === null || blocks.some((b) => number >= b.from && number <= b.to);
    if (inBlock) counters.highestNumber = Math.max(counters.highestNumber, number);
    if (isFiscal(record.kind)) {
      const docType = documentType(record.kind);
      counters.byDocumentType[docType] = Math.max(counters.byDocumentType[docType] ?? 0, number);
    }
  }
  const match = record.provisionalFolio ? /-P-(\d+)$/.exec(record.provisionalFolio) : null;
  if (match) counters.highestProvisional = Math.max(counters.highestProvisional, Number(match[1]));
}

/** Counts the folios of a terminal's records; see `observeFolio` for `blocks`. */
export function folioCountersOf(own: readonly LedgerRecord[], blocks: readonly FolioBlock[] | null = null): FolioCounters {
  const counters = emptyFolioCounters();
  for (const record of own) observeFolio(counters, record, blocks);
  return counters;
}

/**
 * Chooses the folio of a terminal's next fiscal record from its folio
 * counters and the folios document as last synced. Final numbers come from
 * the terminal's blocks (authority ranges) or its own sequence
 * (self-numbered); otherwise the folio is provisional. A number is
 * reserved by being written in the record itself, so it is never issued
 * twice, and one never written was never issued.
 */
export function nextFolioFrom(doc: FoliosDoc, terminal: string, kind: RecordKind, counters: FolioCounters): IssuedFolio {
  const scheme = readScheme(doc);
  const provisional = () => ({
    folio: null,
    folioNumber: null,
    provisionalFolio: formatProvisionalFolio(terminal, counters.highestProvisional + 1),
  });
  if (scheme === "self-numbered") {
    const docType = documentType(kind);
    const sequence = (counters.byDocumentType[docType] ?? 0) + 1;
    const terminalCode = doc.terminalCodes[terminal] ?? 0;
    return { folio: formatConsecutive(str(doc.branchCode), terminalCode, docType, sequence), folioNumber: sequence, provisionalFolio: null };
  }
  if (scheme === "assigned-at-validation") return provisional();
  const used = counters.highestNumber;
  for (const block of readBlocks(doc, terminal)) {
    const candidate = Math.max(block.from, used + 1);
    if (candidate <= block.to) {
      return { folio: formatRangeFolio(block.prefix, candidate), folioNumber: candidate, provisionalFolio: null };
    }
  }
  return provisional();
}

/** Chooses the folio of a terminal's next fiscal record from all of its own earlier records; see `nextFolioFrom`. */
export function nextFolio(doc: FoliosDoc, terminal: string, kind: RecordKind, own: LedgerRecord[]): IssuedFolio {
  return nextFolioFrom(doc, terminal, kind, folioCountersOf(own, readBlocks(doc, terminal)));
}

/**
 * Finds the highest authority-range number a terminal recorded within its
 * own blocks, or 0. A number outside every block it was handed is not one
 * it issued (a forged record, which the relay rejects), so it is ignored
 * rather than allowed to spend the rest of the block.
 */
export function highestBlockFolio(doc: FoliosDoc, terminal: string, records: Iterable<Pick<LedgerRecord, "terminal" | "folioNumber">>): number {
  const blocks = readBlocks(doc, terminal);
  let highest = 0;
  for (const record of records) {
    const number = record.folioNumber;
    if (record.terminal !== terminal || number === null || number <= highest) continue;
    if (blocks.some((b) => number >= b.from && number <= b.to)) highest = number;
  }
  return highest;
}

/** Numbers left in a terminal's blocks after the highest it used. */
export function folioNumbersLeft(doc: FoliosDoc, terminal: string, usedUpTo: number): number {
  return readBlocks(doc, terminal).reduce((sum, b) => sum + Math.max(0, b.to - Math.max(b.from - 1, usedUpTo)), 0);
}

/** Reads the final folio assigned to a record's provisional folio, or null. */
export function readFinalFolio(doc: FoliosDoc, recordId: string): { folio: string; provisional: string; assignedAt: string } | null {
  const stored = doc.finals[recordId];
  return stored ? { folio: str(stored.folio), provisional: str(stored.provisional), assignedAt: str(stored.assignedAt) } : null;
}
