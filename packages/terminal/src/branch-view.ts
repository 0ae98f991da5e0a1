import type { DocHandle, DocumentId } from "@automerge/automerge-repo";
import { ValidationError, buildBranchDashboard, findDocument, listTerminals, listUsers, readDirectoryUrls } from "@mercora/crdt-model";
import type { IngestDoc, PermissionsDoc } from "@mercora/crdt-model";
import { quoteRefund, quoteSale } from "./quotes.ts";
import type { Terminal } from "./terminal.ts";

/**
 * What the cashier screen and the manager dashboard read from a terminal
 * beyond its core API: the store's settings, the branch's users, the
 * branch dashboard and price quotes. It reads the branch documents the
 * terminal already holds and writes nothing.
 */
export class BranchView {
  readonly #terminal: Terminal;
  #ingest!: DocHandle<IngestDoc>;
  #permissions!: DocHandle<PermissionsDoc>;

  constructor(terminal: Terminal) {
    this.#terminal = terminal;
  }

  /**
   * Opens the branch documents; the terminal has them in storage once
   * started. The catalog and the directory come from the terminal, whose
   * snapshots serve them before their documents have loaded.
   */
  async open(): Promise<void> {
    const repo = this.#terminal.repo;
    const timeoutMs = 10_000;
    const urls = readDirectoryUrls(this.#terminal.branchDirectory());
    [this.#ingest, this.#permissions] = await Promise.all([
      findDocument<IngestDoc>(repo, urls.ingestUrl as DocumentId, { timeoutMs }),
      findDocument<PermissionsDoc>(repo, urls.permissionsUrl as DocumentId, { timeoutMs }),
    ]);
  }

  #currency(): { currency: string; minorUnitDigits: number } {
    const catalog = this.#terminal.catalog;
    return { currency: catalog.currency(), minorUnitDigits: catalog.minorUnitDigits };
  }

  /** Store settings the screens format amounts and times with. */
  storeInfo() {
    const directory = this.#terminal.branchDirectory();
    const urls = readDirectoryUrls(directory);
    const entry = listTerminals(directory).find((t) => t.id === this.#terminal.terminalId);
    return {
      branch: urls.branch,
      storeName: urls.name,
      terminal: this.#terminal.terminalId,
      terminalName: entry?.name ?? this.#terminal.terminalId,
      timeZone: urls.timeZone,
      cashRoundingIncrement: urls.cashRoundingIncrement,
      ...this.#currency(),
    };
  }

  /** Active users of the branch with their role, for the sign-in list; never their PIN verifiers. */
  users() {
    return listUsers(this.#permissions.doc())
      .filter((user) => user.active)
      .map((user) => ({ id: user.id, name: user.name, role: user.role }));
  }

  /**
   * Builds the branch dashboard from this terminal's documents. Its offline
   * periods come from the directory document, which the snapshot lacks.
   */
  async dashboard() {
    const directory = await this.#terminal.currentDirectory();
    const { currency, minorUnitDigits } = this.#currency();
    return buildBranchDashboard({
      directory,
      ingest: this.#ingest.doc(),
      records: this.#terminal.branchRecords(),
      nowMs: Date.now(),
      currency,
      minorUnitDigits,
    });
  }

  quoteSale(body: unknown) {
    const increment = readDirectoryUrls(this.#terminal.branchDirectory()).cashRoundingIncrement;
    return quoteSale(this.#terminal.catalog, body, (sku) => this.#terminal.stockOf(sku) ?? 0, increment);
  }

  async quoteRefund(body: unknown) {
    const input = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
    if (typeof input.original !== "string" || input.original.trim() === "") {
      throw new ValidationError("ORIGINAL_MISSING", "The refund needs `original`, the id of the ticket to refund", "original");
    }
    const id = input.original.trim();
    await this.#terminal.syncPeerRecords();
    const original = await this.#terminal.findRecord(id);
    if (!original) {
      throw new ValidationError("ORIGINAL_UNKNOWN", `No ticket ${id} on this terminal or its reachable peers; check the ticket number`, "original", id);
    }
    const prior = this.#terminal.branchRecords().filter((r) => r.kind === "refund" && r.refundOf === original.id);
    const urls = readDirectoryUrls(this.#terminal.branchDirectory());
    const { currency } = this.#currency();
    return quoteRefund(original, prior, input, { currency, cashRoundingIncrement: urls.cashRoundingIncrement });
  }
}
