import { createHash, randomBytes } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { join } from "node:path";
import {
  HQ_USER_PATTERN,
  ValidationError,
  decodePublicKey,
  editorPeerId,
  encodePublicKey,
  readJsonFile,
  verifyEditorToken,
  writeJsonDurable,
} from "@mercora/crdt-model";
import type { Logger } from "pino";

interface EditorEnrollment {
  /** SHA-256 (hex) of the enrollment code; the code itself is never stored. */
  codeHash: string;
  user: string;
  name: string;
  expiresAt: string;
  usedAt: string | null;
}

interface EditorDevice {
  user: string;
  name: string;
  /** Ed25519 public key of the editor's device key, base64 SPKI DER. */
  publicKey: string;
  enrolledAt: string;
  revokedAt: string | null;
}

interface EditorsState {
  enrollments: EditorEnrollment[];
  devices: Record<string, EditorDevice>;
}

/** Summary of one catalog editor for HQ. */
export interface CatalogEditorSummary {
  user: string;
  name: string;
  peerId: string;
  enrolledAt: string;
  revokedAt: string | null;
  connected: boolean;
  lastContact: string | null;
  /** Last time the relay rejected a connection of this editor, since the relay started. */
  lastRefusedAt: string | null;
}

/**
 * The catalog editor devices HQ enrolled: one Ed25519 public key per HQ
 * user, enrolled with a one-time code and revocable. The relay checks an
 * editor's websocket token against it. The list is kept in
 * `catalog-editors.json` in the relay's data folder, sealed with the
 * relay's storage key because it names HQ staff.
 */
export class CatalogEditorRegistry {
  #state: EditorsState = { enrollments: [], devices: {} };
  readonly #seenNonces = new Map<string, number>();
  readonly #refusedAt = new Map<string, string>();
  readonly #path: string;

  constructor(
    dataDir: string,
    private readonly storageKey: Buffer,
    private readonly log: Logger,
  ) {
    this.#path = join(dataDir, "catalog-editors.json");
  }

  async open(): Promise<void> {
    const saved = await readJsonFile<EditorsState>(this.#path, this.storageKey);
    this.#state = { enrollments: [], devices: {}, ...saved };
  }

  /**
   * Creates a one-time enrollment code for an HQ user's catalog editor,
   * valid for `ttlMinutes`. A user with an active editor device must be
   * revoked first.
   */
  async createEnrollment(user: unknown, name: unknown, ttlMinutes: unknown = 24 * 60) {
    if (typeof user !== "string" || !HQ_USER_PATTERN.test(user)) {
      const shown = user === undefined ? "is missing; it" : JSON.stringify(user);
      throw new ValidationError("USER_INVALID", `user ${shown} must be the HQ user's id: 1-32 letters, digits, ., - or _`, "user", user);
    }
    const displayName = name === undefined ? user : name;
    if (typeof displayName !== "string" || displayName.trim() === "" || displayName.length > 100) {
      throw new ValidationError("NAME_INVALID", `name ${JSON.stringify(name)} must be the HQ user's name, 1 to 100 characters`, "name", name);
    }
    if (typeof ttlMinutes !== "number" || !Number.isFinite(ttlMinutes) || ttlMinutes <= 0 || ttlMinutes > 30 * 24 * 60) {
      throw new ValidationError("TTL_INVALID", `ttlMinutes ${JSON.stringify(ttlMinutes)} must be between 1 and 43200`, "ttlMinutes", ttlMinutes);
    }
    const device = this.#state.devices[user];
    if (device && !device.revokedAt) {
      throw Object.assign(new Error(`HQ user ${user} already has an active catalog editor; revoke it first to replace the device`), {
        statusCode: 409,
      });
    }
    const code = randomBytes(10).toString("base64url").replace(/[-_]/g, "x").slice(0, 12).toUpperCase();
    const expiresAt = new Date(Date.now() + ttlMinutes * 60_000).toISOString();
    this.#state.enrollments.push({ codeHash: sha256(code), user, name: displayName.trim(), expiresAt, usedAt: null });
    await this.#save();
    this.log.info({ user, expiresAt }, "catalog editor enrollment created");
    return { user, name: displayName.trim(), code, expiresAt };
  }

  /** Registers an editor's public key with its one-time code; returns the enrolled user. */
  async activate(input: { user?: unknown; code?: unknown; publicKey?: unknown }): Promise<{ user: string; name: string }> {
    if (typeof input.user !== "string" || typeof input.code !== "string" || typeof input.publicKey !== "string") {
      throw new ValidationError("ENROLLMENT_INVALID", "Catalog editor enrollment needs user, code and publicKey", null);
    }
    const codeHash = sha256(input.code);
    const enrollment = this.#state.enrollments.find((e) => e.codeHash === codeHash && e.user === input.user);
    const reject = (reason: string) => {
      this.log.warn({ user: input.user, reason }, "catalog editor enrollment rejected");
      return Object.assign(new Error(`Enrollment of catalog editor ${input.user} rejected: ${reason}`), { statusCode: 403 });
    };
    if (!enrollment) throw reject("unknown enrollment code for this user");
    if (enrollment.usedAt) throw reject(`the code was already used at ${enrollment.usedAt}; ask HQ for a new one`);
    if (Date.parse(enrollment.expiresAt) < Date.now()) throw reject(`the code expired at ${enrollment.expiresAt}; ask HQ for a new one`);
    let publicKey: string;
    try {
      publicKey = encodePublicKey(decodePublicKey(input.publicKey));
    } catch {
      throw new ValidationError("PUBLIC_KEY_INVALID", "publicKey must be a base64 SPKI DER Ed25519 key", "publicKey");
    }
    const now = new Date().toISOString();
    this.#state.devices[enrollment.user] = { user: enrollment.user, name: enrollment.name, publicKey, enrolledAt: now, revokedAt: null };
    enrollment.usedAt = now;
    await this.#save();
    this.log.info({ user: enrollment.user }, "catalog editor enrolled");
    return { user: enrollment.user, name: enrollment.name };
  }

  /** Revokes an editor device; the caller closes its open connections. */
  async revoke(user: string): Promise<{ user: string; peerId: string; revokedAt: string }> {
    const device = this.#state.devices[user];
    if (!device) throw new ValidationError("EDITOR_UNKNOWN", `HQ user ${user} has no enrolled catalog editor`, "user", user);
    device.revokedAt ??= new Date().toISOString();
    await this.#save();
    this.log.warn({ user }, "catalog editor revoked");
    return { user, peerId: editorPeerId(user), revokedAt: device.revokedAt };
  }

  /** Checks a catalog editor's websocket token; returns the peer id the connection is bound to. */
  authenticate(token: string, now = Date.now()): { peerId: string } | { reason: string } {
    const result = verifyEditorToken(token, (user) => this.#publicKeyOf(user), now, this.#seenNonces);
    if ("reason" in result) {
      if (result.claims) this.#refusedAt.set(result.claims.editor, new Date(now).toISOString());
      return { reason: result.reason };
    }
    return { peerId: result.claims.peerId };
  }

  #publicKeyOf(user: string): KeyObject | null | "revoked" {
    const device = this.#state.devices[user];
    if (!device) return null;
    if (device.revokedAt) return "revoked";
    return decodePublicKey(device.publicKey);
  }

  /** Lists every enrolled editor with its last contact. */
  list(contacts: Map<string, { lastContact: string; connected: boolean }>): CatalogEditorSummary[] {
    return Object.values(this.#state.devices)
      .sort((a, b) => a.user.localeCompare(b.user))
      .map((device) => {
        const peerId = editorPeerId(device.user);
        const contact = contacts.get(peerId);
        return {
          user: device.user,
          name: device.name,
          peerId,
          enrolledAt: device.enrolledAt,
          revokedAt: device.revokedAt,
          connected: contact?.connected ?? false,
          lastContact: contact?.lastContact ?? null,
          lastRefusedAt: this.#refusedAt.get(device.user) ?? null,
        };
      });
  }

  async #save(): Promise<void> {
    await writeJsonDurable(this.#path, this.#state, this.storageKey);
  }
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
