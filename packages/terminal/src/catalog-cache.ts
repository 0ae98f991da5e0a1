import { join } from "node:path";
import * as A from "@automerge/automerge";
import type { DocHandle } from "@automerge/automerge-repo";
import { CatalogIndex, readJsonFile, writeJsonDurable } from "@mercora/crdt-model";
import type { CatalogDoc } from "@mercora/crdt-model";
import type { Logger } from "pino";
import { sameHeads } from "./heads.ts";

/** Quiet time after a catalog change before the terminal rereads the catalog and rewrites its snapshot. */
export const CATALOG_REFRESH_MS = 1000;

/**
 * The catalog the terminal prices and looks up products with: an in-memory
 * index read from a sealed JSON snapshot at start, so the first sale does
 * not wait for the Automerge catalog to load. Whenever the document
 * changes, the index is rebuilt from it and the snapshot rewritten.
 */
export class CatalogCache {
  readonly #path: string;
  readonly #key: Buffer;
  readonly #log: Logger;
  #index: CatalogIndex | null = null;
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(dataDir: string, key: Buffer, log: Logger) {
    this.#path = join(dataDir, "catalog-snapshot.json");
    this.#key = key;
    this.#log = log;
  }

  /** Reads the snapshot left by an earlier run; false when there is none or it is unreadable. */
  async readSnapshot(catalogUrl: string): Promise<boolean> {
    try {
      const value = await readJsonFile<unknown>(this.#path, this.#key);
      if (value === null) return false;
      const index = CatalogIndex.fromSnapshot(value);
      if (index.snapshot.url !== catalogUrl) return false;
      this.#index = index;
      return true;
    } catch (error) {
      this.#log.warn({ err: error, path: this.#path }, "catalog snapshot unreadable; loading the catalog document");
      return false;
    }
  }

  /** The current index; throws before a snapshot or the document was read. */
  get index(): CatalogIndex {
    if (!this.#index) throw new Error("The catalog is not loaded yet");
    return this.#index;
  }

  get ready(): boolean {
    return this.#index !== null;
  }

  /**
   * Follows the catalog document: reads it now when its heads differ from
   * the snapshot's, and again after every change, rewriting the snapshot.
   */
  async attach(handle: DocHandle<CatalogDoc>): Promise<void> {
    handle.on("change", () => this.#scheduleRefresh(handle));
    const heads = A.getHeads(handle.doc() as A.Doc<unknown>);
    const known = this.#index?.snapshot.heads ?? [];
    if (this.#index && sameHeads(heads, known)) return;
    await this.#refresh(handle);
  }

  /** Waits for the snapshot being written, if any. */
  settled(): Promise<void> {
    return this.#writing;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  #scheduleRefresh(handle: DocHandle<CatalogDoc>): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#refresh(handle).catch((error) => this.#log.error({ err: error }, "catalog refresh failed"));
    }, CATALOG_REFRESH_MS);
  }

  async #refresh(handle: DocHandle<CatalogDoc>): Promise<void> {
    const doc = handle.doc();
    const index = CatalogIndex.fromDoc(doc, handle.url, A.getHeads(doc as A.Doc<unknown>));
    this.#index = index;
    this.#writing = this.#writing
      .then(() => writeJsonDurable(this.#path, index.snapshot, this.#key))
      .catch((error) => this.#log.error({ err: error, path: this.#path }, "catalog snapshot not written"));
    await this.#writing;
    this.#log.info({ products: index.size }, "catalog snapshot written");
  }
}
