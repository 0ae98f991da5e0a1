import * as A from "@automerge/automerge";
import type { DocHandle, DocumentId, Repo } from "@automerge/automerge-repo";
import type { AnyLedgerDoc } from "@mercora/crdt-model";
import { findDocument, storedRecord } from "@mercora/crdt-model";
import type { Logger } from "pino";
import { replayFrames } from "./durable-writes.ts";
import type { LogFrame } from "./write-ahead-log.ts";

/** A damaged or incomplete document, as the status endpoint reports it. */
export interface StorageProblem {
  documentId: string;
  problem: string;
  since: string;
  /** True while the problem stops the terminal from writing new records. */
  blocking: boolean;
}

/**
 * The completeness of the terminal's storage as far as it can check: the heads
 * each document must contain (from the last checkpoint and the
 * write-ahead log), the records each own ledger must contain (from the log),
 * damaged chunks and log frames, and the documents that
 * lack acknowledged changes. Such a document blocks writes until a LAN
 * peer or the relay supplies the missing changes; otherwise they could
 * come back later next to records issued in their place.
 */
export class StorageHealth {
  #problems: StorageProblem[] = [];
  readonly #expected = new Map<string, Set<string>>();
  /** Record ids each ledger must contain. */
  readonly #expectedRecords = new Map<string, Set<string>>();
  readonly #refetching = new Set<string>();
  /** Logged changes of documents that were not in storage, applied once a peer supplies the document. */
  readonly #unreplayed = new Map<string, LogFrame[]>();

  constructor(
    readonly repo: Repo,
    readonly log: Logger,
    readonly isClosed: () => boolean,
    readonly onRestored: (documentId: string, handle: DocHandle<unknown>) => void,
    /** Logs the change a replay of logged records made, before anything else runs. */
    readonly logChange: (handle: DocHandle<unknown>) => Promise<void>,
  ) {}

  get problems(): StorageProblem[] {
    return this.#problems;
  }

  /** The first problem that blocks writes, or null. */
  get blocking(): StorageProblem | null {
    return this.#problems.find((p) => p.blocking) ?? null;
  }

  /** Records a problem that does not block writes, such as a damaged chunk moved aside. */
  note(documentId: string, problem: string, since = new Date().toISOString()): void {
    this.#problems.push({ documentId, problem, since, blocking: false });
  }

  /** Adds heads (hex) that a document must contain. */
  expect(documentId: string, heads: readonly string[]): void {
    const set = this.#expected.get(documentId) ?? new Set<string>();
    for (const head of heads) set.add(head);
    this.#expected.set(documentId, set);
  }

  /** Adds a record id that a ledger must contain. */
  expectRecord(documentId: string, recordId: string): void {
    const set = this.#expectedRecords.get(documentId) ?? new Set<string>();
    set.add(recordId);
    this.#expectedRecords.set(documentId, set);
  }

  /** Returns true when a document has every expected head, the changes that logged records may build on. */
  headsComplete(documentId: string, doc: A.Doc<unknown>): boolean {
    return A.hasHeads(doc, [...(this.#expected.get(documentId) ?? [])]);
  }

  /** Returns true when a document has every expected head and record. */
  #complete(documentId: string, doc: A.Doc<unknown>): boolean {
    if (!this.headsComplete(documentId, doc)) return false;
    const records = this.#expectedRecords.get(documentId);
    return !records || [...records].every((id) => storedRecord(doc as AnyLedgerDoc, id) !== null);
  }

  /** Keeps logged changes of a document storage lacks, to apply when a peer supplies it. */
  holdFrames(documentId: string, frames: LogFrame[]): void {
    this.#unreplayed.set(documentId, [...(this.#unreplayed.get(documentId) ?? []), ...frames]);
  }

  /** Checks a loaded document against its expected heads; reports and refetches it when changes are missing. */
  check(documentId: string, handle: DocHandle<unknown>): void {
    if (this.#complete(documentId, handle.doc() as A.Doc<unknown>)) return;
    this.reportMissing(documentId, "acknowledged changes missing from storage");
  }

  /** Reports a document missing acknowledged changes, blocks writes and requests it from peers until one supplies them. */
  reportMissing(documentId: string, problem: string): void {
    if (this.#problems.some((p) => p.documentId === documentId && p.problem === problem)) return;
    this.log.error({ documentId, heads: [...(this.#expected.get(documentId) ?? [])] }, `${problem}; refusing writes until a peer supplies them`);
    this.#problems.push({ documentId, problem, since: new Date().toISOString(), blocking: true });
    void this.#refetch(documentId);
  }

  async #refetch(documentId: string): Promise<void> {
    if (this.#refetching.has(documentId)) return;
    this.#refetching.add(documentId);
    while (!this.isClosed()) {
      try {
        const handle = await findDocument(this.repo, documentId as DocumentId, { timeoutMs: 5000, retryMs: 1000 });
        await this.#replayHeld(documentId, handle);
        handle.on("change", () => void this.#replayHeld(documentId, handle).then(() => this.#recheck(documentId, handle)));
        this.#recheck(documentId, handle);
        return;
      } catch {
        // No connected peer has it yet; the next attempt follows.
      }
    }
  }

  /**
   * Applies the held frames of a document a peer supplied: its logged
   * changes at once, and its logged records once it has every expected
   * head. Records that still wait stay held.
   */
  async #replayHeld(documentId: string, handle: DocHandle<unknown>): Promise<void> {
    const frames = this.#unreplayed.get(documentId) ?? [];
    if (frames.length === 0) return;
    this.#unreplayed.delete(documentId);
    const result = await replayFrames(frames, async () => handle, this.logChange, (id, h) => this.headsComplete(id, h.doc() as A.Doc<unknown>));
    if (result.deferred.length > 0) this.holdFrames(documentId, result.deferred);
  }

  #recheck(documentId: string, handle: DocHandle<unknown>): void {
    const doc = handle.doc() as A.Doc<unknown> | undefined;
    if (!doc || !this.#complete(documentId, doc)) return;
    const before = this.#problems.length;
    this.#problems = this.#problems.filter((p) => !(p.documentId === documentId && p.blocking));
    if (this.#problems.length === before) return;
    this.log.warn({ documentId }, "missing acknowledged changes restored from a peer");
    this.onRestored(documentId, handle);
  }
}
