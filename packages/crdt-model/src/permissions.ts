import { createPrivateKey, generateKeyPairSync, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { encodePublicKey, decodePublicKey } from "./keystore.ts";
import { openSealedBytes, sealBytes } from "./storage.ts";
import type { PermissionsDoc, PinVerifierDoc, SigningKeyDoc } from "./schema.ts";
import { SCHEMA_VERSION } from "./schema.ts";
import { imm, str } from "./strings.ts";

export const ROLES = ["cashier", "manager"] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: string;
  name: string;
  role: Role;
  active: boolean;
}

/**
 * scrypt cost parameters for PIN verifiers. A 4 to 8 digit PIN has at most
 * 10^8 values, so the verifier's cost is what slows an offline guess; these
 * take about 50 ms per guess on one core of a 2-core test machine (an
 * estimate, measured by hand).
 */
const SCRYPT = { n: 16_384, r: 8, p: 1, keyLength: 32 };

function scryptAsync(pin: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(pin, salt, SCRYPT.keyLength, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

/** Checks a PIN's shape: 4 to 8 digits. */
export function checkPinFormat(pin: unknown): string | null {
  if (typeof pin !== "string" || !/^\d{4,8}$/.test(pin)) return "a PIN is 4 to 8 digits";
  return null;
}

/** Makes a scrypt verifier for a PIN; the PIN itself is never stored. */
export async function makePinVerifier(pin: string): Promise<PinVerifierDoc> {
  const problem = checkPinFormat(pin);
  if (problem) throw new Error(`Invalid PIN: ${problem}`);
  const salt = randomBytes(16);
  const hash = await scryptAsync(pin, salt, SCRYPT.n, SCRYPT.r, SCRYPT.p);
  return { salt: imm(salt.toString("base64")), hash: imm(hash.toString("base64")), n: SCRYPT.n, r: SCRYPT.r, p: SCRYPT.p };
}

/** Checks a PIN against a stored verifier in constant time. */
export async function verifyPin(pin: string, verifier: PinVerifierDoc): Promise<boolean> {
  if (checkPinFormat(pin)) return false;
  const expected = Buffer.from(str(verifier.hash), "base64");
  const actual = await scryptAsync(pin, Buffer.from(str(verifier.salt), "base64"), verifier.n, verifier.r, verifier.p);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Makes a user's Ed25519 signing key, sealed under a key derived from the
 * PIN, so only someone who enters the PIN can sign records as that user.
 */
export async function makeSigningKey(pin: string): Promise<SigningKeyDoc> {
  const { privateKey } = generateKeyPairSync("ed25519");
  const salt = randomBytes(16);
  const wrapKey = await scryptAsync(pin, salt, SCRYPT.n, SCRYPT.r, SCRYPT.p);
  const sealed = sealBytes(wrapKey, privateKey.export({ type: "pkcs8", format: "der" }), "signing-key");
  return {
    publicKey: imm(encodePublicKey(privateKey)),
    sealedPrivateKey: imm(sealed.toString("base64")),
    salt: imm(salt.toString("base64")),
    formerPublicKeys: [],
  };
}

/** Unlocks a user's signing key with their PIN; returns null for a wrong PIN. */
export async function unlockSigningKey(pin: string, stored: SigningKeyDoc): Promise<KeyObject | null> {
  const wrapKey = await scryptAsync(pin, Buffer.from(str(stored.salt), "base64"), SCRYPT.n, SCRYPT.r, SCRYPT.p);
  const opened = openSealedBytes(wrapKey, Buffer.from(str(stored.sealedPrivateKey), "base64"), "signing-key");
  if (!(opened instanceof Uint8Array)) return null;
  return createPrivateKey({ key: Buffer.from(opened), format: "der", type: "pkcs8" });
}

/** Builds the value of a branch's permissions document. */
export function initPermissions(branch: string): PermissionsDoc {
  return { schema: SCHEMA_VERSION, type: imm("permissions"), branch: imm(branch), users: {}, devices: {} };
}

/** Adds or replaces a user inside a `change()` callback. */
export function putUser(doc: PermissionsDoc, user: User, pin: PinVerifierDoc, signing: SigningKeyDoc): void {
  // A new PIN brings a new signing key; the old public keys stay, so records signed before still verify.
  const previous = doc.users[user.id]?.signing;
  const former = previous
    ? [...(previous.formerPublicKeys ?? []).map((k) => str(k)), str(previous.publicKey)]
    : [];
  doc.users[user.id] = {
    name: imm(user.name),
    role: imm(user.role),
    pin,
    signing: { ...signing, formerPublicKeys: former.map(imm) },
    active: user.active,
  };
}

/** Reads one user, or null. */
export function readUser(doc: PermissionsDoc, id: string): (User & { pin: PinVerifierDoc; signing: SigningKeyDoc }) | null {
  const stored = doc.users[id];
  if (!stored) return null;
  return { id, name: str(stored.name), role: str(stored.role) as Role, active: stored.active, pin: stored.pin, signing: stored.signing };
}

/** Reads a user's public signing keys, current first, then those used before a PIN change. */
export function readSigningKeys(doc: PermissionsDoc, id: string): KeyObject[] {
  const signing = doc.users[id]?.signing;
  if (!signing) return [];
  return [str(signing.publicKey), ...(signing.formerPublicKeys ?? []).map((k) => str(k))].map(decodeCachedKey);
}

/**
 * Public keys decoded so far. Every record's check reads its signer's keys,
 * and in a CPU profile of a terminal start, decoding them anew for each
 * record took almost as long as the signature checks themselves.
 */
const decodedKeys = new Map<string, KeyObject>();
const DECODED_KEYS_MAX = 1000;

function decodeCachedKey(encoded: string): KeyObject {
  let key = decodedKeys.get(encoded);
  if (!key) {
    key = decodePublicKey(encoded);
    if (decodedKeys.size >= DECODED_KEYS_MAX) decodedKeys.clear();
    decodedKeys.set(encoded, key);
  }
  return key;
}

/** Registers an activated device inside a `change()` callback of the relay. */
export function putDevice(doc: PermissionsDoc, terminal: string, publicKey: string, activatedAt: string): void {
  doc.devices[terminal] = { publicKey: imm(publicKey), activatedAt: imm(activatedAt), revoked: false };
}

/** Marks a device revoked inside a `change()` callback of the relay. */
export function revokeDevice(doc: PermissionsDoc, terminal: string): boolean {
  const device = doc.devices[terminal];
  if (!device) return false;
  device.revoked = true;
  return true;
}

/** Reads a device's public key: null when unknown, "revoked" when revoked. */
export function readDeviceKey(doc: PermissionsDoc, terminal: string): KeyObject | null | "revoked" {
  const device = doc.devices?.[terminal];
  if (!device) return null;
  if (device.revoked) return "revoked";
  return decodePublicKey(str(device.publicKey));
}

/** Lists the users of a branch without their verifiers. */
export function listUsers(doc: PermissionsDoc): User[] {
  return Object.keys(doc.users)
    .sort()
    .map((id) => {
      const { pin: _pin, signing: _signing, ...user } = readUser(doc, id)!;
      return user;
    });
}
