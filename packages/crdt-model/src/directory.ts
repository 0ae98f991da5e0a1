import { ImmutableString } from "@automerge/automerge";
import type { DirectoryDoc, LedgerRefDoc } from "./schema.ts";
import { SCHEMA_V2, SCHEMA_VERSION } from "./schema.ts";
import { imm, optStr, str } from "./strings.ts";
import type { LedgerRef, TerminalEntry } from "./types.ts";

export interface DirectoryInit {
  branch: string;
  name: string;
  timeZone: string;
  cashRoundingIncrement: number;
  catalogUrl: string;
  conflictsUrl: string;
  permissionsUrl: string;
  foliosUrl: string;
  ingestUrl: string;
  baselineUrl: string;
  terminals: { id: string; name: string }[];
}

/** Builds the value of a branch directory, with every terminal's entry created up front. */
export function initDirectory(init: DirectoryInit): DirectoryDoc {
  const terminals: DirectoryDoc["terminals"] = {};
  for (const terminal of init.terminals) {
    terminals[terminal.id] = { name: imm(terminal.name), lanUrl: null, ledgers: {} };
  }
  return {
    schema: SCHEMA_VERSION,
    type: imm("directory"),
    branch: imm(init.branch),
    name: imm(init.name),
    timeZone: imm(init.timeZone),
    cashRoundingIncrement: init.cashRoundingIncrement,
    catalogUrl: imm(init.catalogUrl),
    conflictsUrl: imm(init.conflictsUrl),
    permissionsUrl: imm(init.permissionsUrl),
    foliosUrl: imm(init.foliosUrl),
    ingestUrl: imm(init.ingestUrl),
    baselineUrl: imm(init.baselineUrl),
    terminals,
  };
}

function entryOf(doc: DirectoryDoc, terminal: string) {
  const entry = doc.terminals[terminal];
  if (!entry) {
    throw new Error(
      `Branch ${str(doc.branch)} has no terminal ${terminal}; add it on the relay before starting it`,
    );
  }
  return entry;
}

/** Records a terminal's LAN websocket URL; called by that terminal only. */
export function setLanUrl(doc: DirectoryDoc, terminal: string, lanUrl: string | null): void {
  const entry = entryOf(doc, terminal);
  if (optStr(entry.lanUrl) === lanUrl) return;
  entry.lanUrl = lanUrl === null ? null : imm(lanUrl);
}

/**
 * Lists a ledger document under its terminal; called by that terminal
 * only. A version 2 directory stores the reference as one JSON string,
 * which loads several times faster than a nested object once a terminal
 * has a year of ledgers.
 */
export function registerLedger(doc: DirectoryDoc, terminal: string, ref: Omit<LedgerRef, "terminal">): void {
  const entry = entryOf(doc, terminal);
  if (entry.ledgers[ref.documentId]) return;
  const value = { url: ref.url, businessDay: ref.businessDay, part: ref.part, firstSeq: ref.firstSeq };
  entry.ledgers[ref.documentId] =
    (doc.schema ?? 1) >= SCHEMA_V2
      ? imm(JSON.stringify(value))
      : { url: imm(value.url), businessDay: imm(value.businessDay), part: value.part, firstSeq: value.firstSeq };
}

function readLedgerRef(terminal: string, documentId: string, stored: ImmutableString | LedgerRefDoc): LedgerRef {
  if (stored instanceof ImmutableString) {
    const value = JSON.parse(stored.val) as { url: string; businessDay: string; part: number; firstSeq: number };
    return { documentId, url: value.url, terminal, businessDay: value.businessDay, part: value.part, firstSeq: value.firstSeq };
  }
  return {
    documentId,
    url: str(stored.url),
    terminal,
    businessDay: str(stored.businessDay),
    part: stored.part,
    firstSeq: stored.firstSeq,
  };
}

/** Reads every terminal of the branch, with its ledgers sorted by first sequence number. */
export function listTerminals(doc: DirectoryDoc): TerminalEntry[] {
  return Object.entries(doc.terminals)
    .map(([id, entry]) => ({
      id,
      name: str(entry.name),
      lanUrl: optStr(entry.lanUrl),
      ledgers: Object.entries(entry.ledgers)
        .map(([documentId, ref]) => readLedgerRef(id, documentId, ref))
        .sort((a, b) => a.firstSeq - b.firstSeq),
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Points the branch at a new stock baseline document; called by the relay only. */
export function setBaselineUrl(doc: DirectoryDoc, url: string): void {
  doc.baselineUrl = imm(url);
}

/** The document URLs a directory points to. */
export function readDirectoryUrls(doc: DirectoryDoc) {
  return {
    branch: str(doc.branch),
    name: str(doc.name),
    timeZone: str(doc.timeZone),
    cashRoundingIncrement: doc.cashRoundingIncrement ?? 0,
    catalogUrl: str(doc.catalogUrl),
    conflictsUrl: str(doc.conflictsUrl),
    permissionsUrl: str(doc.permissionsUrl),
    foliosUrl: str(doc.foliosUrl),
    ingestUrl: str(doc.ingestUrl),
    baselineUrl: str(doc.baselineUrl),
  };
}
