import { join } from "node:path";
import * as A from "@automerge/automerge";
import type { DocHandle } from "@automerge/automerge-repo";
import { listTerminals, readDirectoryUrls, readJsonFile, writeJsonDurable } from "@mercora/crdt-model";
import type { DirectoryDoc } from "@mercora/crdt-model";
import type { Logger } from "pino";
import { sameHeads } from "./heads.ts";

/** Quiet time after a change of the branch directory before its snapshot is rewritten. */
export const DIRECTORY_SNAPSHOT_DELAY_MS = 1000;

interface SnapshotFile {
  version: 1;
  url: string;
  heads: string[];
  directory: DirectoryDoc;
}

/**
 * The branch directory as a sealed JSON file, so a restart reads the
 * store's settings, document URLs and ledger list without loading the
 * directory document. That document gains one change per ledger each
 * terminal opens: about 1,500 in a year for 4 terminals. Automerge's load
 * time grows with the number of changes, and in the cold start bench a
 * year's directory took 32 ms to load and a week's 4 ms. The snapshot
 * has plain strings where the document has immutable strings, and ledger
 * references as objects, shapes that `readDirectoryUrls`, `listTerminals`
 * and `str` read.
 */
// NOTE: reading this snapshot grows with history: 3.6 ms for a year (292 KB) against 1.0 ms for a week (8 KB),
// medians of eight starts. The cold start's goal is no slower with a year than with a week. It was met at commit
// 337a4dd (0.688 s against 0.721 s), and missed by 1.3% at d87c77b and by 1.2% at 64b867c. Each time the gap was
// inside the spread of starts. Keeping only the live days' ledgers here would make it a week's size.
export class DirectorySnapshot {
  readonly #path: string;
  readonly #key: Buffer;
  readonly #log: Logger;
  #heads: string[] = [];
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(dataDir: string, key: Buffer, log: Logger) {
    this.#path = join(dataDir, "directory-snapshot.json");
    this.#key = key;
    this.#log = log;
  }

  /** Reads the snapshot of the directory at `url` left by an earlier run. Returns null when there is none, it is unreadable or of another document. */
  async read(url: string): Promise<DirectoryDoc | null> {
    let file: SnapshotFile | null;
    try {
      file = await readJsonFile<SnapshotFile>(this.#path, this.#key);
    } catch (error) {
      this.#log.warn({ err: error, path: this.#path }, "directory snapshot unreadable; loading the directory document");
      return null;
    }
    if (file === null) return null;
    const valid = file.version === 1 && Array.isArray(file.heads) && typeof file.directory?.terminals === "object" && file.directory.terminals !== null;
    if (!valid) {
      this.#log.warn({ path: this.#path }, "directory snapshot has an unknown shape; loading the directory document");
      return null;
    }
    if (file.url !== url) return null;
    this.#heads = file.heads;
    return file.directory;
  }

  /** Rewrites the snapshot now if the document moved past it, and after each change of the document. */
  follow(handle: DocHandle<DirectoryDoc>): void {
    handle.on("heads-changed", () => this.#schedule(handle));
    if (!sameHeads(A.getHeads(handle.doc() as A.Doc<unknown>), this.#heads)) this.#schedule(handle, 0);
  }

  /** Writes the snapshot of the document as it is now, unless it is the one on disk. */
  async write(handle: DocHandle<DirectoryDoc>): Promise<void> {
    const doc = handle.doc();
    const heads = A.getHeads(doc as A.Doc<unknown>);
    if (sameHeads(heads, this.#heads)) return this.#writing;
    const file: SnapshotFile = { version: 1, url: handle.url, heads, directory: plainDirectory(doc) };
    this.#heads = heads;
    this.#writing = this.#writing
      .then(() => writeJsonDurable(this.#path, file, this.#key))
      .catch((error) => {
        this.#heads = [];
        this.#log.error({ err: error, path: this.#path }, "directory snapshot not written; the next change retries");
      });
    return this.#writing;
  }

  /** Waits for the snapshot being written, if any. */
  settled(): Promise<void> {
    return this.#writing;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(handle: DocHandle<DirectoryDoc>, delayMs = DIRECTORY_SNAPSHOT_DELAY_MS): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.write(handle);
    }, delayMs);
  }
}

/** Copies the directory's fields into plain values, in shapes the crdt-model readers accept. */
function plainDirectory(doc: DirectoryDoc): DirectoryDoc {
  const terminals: Record<string, unknown> = {};
  for (const terminal of listTerminals(doc)) {
    const ledgers: Record<string, unknown> = {};
    for (const ref of terminal.ledgers) {
      ledgers[ref.documentId] = { url: ref.url, businessDay: ref.businessDay, part: ref.part, firstSeq: ref.firstSeq };
    }
    terminals[terminal.id] = { name: terminal.name, lanUrl: terminal.lanUrl, ledgers };
  }
  const plain = { schema: doc.schema, type: "directory", ...readDirectoryUrls(doc), terminals };
  return plain as unknown as DirectoryDoc;
}
