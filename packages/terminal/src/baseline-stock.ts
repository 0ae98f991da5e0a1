import { join } from "node:path";
import * as A from "@automerge/automerge";
import type { DocHandle } from "@automerge/automerge-repo";
import { AvailableStock, readAllBaselineStock, readBaselineInfo, readJsonFile, writeJsonDurable } from "@mercora/crdt-model";
import type { BaselineInfo, StockBaselineDoc } from "@mercora/crdt-model";
import type { Logger } from "pino";
import { sameHeads } from "./heads.ts";

/** Quiet time after a baseline change before the terminal rewrites its stock snapshot. */
export const STOCK_SNAPSHOT_DELAY_MS = 60_000;

/** A stock baseline as plain JSON, with the heads of the document it was read from. */
export interface StockSnapshot {
  format: "mercora-stock-snapshot";
  version: 1;
  /** URL of the baseline document. */
  url: string;
  /** Heads (hex) of the baseline document when it was read. */
  heads: string[];
  info: BaselineInfo;
  stock: Record<string, number>;
}

/**
 * The terminal's available stock and the baseline it is read from. At
 * start the baseline comes from a sealed JSON snapshot, because 12,513 SKUs
 * of JSON parse several times faster than the Automerge document loads.
 * The document is attached later. Any baseline version gives consistent
 * stock, because its values and marks change together. The snapshot is
 * rewritten a while after the document changes, and at stop.
 */
export class BaselineStock {
  readonly stock = new AvailableStock();
  readonly #path: string;
  readonly #key: Buffer;
  readonly #log: Logger;
  readonly #onChange: () => void;
  #url: string | null = null;
  #heads: string[] = [];
  #info: BaselineInfo | null = null;
  #handle: DocHandle<StockBaselineDoc> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #written = true;

  constructor(dataDir: string, key: Buffer, log: Logger, onChange: () => void) {
    this.#path = join(dataDir, "stock-snapshot.json");
    this.#key = key;
    this.#log = log;
    this.#onChange = onChange;
  }

  /** Reads the snapshot of the baseline at `url`; false when there is none, it is of another document, or unreadable. */
  async readSnapshot(url: string): Promise<boolean> {
    try {
      const snapshot = await readJsonFile<StockSnapshot>(this.#path, this.#key);
      if (snapshot?.format !== "mercora-stock-snapshot" || snapshot.version !== 1 || snapshot.url !== url) return false;
      this.stock.updateBaseline(Object.entries(snapshot.stock), snapshot.info.applied);
      this.#url = url;
      this.#heads = snapshot.heads;
      this.#info = snapshot.info;
      return true;
    } catch (error) {
      this.#log.warn({ err: error, path: this.#path }, "stock snapshot unreadable; loading the baseline document");
      return false;
    }
  }

  /** URL of the baseline in use, or null before any. */
  get url(): string | null {
    return this.#url;
  }

  /** The baseline document, once attached. */
  get handle(): DocHandle<StockBaselineDoc> | null {
    return this.#handle;
  }

  get info(): BaselineInfo {
    if (!this.#info) throw new Error("No stock baseline is loaded yet");
    return this.#info;
  }

  /**
   * Reads available stock from a baseline document from now on: the one
   * the snapshot came from, or a newer one the directory points at.
   */
  attach(handle: DocHandle<StockBaselineDoc>): void {
    const doc = handle.doc();
    const heads = A.getHeads(doc as A.Doc<unknown>);
    const same = handle.url === this.#url && sameHeads(heads, this.#heads);
    const first = this.#url === null;
    this.#handle = handle;
    this.#url = handle.url;
    this.#info = readBaselineInfo(doc);
    this.#heads = heads;
    if (!same) {
      this.stock.loadBaseline(doc);
      this.#changed();
    }
    // With no snapshot yet (a first start), the next start should not depend on a clean stop.
    if (first) void this.writeSnapshot().catch((error) => this.#log.error({ err: error, path: this.#path }, "stock snapshot not written"));
    handle.on("change", ({ doc: after, patches }) => {
      if (handle !== this.#handle) return;
      this.stock.applyBaselinePatches(after, patches);
      this.#info = readBaselineInfo(after);
      this.#heads = A.getHeads(after as A.Doc<unknown>);
      this.#changed();
    });
  }

  /** Writes the snapshot now if the baseline changed since the last one. */
  async writeSnapshot(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const handle = this.#handle;
    if (this.#written || !handle || !this.#info) return;
    this.#written = true;
    const doc = handle.doc();
    const snapshot: StockSnapshot = {
      format: "mercora-stock-snapshot",
      version: 1,
      url: handle.url,
      heads: A.getHeads(doc as A.Doc<unknown>),
      info: readBaselineInfo(doc),
      stock: readAllBaselineStock(doc),
    };
    await writeJsonDurable(this.#path, snapshot, this.#key);
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #changed(): void {
    this.#written = false;
    this.#onChange();
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.writeSnapshot().catch((error) => this.#log.error({ err: error, path: this.#path }, "stock snapshot not written"));
    }, STOCK_SNAPSHOT_DELAY_MS);
    this.#timer.unref();
  }
}
