import { emptyFolioCounters, genesisHash, observeFolio } from "@mercora/crdt-model";
import type { FolioBlock, FolioCounters, LedgerRecord } from "@mercora/crdt-model";

/** The counters a terminal issues its next record from, as a checkpoint stores them. */
export interface IssueCountersState {
  lastSeq: number;
  /** Hash of the record with `lastSeq`, which the next record links to. */
  lastHash: string;
  folios: FolioCounters;
}

/**
 * The counters a terminal issues records from: its last sequence number,
 * the hash of its last record and its highest folio numbers. They rise
 * with every own record the terminal writes or indexes and never go back.
 * The checkpoint keeps them on disk, so selling never reads an old ledger,
 * and a damaged ledger cannot make a sequence number repeat.
 */
export class IssueCounters {
  #state: IssueCountersState;

  /**
   * `blocks` returns the terminal's authority-range blocks, or null before
   * the folios document is loaded; a folio number outside them does not
   * count as used (see `observeFolio`).
   */
  constructor(
    readonly branch: string,
    readonly terminal: string,
    saved: IssueCountersState | null = null,
    readonly blocks: () => readonly FolioBlock[] | null = () => null,
  ) {
    this.#state = saved
      ? { lastSeq: saved.lastSeq, lastHash: saved.lastHash, folios: structuredClone(saved.folios) }
      : { lastSeq: 0, lastHash: genesisHash(branch, terminal), folios: emptyFolioCounters() };
  }

  get lastSeq(): number {
    return this.#state.lastSeq;
  }

  get lastHash(): string {
    return this.#state.lastHash;
  }

  get folios(): FolioCounters {
    return this.#state.folios;
  }

  /** Raises the counters to cover one of this terminal's records. */
  observe(record: LedgerRecord): void {
    if (record.terminal !== this.terminal) return;
    if (record.seq > this.#state.lastSeq) {
      this.#state.lastSeq = record.seq;
      this.#state.lastHash = record.hash;
    }
    observeFolio(this.#state.folios, record, this.blocks());
  }

  /** Copies the counters for a checkpoint. */
  snapshot(): IssueCountersState {
    return structuredClone(this.#state);
  }
}
