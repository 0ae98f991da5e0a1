import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import type { PermissionsDoc, PinVerifierDoc } from "./schema.ts";
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

/** Builds the value of a branch's permissions document. */
export function initPermissions(branch: string): PermissionsDoc {
  return { schema: SCHEMA_VERSION, type: imm("permissions"), branch: imm(branch), users: {} };
}

/** Adds or replaces a user inside a `change()` callback. */
export function putUser(doc: PermissionsDoc, user: User, pin: PinVerifierDoc): void {
  doc.users[user.id] = { name: imm(user.name), role: imm(user.role), pin, active: user.active };
}

/** Reads one user, or null. */
export function readUser(doc: PermissionsDoc, id: string): (User & { pin: PinVerifierDoc }) | null {
  const stored = doc.users[id];
  if (!stored) return null;
  return { id, name: str(stored.name), role: str(stored.role) as Role, active: stored.active, pin: stored.pin };
}

/** Lists the users of a branch without their verifiers. */
export function listUsers(doc: PermissionsDoc): User[] {
  return Object.keys(doc.users)
    .sort()
    .map((id) => {
      const { pin: _pin, ...user } = readUser(doc, id)!;
      return user;
    });
}
