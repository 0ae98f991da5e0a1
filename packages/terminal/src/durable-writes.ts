import { join } from "node:path";
import * as A from "@automerge/automerge";
import type { DocHandle, DocumentId, Repo } from "@automerge/automerge-repo";
import type { AnyLedgerDoc } from "@mercora/crdt-model";
import { appendRecord, parseRecordJson, readJsonFile, storedRecord, writeJsonDurable } from "@mercora/crdt-model";
import type { Logger } from "pino";
import type { IssueCountersState } from "./issue-counters.ts";
import type { ChangeFrame, LogFrame, LogProblem, RecordFrame } from "./write-ahead-log.ts";
import { WriteAheadLog } from "./write-ahead-log.ts";

/**
 * Bytes of the write-ahead log after which the terminal checkpoints: about
 * 600 sales of 3 lines. Replaying a segment at start costs about as much
 * as loading the changes it holds.
 */
export const CHECKPOINT_BYTES = 1024 * 1024;

/** The durable state a checkpoint leaves: the heads storage must hold, and the counters of the next record. */
export interface Checkpoint {
  version: 1;
  at: string;
  /** Heads (hex) of every document whose changes the log covered, as saved by `repo.flush`. */
  heads: Record<string, string[]>;
  counters: IssueCountersState;
}

/** The state the terminal reads back at start: the last checkpoint and the frames written after it. */
export interface DurableState {
  checkpoint: Checkpoint | null;
  frames: LogFrame[];
  problems: LogProblem[];
}

/**
 * The terminal's acknowledgement path and its recovery. Every acknowledged
 * change or record goes to the write-ahead log before the response, and
 * automerge-repo saves the documents in the background. Now and then a
 * checkpoint flushes the documents the log covers, records their heads
 * and counters durably, and deletes the log segments it no longer needs.
 *
 * A record is logged before the change that appends it to its ledger
 * exists, so the response does not wait for the change. While records wait
 * for their change (`countPendingRecordsWith`), no checkpoint starts,
 * because it could delete the only copy of a record.
 */
export class DurableWrites {
  readonly log: WriteAheadLog;
  readonly #checkpointPath: string;
  readonly #key: Buffer;
  readonly #logger: Logger;
  #checkpoint: Checkpoint | null = null;
  /** Documents with frames in segments no checkpoint has covered yet. */
  readonly #uncovered = new Set<string>();
  #running: Promise<void> = Promise.resolve();
  #checkpointing = false;
  /** Counts the records logged whose change is not made yet. */
  #pendingRecords: () => number = () => 0;
  /** True while the log must stay whole, such as while storage lacks acknowledged changes or records. */
  #keepLog: () => boolean = () => false;

  constructor(dataDir: string, key: Buffer, logger: Logger) {
    this.log = new WriteAheadLog(join(dataDir, "wal"), key);
    this.#checkpointPath = join(dataDir, "wal", "checkpoint.json");
    this.#key = key;
    this.#logger = logger;
  }

  /** Reads the last checkpoint and every frame of the log, and opens a new segment. */
  async open(): Promise<DurableState> {
    const { frames, problems } = await this.log.open();
    this.#checkpoint = await readJsonFile<Checkpoint>(this.#checkpointPath, this.#key);
    for (const frame of frames) this.#uncovered.add(frame.documentId);
    for (const problem of problems) if (problem.documentId) this.#uncovered.add(problem.documentId);
    return { checkpoint: this.#checkpoint, frames, problems };
  }

  /** Heads of every document the last checkpoint covered. */
  get recordedHeads(): Readonly<Record<string, string[]>> {
    return this.#checkpoint?.heads ?? {};
  }

  /**
   * Appends the last local change of a document to the log and waits until
   * it is on disk. Call it right after `handle.change`, before responding.
   */
  async acknowledge(handle: DocHandle<unknown>): Promise<void> {
    const doc = handle.doc() as A.Doc<unknown>;
    const change = A.getLastLocalChange(doc);
    if (!change) throw new Error(`Document ${handle.documentId} has no local change to acknowledge`);
    const heads = A.getHeads(doc);
    // A local change has no successor yet, so it is a head; with several heads, decode it to tell which.
    const hash = heads.length === 1 ? heads[0]! : A.decodeChange(change).hash;
    await this.log.append(handle.documentId, hash, change);
  }

  /** Makes checkpoints keep every segment while `keep` returns true. */
  keepLogWhile(keep: () => boolean): void {
    this.#keepLog = keep;
  }

  /** Sets the function that counts the logged records whose ledger change is not made yet. */
  countPendingRecordsWith(count: () => number): void {
    this.#pendingRecords = count;
  }

  /** Appends a ledger record to the log, on disk when the call returns, for a change that appends it later. */
  async logRecord(documentId: string, recordId: string, json: string): Promise<void> {
    await this.log.appendRecord(documentId, recordId, json);
  }

  /** True when the current segment is large enough for a checkpoint and none waits on a record's change. */
  get due(): boolean {
    return this.log.segmentBytes >= CHECKPOINT_BYTES && !this.#checkpointing && this.#pendingRecords() === 0;
  }

  /**
   * Starts a new segment, then in the background flushes the documents the
   * older segments cover, records their heads and `counters`, and deletes
   * those segments. Resolves once the new segment is open; `settled()`
   * waits for the rest. A failure keeps the segments for the next attempt.
   */
  async checkpoint(repo: Repo, counters: IssueCountersState): Promise<void> {
    if (this.#checkpointing) return;
    const pending = this.#pendingRecords();
    if (pending > 0) {
      this.#logger.debug({ records: pending }, "checkpoint put off: logged records wait for their change");
      return;
    }
    this.#checkpointing = true;
    let rotated: { segments: number[]; documents: Set<string> };
    try {
      rotated = await this.log.rotate();
    } catch (error) {
      this.#checkpointing = false;
      throw error;
    }
    for (const documentId of rotated.documents) this.#uncovered.add(documentId);
    const heads: Record<string, string[]> = {};
    const unready: string[] = [];
    for (const documentId of this.#uncovered) {
      const handle = repo.handles[documentId as DocumentId];
      if (handle?.isReady()) heads[documentId] = A.getHeads(handle.doc() as A.Doc<unknown>);
      else unready.push(documentId);
    }
    // A segment with a change of a document that is not loaded (storage lost it) is the only copy of that change.
    // So is a record logged during the rotation whose change is not made yet, or a frame storage lacks.
    const waiting = this.#pendingRecords();
    const keep = unready.length > 0 || waiting > 0 || this.#keepLog();
    const removable = keep ? [] : rotated.segments;
    if (keep) {
      this.#logger.warn(
        { documents: unready, records: waiting },
        "checkpoint keeps the log: logged changes or records are not in the loaded documents yet",
      );
    }
    this.#running = this.#running
      .then(() => this.#finish(repo, removable, heads, counters))
      .catch((error) => this.#logger.error({ err: error, segments: rotated.segments }, "checkpoint failed; keeping the log segments"))
      .finally(() => {
        this.#checkpointing = false;
      });
  }

  /** Waits for the checkpoint in progress, if any. */
  settled(): Promise<void> {
    return this.#running;
  }

  async #finish(repo: Repo, segments: number[], heads: Record<string, string[]>, counters: IssueCountersState): Promise<void> {
    const documents = Object.keys(heads);
    await repo.flush(documents as DocumentId[]);
    const checkpoint: Checkpoint = {
      version: 1,
      at: new Date().toISOString(),
      heads: { ...this.#checkpoint?.heads, ...heads },
      counters,
    };
    await writeJsonDurable(this.#checkpointPath, checkpoint, this.#key);
    this.#checkpoint = checkpoint;
    // Documents that changed since the rotation have frames in the new segment, which stays.
    for (const documentId of documents) this.#uncovered.delete(documentId);
    await this.log.remove(segments);
    this.#logger.info({ segments, documents: documents.length }, "checkpoint written");
  }

  async close(): Promise<void> {
    await this.#running;
    await this.log.close();
  }
}

/** The outcome of replaying the log into the documents. */
export interface ReplayResult {
  /** Changes storage lacked that the log supplied, and records appended from the log. */
  applied: number;
  /** Per document, logged change hashes and record ids still missing after the replay. */
  missing: Map<string, string[]>;
  /** Documents with logged changes that could not be opened at all. */
  unavailable: string[];
  /** Logged records not appended because their ledger lacks changes it must contain; append them once it has them. */
  deferred: RecordFrame[];
}

/**
 * Applies to each document every logged change it lacks, through its
 * `DocHandle`, so automerge-repo saves and syncs the result like any other
 * change. Then appends to each ledger the logged records it still lacks,
 * in one change that `logChange` writes to the log before anything else
 * runs, so a peer never receives a change the log does not contain. `open`
 * returns the handle of a document, or null when neither storage nor a
 * peer has it. `complete` returns whether a document has every change it
 * must contain. Records go only into a complete ledger: in an older one a
 * logged record may need a bucket that a lost change created, and creating
 * it again would hide what a peer has in it.
 */
export async function replayFrames(
  frames: readonly LogFrame[],
  open: (documentId: string) => Promise<DocHandle<unknown> | null>,
  logChange: (handle: DocHandle<unknown>) => Promise<void> = async () => undefined,
  complete: (documentId: string, handle: DocHandle<unknown>) => boolean = () => true,
): Promise<ReplayResult> {
  const byDocument = new Map<string, LogFrame[]>();
  for (const frame of frames) {
    const list = byDocument.get(frame.documentId) ?? [];
    list.push(frame);
    byDocument.set(frame.documentId, list);
  }
  const result: ReplayResult = { applied: 0, missing: new Map(), unavailable: [], deferred: [] };
  for (const [documentId, logged] of byDocument) {
    const handle = await open(documentId);
    if (!handle) {
      result.unavailable.push(documentId);
      continue;
    }
    const changes = logged.filter((frame): frame is ChangeFrame => frame.kind === "change");
    const lacking = changes.filter((frame) => !A.hasHeads(handle.doc() as A.Doc<unknown>, [frame.hash]));
    if (lacking.length > 0) {
      handle.update((doc) => A.applyChanges(doc as A.Doc<unknown>, lacking.map((frame) => frame.change))[0]);
      result.applied += lacking.length;
    }
    const missing = changes.filter((frame) => !A.hasHeads(handle.doc() as A.Doc<unknown>, [frame.hash])).map((frame) => frame.hash);
    const records = logged.filter((frame): frame is RecordFrame => frame.kind === "record");
    if (records.length > 0 && missing.length === 0 && complete(documentId, handle)) {
      missing.push(...(await appendLoggedRecords(handle as DocHandle<AnyLedgerDoc>, records, logChange, result)));
    } else {
      const lacking = records.filter((frame) => !storedRecord(handle.doc() as AnyLedgerDoc, frame.recordId));
      result.deferred.push(...lacking);
      missing.push(...lacking.map((frame) => frame.recordId));
    }
    if (missing.length > 0) result.missing.set(documentId, missing);
  }
  return result;
}

/** Appends the logged records a ledger lacks; returns the ids of those it could not append. */
async function appendLoggedRecords(
  handle: DocHandle<AnyLedgerDoc>,
  frames: readonly RecordFrame[],
  logChange: (handle: DocHandle<unknown>) => Promise<void>,
  result: ReplayResult,
): Promise<string[]> {
  const lacking = frames.filter((frame) => !storedRecord(handle.doc(), frame.recordId));
  if (lacking.length === 0) return [];
  try {
    handle.change((doc) => {
      for (const frame of lacking) {
        if (!storedRecord(doc, frame.recordId)) appendRecord(doc, parseRecordJson(frame.recordId, frame.json), frame.json);
      }
    });
  } catch {
    // The ledger rejected them (another terminal's, or read-only), so the caller reports them missing.
    return lacking.map((frame) => frame.recordId);
  }
  await logChange(handle as DocHandle<unknown>);
  result.applied += lacking.length;
  return [];
}
