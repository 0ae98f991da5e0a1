/**
 * Tools the security tests run as separate processes, the way an attacker
 * or an operator would run a program against a terminal's files or the
 * relay:
 *
 *   edit-record DATA_DIR LEDGER_ID RECORD_ID PRICE   change a stored record's price
 *   fetch-doc RELAY_URL KEYSTORE BRANCH TERMINAL DOC_ID   ask the relay for a document as that device
 *   editor-fetch-docs RELAY_URL EDITOR_DATA_DIR DOC_ID...  ask the relay for documents as a catalog editor
 *   append-sale DATA_DIR USER PIN FIELD=VALUE...   write a sealed, signed sale with the fields given
 *     (provisionalFolio, folio, folioNumber, terminal)
 *
 * Each prints one JSON line with the outcome.
 */
import { join } from "node:path";
import { Repo } from "@automerge/automerge-repo";
import type { DocumentId, PeerId } from "@automerge/automerge-repo";
import {
  DurableFileStorageAdapter,
  HybridLogicalClock,
  Keystore,
  appendRecord,
  canonicalJson,
  countRecords,
  editorPeerId,
  findDocument,
  imm,
  ledgerBucket,
  listRecords,
  makeDeviceToken,
  makeEditorToken,
  readDirectoryUrls,
  readJsonFile,
  readStoredRecord,
  readUser,
  recordId,
  sealRecord,
  storedRecord,
  unlockSigningKey,
} from "@mercora/crdt-model";
import type { DirectoryDoc, LedgerDoc, LedgerRecord, PermissionsDoc } from "@mercora/crdt-model";
import { openEnrolledEditor } from "@mercora/relay";
import type { ActivatedState } from "@mercora/terminal";
import { ResilientWebSocketClientAdapter } from "@mercora/terminal";
import { pino } from "pino";

async function editRecord(dataDir: string, ledgerId: string, recordId: string, price: number) {
  const keystore = await Keystore.open(join(dataDir, "keystore"), { create: false });
  const repo = new Repo({ storage: new DurableFileStorageAdapter(join(dataDir, "automerge"), keystore.storageKey), network: [] });
  const ledger = await findDocument<LedgerDoc>(repo, ledgerId as DocumentId, { timeoutMs: 10_000 });
  ledger.change((doc) => {
    const entry = storedRecord(doc, recordId);
    if (!entry) throw new Error(`No record ${recordId} in ledger ${ledgerId}`);
    // The stored JSON is rewritten with the new price, the hash and signature left as they were.
    const record = readStoredRecord(recordId, entry.stored);
    const line = record.lines[0]!;
    line.unitPrice = price;
    line.total = price * line.qty;
    record.total = line.total;
    doc.records[ledgerBucket(record.seq)]![recordId] = imm(canonicalJson(record));
  });
  await repo.flush();
  await repo.shutdown();
  return { edited: recordId };
}

async function fetchDoc(relayUrl: string, keystoreDir: string, branch: string, terminal: string, documentId: string) {
  const keystore = await Keystore.open(keystoreDir, { create: false });
  const deviceKey = (await keystore.deviceKey())!;
  const url = relayUrl.replace(/^http/, "ws") + "/sync";
  const peerId = `terminal:${branch}:${terminal}`;
  const client = new ResilientWebSocketClientAdapter(url, 1000, pino({ level: "silent" }), () =>
    `${url}?token=${makeDeviceToken(deviceKey, { branch, terminal, peerId, issuedAt: Date.now() })}`,
  );
  // sharePolicy false would make the repo never ask peers for a document it lacks.
  const repo = new Repo({ network: [client], peerId: peerId as PeerId, sharePolicy: async () => true });
  // Ask only once connected, so "unavailable" means the relay refused, not that no peer was there yet.
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 20_000);
    repo.networkSubsystem.once("peer", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  try {
    const handle = await repo.find<LedgerDoc>(documentId as DocumentId, { signal: AbortSignal.timeout(20_000) });
    return { found: true, records: countRecords(handle.doc()) };
  } catch (error) {
    return { found: false, error: (error as Error).message };
  }
}

/** Connects with a catalog editor's device key and requests each document from the relay; lists those it served. */
async function editorFetchDocs(relayUrl: string, dataDir: string, documentIds: string[]) {
  const { keystore, state } = await openEnrolledEditor(dataDir);
  const deviceKey = (await keystore.deviceKey())!;
  const url = relayUrl.replace(/^http/, "ws") + "/sync";
  const client = new ResilientWebSocketClientAdapter(url, 1000, pino({ level: "silent" }), () =>
    `${url}?token=${makeEditorToken(deviceKey, { editor: state.user, issuedAt: Date.now() })}`,
  );
  const repo = new Repo({ network: [client], peerId: editorPeerId(state.user) as PeerId, sharePolicy: async () => true });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 20_000);
    repo.networkSubsystem.once("peer", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  const found: string[] = [];
  const missing: string[] = [];
  for (const documentId of documentIds) {
    try {
      await repo.find(documentId as DocumentId, { signal: AbortSignal.timeout(20_000) });
      found.push(documentId);
    } catch {
      missing.push(documentId);
    }
  }
  return { found, missing };
}

/**
 * Writes into a stopped terminal's data folder a sale its own software
 * would never write: the next record of the chain, a copy of the last
 * sale's lines, sealed and signed with the user's key, with `fields`
 * changed. A provisional folio the terminal already issued is what a
 * second device under the same terminal id would write after losing
 * track of its numbers. A folio outside its block, or another terminal
 * id, is what tampered software would write.
 */
async function appendSale(dataDir: string, user: string, pin: string, fields: Record<string, string>) {
  const keystore = await Keystore.open(join(dataDir, "keystore"), { create: false });
  const state = (await readJsonFile<ActivatedState>(join(dataDir, "terminal.json")))!;
  const repo = new Repo({ storage: new DurableFileStorageAdapter(join(dataDir, "automerge"), keystore.storageKey), network: [] });
  const directory = await findDocument<DirectoryDoc>(repo, state.directoryUrl as DocumentId, { timeoutMs: 10_000 });
  const permissions = await findDocument<PermissionsDoc>(repo, readDirectoryUrls(directory.doc()).permissionsUrl as DocumentId, { timeoutMs: 10_000 });
  const key = await unlockSigningKey(pin, readUser(permissions.doc(), user)!.signing);

  const ledgers = await Promise.all(state.ledgers.map((ref) => findDocument<LedgerDoc>(repo, ref.url as DocumentId, { timeoutMs: 10_000 })));
  const records: LedgerRecord[] = ledgers.flatMap((ledger) => listRecords(ledger.doc()));
  const last = records.reduce((a, b) => (a.seq > b.seq ? a : b));
  const template = records.filter((r) => r.kind === "sale").reduce((a, b) => (a.seq > b.seq ? a : b));

  const clock = new HybridLogicalClock(state.terminal);
  clock.observe(last.hlc);
  const { hash: _hash, signature: _signature, prevHash: _prevHash, ...content } = template;
  const seq = last.seq + 1;
  const now = new Date().toISOString();
  const terminal = fields.terminal ?? state.terminal;
  const record = sealRecord(
    {
      ...content,
      id: recordId(state.branch, terminal, seq),
      terminal,
      seq,
      hlc: clock.now(),
      at: now,
      deviceAt: now,
      cashier: user,
      requestId: null,
      folio: fields.folio ?? null,
      folioNumber: fields.folioNumber ? Number(fields.folioNumber) : null,
      provisionalFolio: fields.provisionalFolio ?? null,
    },
    last.hash,
    key!,
  );

  const owner = ledgers.find((ledger) => storedRecord(ledger.doc(), last.id))!;
  // appendRecord refuses a record of another terminal, so the tool hands it the ledger's records under that terminal's name.
  owner.change((doc) => appendRecord({ ...doc, terminal: imm(terminal), records: doc.records }, record));
  await repo.flush();
  await repo.shutdown();
  return { appended: record.id };
}

const [command, ...args] = process.argv.slice(2);
const result =
  command === "edit-record"
    ? await editRecord(args[0]!, args[1]!, args[2]!, Number(args[3]))
    : command === "fetch-doc"
      ? await fetchDoc(args[0]!, args[1]!, args[2]!, args[3]!, args[4]!)
      : command === "editor-fetch-docs"
        ? await editorFetchDocs(args[0]!, args[1]!, args.slice(2))
        : command === "append-sale"
          ? await appendSale(args[0]!, args[1]!, args[2]!, Object.fromEntries(args.slice(3).map((arg) => arg.split("=") as [string, string])))
          : { error: `unknown command ${command}` };
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(0);
