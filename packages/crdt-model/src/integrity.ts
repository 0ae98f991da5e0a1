import { createHash } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { signBytes, verifySignature } from "./keystore.ts";
import type { LedgerRecord } from "./types.ts";

/** Encodes a value as JSON with object keys sorted, so equal content always gives equal bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + canonicalJson(value[i]);
    return `${out}]`;
  }
  // Builds one string per object, with no array of members: every sale and every record check encodes a record.
  const object = value as Record<string, unknown>;
  let out = "{";
  // The default sort compares UTF-16 code units, as `<` on strings does.
  for (const key of Object.keys(object).sort()) {
    const item = object[key];
    if (item === undefined) continue;
    out += (out.length === 1 ? "" : ",") + quotedKey(key) + canonicalJson(item);
  }
  return `${out}}`;
}

/** Lists the defined members of an object in key order: their keys, and each member as canonical `"key":value` text. */
function canonicalMembers(object: Record<string, unknown>): { keys: string[]; texts: string[] } {
  const keys: string[] = [];
  const texts: string[] = [];
  for (const key of Object.keys(object).sort()) {
    const item = object[key];
    if (item === undefined) continue;
    keys.push(key);
    texts.push(quotedKey(key) + canonicalJson(item));
  }
  return { keys, texts };
}

/** Encoded keys with their colon: records use a few dozen field names, so each is encoded once. */
const QUOTED_KEYS = new Map<string, string>();
const QUOTED_KEYS_MAX = 1000;

function quotedKey(key: string): string {
  let quoted = QUOTED_KEYS.get(key);
  if (quoted === undefined) {
    quoted = `${JSON.stringify(key)}:`;
    if (QUOTED_KEYS.size < QUOTED_KEYS_MAX) QUOTED_KEYS.set(key, quoted);
  }
  return quoted;
}

/** Adds a string member at its place in key order. */
function insertMember(members: { keys: string[]; texts: string[] }, key: string, value: string): void {
  let at = members.keys.findIndex((existing) => existing > key);
  if (at < 0) at = members.keys.length;
  members.keys.splice(at, 0, key);
  members.texts.splice(at, 0, `${JSON.stringify(key)}:${JSON.stringify(value)}`);
}

/** The previous hash of a terminal's first record: SHA-256 of its branch and terminal id. */
export function genesisHash(branch: string, terminal: string): string {
  return createHash("sha256").update(`mercora-chain:${branch}:${terminal}`).digest("hex");
}

/** SHA-256 (hex) over the canonical encoding of a record without its hash and signature. */
export function recordHash(record: Omit<LedgerRecord, "hash" | "signature"> & Partial<LedgerRecord>): string {
  const { hash: _hash, signature: _signature, ...content } = record;
  return createHash("sha256").update(canonicalJson(content)).digest("hex");
}

/**
 * Computes a record's hash from its stored canonical JSON (hash and
 * signature included) by cutting those two members out of the text, which
 * spares re-encoding the record. Returns null when the text does not have
 * exactly one of each in the canonical form; callers then use
 * `recordHash`. Text that differs in any other way from what was hashed
 * gives another hash, so an edit is still caught.
 */
export function recordHashOfJson(json: string): string | null {
  const hashes = json.match(HASH_MEMBER);
  const signatures = json.match(SIGNATURE_MEMBER);
  if (hashes?.length !== 1 || signatures?.length !== 1) return null;
  const content = json.replace(HASH_MEMBER, "").replace(SIGNATURE_MEMBER, "");
  return createHash("sha256").update(content).digest("hex");
}

// Both members follow another one in canonical key order ("folioNumber" before "hash", "provisionalFolio" before "signature").
const HASH_MEMBER = /,"hash":"[0-9a-f]{64}"/g;
const SIGNATURE_MEMBER = /,"signature":"[A-Za-z0-9+/=]*"/g;

/** Completes a record with its chain link, hash and the signer's signature. */
export function sealRecord(
  record: Omit<LedgerRecord, "hash" | "signature" | "prevHash">,
  prevHash: string,
  signer: KeyObject,
): LedgerRecord {
  return sealRecordJson(record, prevHash, signer).record;
}

/**
 * Seals a record as `sealRecord` does and also returns its canonical JSON,
 * the text a ledger stores. The content is encoded once, for the hash, and
 * the hash and signature members are added to that text in key order.
 */
export function sealRecordJson(
  record: Omit<LedgerRecord, "hash" | "signature" | "prevHash">,
  prevHash: string,
  signer: KeyObject,
): { record: LedgerRecord; json: string } {
  const { hash: _hash, signature: _signature, ...content } = { ...record, prevHash } as Record<string, unknown>;
  const members = canonicalMembers(content);
  const hash = createHash("sha256").update(`{${members.texts.join(",")}}`).digest("hex");
  const signature = signBytes(signer, hash);
  insertMember(members, "hash", hash);
  insertMember(members, "signature", signature);
  return { record: { ...content, hash, signature } as unknown as LedgerRecord, json: `{${members.texts.join(",")}}` };
}

/**
 * Checks one record: its hash matches its content, its signature was made
 * by one of `signerKeys` (those of the user named in `cashier`), and it links to
 * `expectedPrevHash` when the previous record is known. `storedJson`, the
 * record's stored canonical JSON when there is one, makes the hash check
 * cheaper. `signatureValid`, when given, is the result of checking the
 * signature elsewhere (on another thread, say), which is then not checked
 * again. Returns what failed, or null.
 */
export function verifyRecordIntegrity(
  record: LedgerRecord,
  expectedPrevHash: string | null,
  signerKeys: KeyObject[],
  storedJson: string | null = null,
  signatureValid?: boolean,
): string | null {
  const actual = (storedJson === null ? null : recordHashOfJson(storedJson)) ?? recordHash(record);
  if (actual !== record.hash) return `hash ${record.hash.slice(0, 12)}… does not match the content (${actual.slice(0, 12)}…): the record was changed after it was recorded`;
  if (!record.cashier) return "record has no signer";
  if (signerKeys.length === 0) return `signer ${record.cashier} is not a user of the branch`;
  const signed = signatureValid ?? signerKeys.some((key) => verifySignature(key, record.hash, record.signature));
  if (!signed) {
    return `signature does not verify with any key of ${record.cashier}`;
  }
  if (expectedPrevHash !== null && record.prevHash !== expectedPrevHash) {
    return `chain broken: previous hash ${record.prevHash.slice(0, 12)}… is not the hash of record ${record.seq - 1} (${expectedPrevHash.slice(0, 12)}…)`;
  }
  return null;
}

/** Lists the fields that differ between two versions of a record, with both values. */
export function describeRecordEdit(original: LedgerRecord, edited: LedgerRecord): string[] {
  const changes: string[] = [];
  const walk = (a: unknown, b: unknown, path: string) => {
    if (canonicalJson(a) === canonicalJson(b)) return;
    if (a && b && typeof a === "object" && typeof b === "object") {
      for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
        walk((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
      }
      return;
    }
    changes.push(`${path} was ${JSON.stringify(a)}, now ${JSON.stringify(b)}`);
  };
  walk(original, edited, "");
  return changes;
}
