import { randomBytes } from "node:crypto";
import { open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import type { AnyDocumentId, DocHandle, Repo } from "@automerge/automerge-repo";
import { openSealedBytes, sealBytes } from "./storage.ts";

/**
 * Finds a document, retrying while no connected peer has it yet (a fresh
 * terminal waiting for its first sync, say), until `timeoutMs` passes.
 * Throws with the URL when it never becomes available.
 */
export async function findDocument<T>(
  repo: Repo,
  id: AnyDocumentId,
  options: { timeoutMs: number; retryMs?: number; signal?: AbortSignal },
): Promise<DocHandle<T>> {
  if (!(options.timeoutMs > 0) || !Number.isFinite(options.timeoutMs)) {
    throw new RangeError(`findDocument: timeoutMs must be a positive number of milliseconds, got ${options.timeoutMs}`);
  }
  const deadline = Date.now() + options.timeoutMs;
  const retryMs = options.retryMs ?? 250;
  let lastError: unknown = null;
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    options.signal?.throwIfAborted();
    try {
      // AbortSignal.timeout takes whole milliseconds and throws on a fraction.
      const remaining = Math.max(1, Math.ceil(deadline - Date.now()));
      return await repo.find<T>(id, { signal: AbortSignal.timeout(remaining) });
    } catch (error) {
      // A bad argument fails the same way on every attempt, so it is not retried.
      if (error instanceof TypeError || error instanceof RangeError) throw error;
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
  throw new Error(
    `Document ${String(id)} is not available locally or from any connected peer after ${options.timeoutMs} ms` +
      (lastError ? ` (last error: ${(lastError as Error).message})` : ""),
  );
}

/**
 * Writes a JSON file atomically and durably: temporary file, fsync, rename,
 * fsync of the folder. With `key`, the file is sealed with AES-256-GCM.
 */
export async function writeJsonDurable(path: string, value: unknown, key: Buffer | null = null): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const handle = await open(temp, "w");
  const text = JSON.stringify(value, null, 2) + "\n";
  try {
    await handle.writeFile(key ? sealBytes(key, Buffer.from(text), "json-file") : text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  const dir = await open(dirname(path), "r");
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Reads a JSON file (sealed with `key` when given), or returns null when it does not exist. */
export async function readJsonFile<T>(path: string, key: Buffer | null = null): Promise<T | null> {
  try {
    const bytes = await readFile(path);
    if (!key) return JSON.parse(bytes.toString("utf8")) as T;
    const opened = openSealedBytes(key, bytes, "json-file");
    if (!(opened instanceof Uint8Array)) throw new Error(opened.reason);
    return JSON.parse(Buffer.from(opened).toString("utf8")) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Error(`Cannot read ${path}: ${(error as Error).message}`);
  }
}
