import { open, readFile, rename } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";

/**
 * Journal of acknowledged heads. After every acknowledged write the terminal
 * appends the document's heads and the highest sequence number, fsynced, so
 * that on the next start it can tell whether storage still holds everything
 * it acknowledged (a damaged chunk makes automerge-repo load an older state
 * without error).
 */
export interface JournalEntry {
  documentId: string;
  heads: string[];
  seq: number;
}

interface JournalLine {
  seq: number;
  docs: { documentId: string; heads: string[] }[];
}

export class HeadsJournal {
  #file: FileHandle | null = null;
  readonly #latest = new Map<string, JournalEntry>();
  #maxSeq = 0;

  constructor(readonly path: string) {}

  /** Reads the journal, keeps the latest entry per document and rewrites it compacted. */
  async open(): Promise<void> {
    let text = "";
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      let parsed: JournalLine;
      try {
        parsed = JSON.parse(line) as JournalLine;
      } catch {
        // A line cut short by a crash during append: everything before it is whole.
        continue;
      }
      this.#remember(parsed);
    }
    const compacted = [...this.#latest.values()]
      .map((e) => JSON.stringify({ seq: e.seq, docs: [{ documentId: e.documentId, heads: e.heads }] }) + "\n")
      .join("");
    const temp = `${this.path}.tmp`;
    const handle = await open(temp, "w");
    await handle.writeFile(compacted);
    await handle.sync();
    await handle.close();
    await rename(temp, this.path);
    this.#file = await open(this.path, "a");
  }

  /** Appends the heads of the documents one acknowledged write changed, and fsyncs them. */
  async append(seq: number, docs: { documentId: string; heads: string[] }[]): Promise<void> {
    if (!this.#file) throw new Error(`Heads journal ${this.path} is not open`);
    const line: JournalLine = { seq, docs };
    await this.#file.write(JSON.stringify(line) + "\n");
    await this.#file.datasync();
    this.#remember(line);
  }

  #remember(line: JournalLine): void {
    for (const doc of line.docs) {
      this.#latest.set(doc.documentId, { documentId: doc.documentId, heads: doc.heads, seq: line.seq });
    }
    if (line.seq > this.#maxSeq) this.#maxSeq = line.seq;
  }

  /** The latest acknowledged heads per document. */
  get entries(): JournalEntry[] {
    return [...this.#latest.values()];
  }

  /** The highest sequence number ever acknowledged. */
  get maxSeq(): number {
    return this.#maxSeq;
  }

  async close(): Promise<void> {
    await this.#file?.close();
    this.#file = null;
  }
}
