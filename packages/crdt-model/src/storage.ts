import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo";

/**
 * Plain chunk file layout: 4 magic bytes, the SHA-256 of the payload, the
 * payload. The checksum lets a load tell a damaged or truncated chunk from a
 * good one instead of handing corrupted bytes to Automerge.
 */
const MAGIC = Buffer.from("MCR1", "ascii");
const HEADER_BYTES = MAGIC.length + 32;
/**
 * Encrypted chunk file layout: 4 magic bytes, a random 12-byte nonce, the
 * 16-byte AES-256-GCM tag, the ciphertext. The storage key is the
 * additional authenticated data, so a chunk copied under another key fails
 * authentication like a damaged one.
 */
const SEALED_MAGIC = Buffer.from("MCR2", "ascii");
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const SEALED_HEADER_BYTES = SEALED_MAGIC.length + NONCE_BYTES + TAG_BYTES;

/** Count of temporary files this process has named. With the process id, it makes each name unique. */
let tempCounter = 0;

/**
 * Random bytes that nonces are cut from, refilled in blocks of
 * `NONCE_POOL_BYTES`. A relay seals hundreds of chunks a second, and two
 * calls into the random generator per chunk (its nonce and its temporary
 * file's name) took 7% of its main thread.
 */
const NONCE_POOL_BYTES = NONCE_BYTES * 4096;
let noncePool = Buffer.alloc(0);
let nonceOffset = 0;

function nextNonce(): Buffer {
  if (nonceOffset + NONCE_BYTES > noncePool.length) {
    noncePool = randomBytes(NONCE_POOL_BYTES);
    nonceOffset = 0;
  }
  const nonce = noncePool.subarray(nonceOffset, nonceOffset + NONCE_BYTES);
  nonceOffset += NONCE_BYTES;
  return nonce;
}

/** Encrypts bytes with AES-256-GCM under a 32-byte key, binding them to `context`. */
export function sealBytes(key: Buffer, data: Uint8Array, context: string): Buffer {
  const nonce = nextNonce();
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(Buffer.from(context, "utf8"));
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  return Buffer.concat([SEALED_MAGIC, nonce, cipher.getAuthTag(), ciphertext]);
}

/** Decrypts what `sealBytes` made; returns the failure reason instead of throwing. */
export function openSealedBytes(key: Buffer, bytes: Buffer, context: string): Uint8Array | { reason: string } {
  if (bytes.length < SEALED_HEADER_BYTES) {
    return { reason: `chunk is ${bytes.length} bytes, shorter than its ${SEALED_HEADER_BYTES}-byte header` };
  }
  if (!bytes.subarray(0, SEALED_MAGIC.length).equals(SEALED_MAGIC)) {
    return { reason: "chunk does not start with the MCR2 header of an encrypted chunk" };
  }
  const nonce = bytes.subarray(SEALED_MAGIC.length, SEALED_MAGIC.length + NONCE_BYTES);
  const tag = bytes.subarray(SEALED_MAGIC.length + NONCE_BYTES, SEALED_HEADER_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, nonce);
  decipher.setAAD(Buffer.from(context, "utf8"));
  decipher.setAuthTag(tag);
  try {
    return new Uint8Array(Buffer.concat([decipher.update(bytes.subarray(SEALED_HEADER_BYTES)), decipher.final()]));
  } catch {
    return { reason: "chunk failed AES-GCM authentication (damaged, cut short, moved or under another key)" };
  }
}
const CHUNK_SUFFIX = ".chunk";
const QUARANTINE_DIR = "quarantine";

export interface DamagedChunk {
  key: StorageKey;
  file: string;
  movedTo: string;
  reason: string;
  at: string;
}

export interface DurableStorageEvents {
  /** A chunk failed its checksum or was cut short, and was moved aside. */
  damaged: [DamagedChunk];
}

/**
 * An automerge-repo storage adapter that survives `kill -9` and power loss:
 * every save writes a uniquely named temporary file, fsyncs it, renames it
 * over the chunk and fsyncs the folder, so a chunk is either whole or absent.
 * Sync states, which automerge-repo can rebuild, are renamed into place
 * without the two fsyncs.
 * Loads verify each chunk's checksum; a chunk that fails is never returned,
 * is moved to `quarantine/` and reported once through the `damaged` event
 * and `damagedChunks`. No chunk is cached in memory. At most
 * `STORAGE_CONCURRENCY` operations touch files at a time, and the others
 * wait in arrival order. Without the cap, a relay with 400 stores ran out of
 * file descriptors saving the sync states of 1,600 connecting terminals.
 */
export class DurableFileStorageAdapter
  extends EventEmitter<DurableStorageEvents>
  implements StorageAdapterInterface
{
  readonly #root: string;
  readonly #damaged: DamagedChunk[] = [];
  #ready: Promise<void> | null = null;

  readonly #key: Buffer | null;
  readonly #slots = new Slots(STORAGE_CONCURRENCY);
  /**
   * Folders this adapter created or found, so a save does not stat its
   * folder again. A relay with 300 stores spent 7% of its main thread on
   * those stats.
   */
  readonly #knownDirs = new Set<string>();

  /** With a 32-byte `key`, every chunk is encrypted and authenticated with AES-256-GCM. */
  constructor(root: string, key: Buffer | null = null) {
    super();
    if (key && key.length !== 32) throw new Error(`Storage key must be 32 bytes, got ${key.length}`);
    this.#root = root;
    this.#key = key;
  }

  /** Chunks found damaged since this adapter started. */
  get damagedChunks(): readonly DamagedChunk[] {
    return this.#damaged;
  }

  load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#slots.run(() => this.#load(key));
  }

  save(key: StorageKey, data: Uint8Array): Promise<void> {
    return this.#slots.run(() => this.#save(key, data));
  }

  remove(key: StorageKey): Promise<void> {
    return this.#slots.run(() => this.#remove(key));
  }

  loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    return this.#slots.run(() => this.#loadRange(keyPrefix));
  }

  removeRange(keyPrefix: StorageKey): Promise<void> {
    return this.#slots.run(() => this.#removeRange(keyPrefix));
  }

  async #load(key: StorageKey): Promise<Uint8Array | undefined> {
    const file = this.#fileOf(key);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    return this.#verify(key, file, bytes);
  }

  async #save(key: StorageKey, data: Uint8Array): Promise<void> {
    await this.#ensureRoot();
    const file = this.#fileOf(key);
    const dir = join(file, "..");
    // A sync state only saves a round trip at the next connection. One cut
    // short by a power loss fails its checksum, and sync starts over.
    const durable = key[1] !== SYNC_STATE_KEY;
    await this.#ensureDir(dir, durable);
    const bytes = this.#key
      ? sealBytes(this.#key, data, key.join("/"))
      : Buffer.concat([MAGIC, createHash("sha256").update(data).digest(), data]);
    tempCounter += 1;
    const temp = `${file}.${process.pid}.${tempCounter}.tmp`;
    let handle;
    try {
      handle = await open(temp, "w");
    } catch (error) {
      if (!isNotFound(error)) throw error;
      // Something removed the folder after this adapter created it, so create it again.
      this.#knownDirs.delete(dir);
      await this.#ensureDir(dir, durable);
      handle = await open(temp, "w");
    }
    try {
      await handle.writeFile(bytes);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    if (durable) await fsyncDir(dir);
  }

  /**
   * Creates a chunk's folder unless this adapter created or found it
   * before. Only a durable chunk's folder is fsynced into its parent.
   */
  async #ensureDir(dir: string, durable: boolean): Promise<void> {
    if (this.#knownDirs.has(dir)) return;
    if (durable) await mkdirDurable(dir, this.#root);
    else await mkdir(dir, { recursive: true });
    this.#knownDirs.add(dir);
  }

  async #remove(key: StorageKey): Promise<void> {
    const file = this.#fileOf(key);
    await rm(file, { force: true });
    await fsyncDir(join(file, "..")).catch(() => undefined);
  }

  async #loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    const dir = this.#dirOf(keyPrefix);
    const files = await listChunkFiles(dir);
    const chunks: Chunk[] = [];
    for (const file of files) {
      const key = this.#keyOf(file);
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (error) {
        if (isNotFound(error)) continue;
        throw error;
      }
      const data = await this.#verify(key, file, bytes);
      if (data) chunks.push({ key, data });
    }
    return chunks;
  }

  async #removeRange(keyPrefix: StorageKey): Promise<void> {
    const dir = this.#dirOf(keyPrefix);
    for (const file of await listChunkFiles(dir)) await rm(file, { force: true });
    await fsyncDir(dir).catch(() => undefined);
  }

  async #verify(key: StorageKey, file: string, bytes: Buffer): Promise<Uint8Array | undefined> {
    let reason: string | null = null;
    if (this.#key) {
      const opened = openSealedBytes(this.#key, bytes, key.join("/"));
      if (opened instanceof Uint8Array) return opened;
      await this.#quarantine(key, file, opened.reason);
      return undefined;
    }
    if (bytes.length < HEADER_BYTES) {
      reason = `chunk is ${bytes.length} bytes, shorter than its ${HEADER_BYTES}-byte header`;
    } else if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
      reason = "chunk does not start with the MCR1 header";
    } else {
      const expected = bytes.subarray(MAGIC.length, HEADER_BYTES);
      const payload = bytes.subarray(HEADER_BYTES);
      const actual = createHash("sha256").update(payload).digest();
      if (actual.equals(expected)) return new Uint8Array(payload);
      reason = "chunk checksum does not match its content (damaged or cut short)";
    }
    await this.#quarantine(key, file, reason);
    return undefined;
  }

  async #quarantine(key: StorageKey, file: string, reason: string): Promise<void> {
    const dir = join(this.#root, QUARANTINE_DIR);
    await mkdir(dir, { recursive: true });
    const movedTo = join(dir, `${Date.now()}-${key.join("_")}${CHUNK_SUFFIX}`);
    try {
      await rename(file, movedTo);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const damaged = { key, file, movedTo, reason, at: new Date().toISOString() };
    this.#damaged.push(damaged);
    this.emit("damaged", damaged);
  }

  #ensureRoot(): Promise<void> {
    this.#ready ??= mkdir(this.#root, { recursive: true }).then(() => undefined);
    return this.#ready;
  }

  #dirOf(keyPrefix: StorageKey): string {
    return join(this.#root, "docs", ...keyPrefix.map(checkSegment));
  }

  #fileOf(key: StorageKey): string {
    if (key.length === 0) throw new Error("Storage key is empty");
    const segments = key.map(checkSegment);
    const last = segments.pop()!;
    return join(this.#root, "docs", ...segments, `${last}${CHUNK_SUFFIX}`);
  }

  #keyOf(file: string): StorageKey {
    const rel = relative(join(this.#root, "docs"), file);
    const segments = rel.split(sep);
    const last = segments.pop()!;
    return [...segments, last.slice(0, -CHUNK_SUFFIX.length)];
  }
}

/** Second segment of the keys automerge-repo saves a peer's sync state under: `[documentId, "sync-state", storageId]`. */
const SYNC_STATE_KEY = "sync-state";

/**
 * Storage operations that may touch files at once. Each keeps at most two
 * descriptors open (a chunk and its folder), so 128 in all.
 */
export const STORAGE_CONCURRENCY = 64;

/** A counting semaphore: at most `limit` tasks run at once, the others start in arrival order. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.#free = limit;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free -= 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next task, so the count never drops below zero.
      if (next) next();
      else this.#free += 1;
    }
  }
}

function checkSegment(segment: string): string {
  if (segment === "" || segment === "." || segment === ".." || /[/\\\0]/.test(segment)) {
    throw new Error(`Storage key segment ${JSON.stringify(segment)} is not a valid file name`);
  }
  return segment;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException)?.code === "ENOENT";
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates a folder and its missing parents, fsyncing each parent so the new entry survives power loss. */
async function mkdirDurable(dir: string, root: string): Promise<void> {
  try {
    await stat(dir);
    return;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const parent = join(dir, "..");
  if (parent !== dir && parent.startsWith(root)) await mkdirDurable(parent, root);
  await mkdir(dir, { recursive: true });
  await fsyncDir(parent);
}

async function listChunkFiles(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(CHUNK_SUFFIX))
    .map((entry) => join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name))
    .sort();
}

/** How often `SyncStateCache` writes the sync states that changed, by default. */
export const SYNC_STATE_FLUSH_MS = 300_000;

/** Maximum number of sync states `SyncStateCache` keeps in memory, by default. States not yet written are never dropped. */
export const SYNC_STATE_CACHE_LIMIT = 200_000;

export interface SyncStateCacheOptions {
  /** Milliseconds between writes of changed sync states. Defaults to `SYNC_STATE_FLUSH_MS`. */
  flushMs?: number;
  /** Sync states kept in memory before the least recently saved written ones are dropped. Defaults to `SYNC_STATE_CACHE_LIMIT`. */
  limit?: number;
  /** Callback for a failed timed write. The states stay in memory, and the next write retries them. */
  onError?: (error: unknown) => void;
}

interface CachedSyncState {
  key: StorageKey;
  /** Undefined when storage has no sync state under the key. */
  data: Uint8Array | undefined;
  dirty: boolean;
}

/**
 * A storage adapter in front of another that keeps automerge-repo's sync
 * states (`[documentId, "sync-state", storageId]`) in memory and writes
 * the changed ones every `flushMs`. automerge-repo loads a peer's state on
 * its first message for a document and saves it after nearly every
 * message, each save a file of its own: an open, a write, a rename and,
 * with a key, a seal. A relay syncs thousands of peers. A state lost in a
 * crash costs one extra round trip when the peer next connects, as with a
 * damaged one.
 * Every other key goes straight to the inner adapter. Call `close()` on
 * shutdown to write what is left.
 */
export class SyncStateCache implements StorageAdapterInterface {
  readonly #inner: StorageAdapterInterface;
  readonly #flushMs: number;
  readonly #limit: number;
  readonly #onError: (error: unknown) => void;
  /** Cached states by key, oldest first: ordered by last save or first load. */
  readonly #states = new Map<string, CachedSyncState>();
  #dirtyCount = 0;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(inner: StorageAdapterInterface, options: SyncStateCacheOptions = {}) {
    const flushMs = options.flushMs ?? SYNC_STATE_FLUSH_MS;
    const limit = options.limit ?? SYNC_STATE_CACHE_LIMIT;
    if (!(flushMs > 0)) {
      throw new RangeError(`SyncStateCache: invalid flushMs ${flushMs}, expected a positive number of milliseconds`);
    }
    if (!(limit > 0)) {
      throw new RangeError(`SyncStateCache: invalid limit ${limit}, expected a positive number of sync states`);
    }
    this.#inner = inner;
    this.#flushMs = flushMs;
    this.#limit = limit;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Sync states held in memory, and how many of them wait for the next write. */
  get size(): { states: number; unwritten: number } {
    return { states: this.#states.size, unwritten: this.#dirtyCount };
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    if (!isSyncStateKey(key)) return this.#inner.load(key);
    const id = cacheId(key);
    const cached = this.#states.get(id);
    if (cached) return cached.data;
    const data = await this.#inner.load(key);
    // A save that landed while the load ran is newer than what the load read.
    const raced = this.#states.get(id);
    if (raced) return raced.data;
    this.#states.set(id, { key, data, dirty: false });
    this.#evict();
    return data;
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    if (!isSyncStateKey(key)) return this.#inner.save(key, data);
    const id = cacheId(key);
    if (this.#closed) {
      this.#drop(id);
      return this.#inner.save(key, data);
    }
    const cached = this.#states.get(id);
    if (cached) this.#states.delete(id);
    if (!cached?.dirty) this.#dirtyCount += 1;
    this.#states.set(id, { key, data, dirty: true });
    this.#evict();
    this.#arm();
  }

  async remove(key: StorageKey): Promise<void> {
    if (isSyncStateKey(key)) this.#drop(cacheId(key));
    return this.#inner.remove(key);
  }

  async loadRange(keyPrefix: StorageKey): Promise<Chunk[]> {
    if (mayHoldSyncStates(keyPrefix)) await this.#flushWhere((id) => isUnder(id, keyPrefix));
    return this.#inner.loadRange(keyPrefix);
  }

  async removeRange(keyPrefix: StorageKey): Promise<void> {
    if (mayHoldSyncStates(keyPrefix)) {
      for (const id of [...this.#states.keys()]) if (isUnder(id, keyPrefix)) this.#drop(id);
    }
    return this.#inner.removeRange(keyPrefix);
  }

  /** Writes every sync state saved since the last write. */
  flush(): Promise<void> {
    return this.#flushWhere(() => true);
  }

  /** Writes what is left and sends later saves straight to the inner adapter. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.flush();
  }

  #flushWhere(matches: (id: string) => boolean): Promise<void> {
    const batch: [string, CachedSyncState][] = [];
    for (const [id, state] of this.#states) {
      if (!state.dirty || !matches(id)) continue;
      state.dirty = false;
      this.#dirtyCount -= 1;
      batch.push([id, state]);
    }
    const write = this.#flushing.then(async () => {
      const results = await Promise.allSettled(batch.map(([, state]) => this.#inner.save(state.key, state.data!)));
      let failure: unknown = null;
      results.forEach((result, index) => {
        if (result.status === "fulfilled") return;
        failure ??= result.reason;
        const [id, state] = batch[index]!;
        // Mark the state for the next write again, unless a newer save replaced it.
        if (this.#states.get(id) === state && !state.dirty) {
          state.dirty = true;
          this.#dirtyCount += 1;
        }
      });
      if (failure !== null) {
        const reason = (failure as Error).message;
        throw new Error(`Failed to write ${batch.length} sync states (${reason}). They stay in memory, and the next write retries them.`, {
          cause: failure,
        });
      }
    });
    this.#flushing = write.catch(() => undefined);
    return write;
  }

  /** Starts the timer of the next write unless one is set. A failed timed write starts it again. */
  #arm(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush().catch((error: unknown) => {
        this.#onError(error);
        if (this.#dirtyCount > 0) this.#arm();
      });
    }, this.#flushMs).unref();
  }

  #drop(id: string): void {
    const cached = this.#states.get(id);
    if (!cached) return;
    if (cached.dirty) this.#dirtyCount -= 1;
    this.#states.delete(id);
  }

  /** Drops the oldest written states while more than the limit are held. */
  #evict(): void {
    // Unwritten states are never dropped, so with only those there is nothing to scan for.
    if (this.#states.size <= this.#limit || this.#dirtyCount >= this.#states.size) return;
    for (const [id, state] of this.#states) {
      if (this.#states.size <= this.#limit) return;
      if (!state.dirty) this.#states.delete(id);
    }
  }
}

function isSyncStateKey(key: StorageKey): boolean {
  return key.length === 3 && key[1] === SYNC_STATE_KEY;
}

/** Tells whether keys under `prefix` can be sync states: `[]`, `[documentId]` or `[documentId, "sync-state", ...]`. */
function mayHoldSyncStates(prefix: StorageKey): boolean {
  return prefix.length < 2 || prefix[1] === SYNC_STATE_KEY;
}

/**
 * Returns the cache id of a storage key: its segments joined on NUL. The
 * keys automerge-repo makes (base58 and UUID ids) contain no NUL.
 */
function cacheId(key: StorageKey): string {
  return key.join("\0");
}

/** Tells whether the key cached as `id` equals `prefix` or lies under it. */
function isUnder(id: string, prefix: StorageKey): boolean {
  return prefix.length === 0 || `${id}\0`.startsWith(`${cacheId(prefix)}\0`);
}
