import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { mkdir, open, readFile, rename, chmod } from "node:fs/promises";
import { join } from "node:path";

/**
 * The keys of one process, in a folder only its user can read: the 32-byte
 * storage key that encrypts every chunk, and for a terminal its Ed25519
 * device key. The files are created with mode 0600 in a folder with mode
 * 0700; anyone who can read them can decrypt the storage.
 */
export class Keystore {
  private constructor(
    readonly folder: string,
    readonly storageKey: Buffer,
  ) {}

  /** Opens the keystore in `folder`, creating the storage key when `create` is set. */
  static async open(folder: string, options: { create: boolean }): Promise<Keystore> {
    const path = join(folder, "storage.key");
    let key: Buffer;
    try {
      key = await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      if (!options.create) {
        throw new Error(`Keystore ${folder} has no storage key; this data folder was never activated`);
      }
      await mkdir(folder, { recursive: true, mode: 0o700 });
      await chmod(folder, 0o700);
      key = randomBytes(32);
      await writeSecret(path, key);
    }
    if (key.length !== 32) throw new Error(`Storage key ${path} is ${key.length} bytes, not 32; the keystore is damaged`);
    return new Keystore(folder, key);
  }

  /** Reads the device key, or null before activation. */
  async deviceKey(): Promise<KeyObject | null> {
    try {
      return createPrivateKey(await readFile(join(this.folder, "device.key"), "utf8"));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw error;
    }
  }

  /** Generates and stores a new Ed25519 device key. */
  async createDeviceKey(): Promise<KeyObject> {
    const { privateKey } = generateKeyPairSync("ed25519");
    await writeSecret(join(this.folder, "device.key"), Buffer.from(privateKey.export({ type: "pkcs8", format: "pem" })));
    return privateKey;
  }

  /** Reads or creates a random secret by name, as base64url text (the relay's HQ token, say). */
  async secret(name: string): Promise<string> {
    const path = join(this.folder, name);
    try {
      return (await readFile(path, "utf8")).trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const value = randomBytes(24).toString("base64url");
    await writeSecret(path, Buffer.from(value));
    return value;
  }
}

async function writeSecret(path: string, data: Buffer): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temp, "w", 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

/** Encodes a public key as base64 SPKI DER, the form stored in documents. */
export function encodePublicKey(key: KeyObject): string {
  const publicKey = key.type === "private" ? createPublicKey(key) : key;
  return publicKey.export({ type: "spki", format: "der" }).toString("base64");
}

/** Keys decoded before, by their base64 form: the relay checks a device key at every connection. */
const decodedKeys = new Map<string, KeyObject>();
/** More keys than a relay has devices. Past it, the cache starts over. */
const DECODED_KEYS_LIMIT = 100_000;

/** Decodes a base64 SPKI DER public key. */
export function decodePublicKey(encoded: string): KeyObject {
  let key = decodedKeys.get(encoded);
  if (!key) {
    key = createPublicKey({ key: Buffer.from(encoded, "base64"), format: "der", type: "spki" });
    if (decodedKeys.size >= DECODED_KEYS_LIMIT) decodedKeys.clear();
    decodedKeys.set(encoded, key);
  }
  return key;
}

/** Signs bytes with an Ed25519 private key; returns base64. */
export function signBytes(privateKey: KeyObject, data: Buffer | string): string {
  return sign(null, Buffer.from(data), privateKey).toString("base64");
}

/** Verifies an Ed25519 signature made by `signBytes`. */
export function verifySignature(publicKey: KeyObject, data: Buffer | string, signature: string): boolean {
  try {
    return verify(null, Buffer.from(data), publicKey, Buffer.from(signature, "base64"));
  } catch {
    return false;
  }
}
