import { join } from "node:path";
import type { DocHandle } from "@automerge/automerge-repo";
import { RuleError, readJsonFile, readUser, verifyPin, writeJsonDurable } from "@mercora/crdt-model";
import type { PermissionsDoc, Role } from "@mercora/crdt-model";
import type { Logger } from "pino";

/** Wrong PINs in a row that lock a user on this terminal. */
export const MAX_PIN_FAILURES = 5;
/** How long a locked user stays locked on this terminal. */
export const PIN_LOCK_MS = 5 * 60_000;

interface Attempts {
  failures: number;
  lockedUntil: number | null;
}

/**
 * Checks PINs against the branch's verifiers and locks a user on this
 * terminal for five minutes after five wrong PINs in a row. The counts
 * survive a restart, so restarting the terminal does not reset a lock.
 */
export class PinGuard {
  #attempts: Record<string, Attempts> = {};
  readonly #path: string;

  constructor(
    private readonly permissions: () => DocHandle<PermissionsDoc>,
    dataDir: string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.#path = join(dataDir, "pin-attempts.json");
  }

  async open(): Promise<void> {
    this.#attempts = (await readJsonFile<Record<string, Attempts>>(this.#path)) ?? {};
  }

  /**
   * Verifies that `userId` exists, is active, has `role` (a manager passes
   * any check) and that `pin` is theirs. Throws a `RuleError` otherwise;
   * every outcome is logged with the user and the action.
   */
  async authorize(userId: string, pin: string, role: Role, action: string): Promise<{ id: string; name: string }> {
    const attempts = this.#attempts[userId] ?? { failures: 0, lockedUntil: null };
    if (attempts.lockedUntil !== null && attempts.lockedUntil > this.now()) {
      const minutes = Math.ceil((attempts.lockedUntil - this.now()) / 60_000);
      this.log.warn({ user: userId, action }, "PIN rejected: user locked on this terminal");
      throw new RuleError(
        "PIN_LOCKED",
        `User ${userId} is locked on this terminal after ${MAX_PIN_FAILURES} wrong PINs; try again in ${minutes} min`,
        "pin",
      );
    }
    const user = readUser(this.permissions().doc(), userId);
    if (!user || !user.active) {
      this.log.warn({ user: userId, action }, "PIN rejected: unknown or inactive user");
      throw new RuleError("USER_UNKNOWN", `No active user ${userId} in this branch; check the user id`, role === "manager" ? "manager" : "user");
    }
    if (!(await verifyPin(pin, user.pin))) {
      attempts.failures += 1;
      if (attempts.failures >= MAX_PIN_FAILURES) {
        attempts.lockedUntil = this.now() + PIN_LOCK_MS;
        attempts.failures = 0;
        this.log.error({ user: userId, action, lockedUntil: new Date(attempts.lockedUntil).toISOString() }, "user locked after wrong PINs");
      } else {
        this.log.warn({ user: userId, action, failures: attempts.failures }, "wrong PIN");
      }
      this.#attempts[userId] = attempts;
      await writeJsonDurable(this.#path, this.#attempts);
      if (attempts.lockedUntil !== null) {
        throw new RuleError("PIN_LOCKED", `Wrong PIN for ${userId}; the user is now locked on this terminal for 5 min`, "pin");
      }
      throw new RuleError(
        "PIN_WRONG",
        `Wrong PIN for ${userId} (${MAX_PIN_FAILURES - attempts.failures} ${MAX_PIN_FAILURES - attempts.failures === 1 ? "try" : "tries"} left before a 5 min lock)`,
        "pin",
      );
    }
    if (role === "manager" && user.role !== "manager") {
      this.log.warn({ user: userId, action }, "PIN rejected: not a manager");
      throw new RuleError("MANAGER_REQUIRED", `${action} needs a manager; ${userId} is a ${user.role}`, "manager");
    }
    if (attempts.failures > 0 || attempts.lockedUntil !== null) {
      delete this.#attempts[userId];
      await writeJsonDurable(this.#path, this.#attempts);
    }
    this.log.info({ user: userId, action }, "authorized by PIN");
    return { id: user.id, name: user.name };
  }
}
