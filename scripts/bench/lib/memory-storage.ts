import type { Chunk, StorageAdapterInterface, StorageKey } from "@automerge/automerge-repo";

/**
 * An automerge-repo storage adapter that keeps chunks in a Map, for
 * simulated terminals that need a storage id (automerge-repo treats a repo
 * without storage as an ephemeral peer) but not durability.
 */
export class MemoryStorageAdapter implements StorageAdapterInterface {
  readonly #chunks = new Map<string, Uint8Array>();

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.#chunks.get(key.join("\u0000"));
  }

  async save(key: StorageKey, data: Uint8Array): Promise<void> {
    this.#chunks.set(key.join("\u0000"), data);
  }

  async remove(key: StorageKey): Promise<void> {
    this.#chunks.delete(key.join("\u0000"));
  }

  async loadRange(prefix: StorageKey): Promise<Chunk[]> {
    const start = prefix.join("\u0000");
    const out: Chunk[] = [];
    for (const [key, data] of this.#chunks) if (key.startsWith(start)) out.push({ key: key.split("\u0000"), data });
    return out;
  }

  async removeRange(prefix: StorageKey): Promise<void> {
    const start = prefix.join("\u0000");
    for (const key of [...this.#chunks.keys()]) if (key.startsWith(start)) this.#chunks.delete(key);
  }
}
