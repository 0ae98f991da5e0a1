import * as A from "@automerge/automerge";
import type { DocHandle, DocumentId, Repo } from "@automerge/automerge-repo";
import {
  AvailableStock,
  StockFold,
  businessDayOf,
  findDocument,
  initStockBaseline,
  readAllBaselineStock,
  readBaselineInfo,
  readDirectoryUrls,
  setBaselineUrl,
  writeBaselineStock,
} from "@mercora/crdt-model";
import type { DirectoryDoc, StockBaselineDoc, StockMovement } from "@mercora/crdt-model";
import type { Logger } from "pino";

/**
 * Quiet time after the last fold before the relay publishes the baseline.
 * Every SKU a publish moves is one Automerge operation for the relay and
 * for every terminal, so a catch-up that folds thousands of records in a
 * burst publishes once at its end, when each SKU is written once.
 */
export const STOCK_PUBLISH_QUIET_MS = 1000;

/**
 * Maximum time folded records wait for a publish while folding goes on,
 * once the previous publish is `STOCK_PUBLISH_MIN_INTERVAL_MS` old.
 */
export const STOCK_PUBLISH_MAX_DELAY_MS = 10_000;

/**
 * Minimum time between two publishes of a branch's baseline. A store that
 * sells steadily folds a record at every sale, and each publish is a change
 * that the relay saves and sends to every terminal of the branch. Replicas
 * count a record above the marks as pending, so a later publish changes no
 * total shown to a cashier or HQ. A first fold after a quiet minute still
 * publishes a second later, as in a catch-up.
 */
export const STOCK_PUBLISH_MIN_INTERVAL_MS = 60_000;

/**
 * Changes a baseline document takes before the relay rolls to a fresh
 * snapshot. A terminal loads the current baseline at every start, and
 * loading time grows with history, so the history stays bounded.
 */
export const BASELINE_ROLL_CHANGES = 2000;

/** The branch and services a publisher works with. */
export interface StockPublisherContext {
  branch: string;
  repo: Repo;
  log: Logger;
  directory: () => DocHandle<DirectoryDoc>;
  /** Called with every document the publisher creates, so the relay shares it with the branch. */
  onDocument: (documentId: string) => void;
  /** Called after every publish and roll, so the reconciler can run on the new stock. */
  onPublished: () => void;
  /** Changes after which the baseline rolls; `BASELINE_ROLL_CHANGES` unless given. */
  rollChanges?: number;
  /** Minimum milliseconds between two publishes; `STOCK_PUBLISH_MIN_INTERVAL_MS` unless given. */
  minIntervalMs?: number;
}

/**
 * Folds a branch's ingested records into stock and publishes it as the
 * stock baseline document, with the new units and the new `applied` marks
 * in one change. It publishes only when something was folded, once folding
 * has been quiet for `STOCK_PUBLISH_QUIET_MS`, or
 * `STOCK_PUBLISH_MAX_DELAY_MS` after the first unpublished fold, and never
 * sooner than `STOCK_PUBLISH_MIN_INTERVAL_MS` after the previous publish. It rolls to a fresh document at a new
 * business day of the branch and when the current one passes
 * `BASELINE_ROLL_CHANGES` changes, and points the directory at it.
 */
export class StockPublisher {
  handle!: DocHandle<StockBaselineDoc>;
  readonly #context: StockPublisherContext;
  #fold!: StockFold;
  readonly #view = new AvailableStock();
  #changes = 0;
  /** When the oldest fold not yet published happened, or null when everything is published. */
  #firstUnpublishedAt: number | null = null;
  /** Time of the last publish or roll; -Infinity before the first. */
  #publishedAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | null = null;
  #publishing: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(context: StockPublisherContext) {
    this.#context = context;
  }

  /** Opens the branch's current baseline and starts folding from its marks. */
  async open(url: string): Promise<void> {
    this.handle = await findDocument<StockBaselineDoc>(this.#context.repo, url as DocumentId, { timeoutMs: 30_000 });
    this.#context.onDocument(this.handle.documentId);
    const doc = this.handle.doc();
    this.#fold = new StockFold(readAllBaselineStock(doc), readBaselineInfo(doc).applied);
    this.#view.loadBaseline(doc);
    this.#changes = A.stats(doc as A.Doc<unknown>).numChanges;
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }

  /** The current baseline's epoch. */
  get epoch(): number {
    return this.handle.doc().epoch;
  }

  /** Per terminal, the highest sequence number folded so far (published or not). */
  applied(terminal: string): number {
    return this.#fold.applied(terminal);
  }

  /** Counts a record the relay has received in the available stock until it is folded. */
  hold(record: StockMovement): void {
    this.#view.addRecord(record);
  }

  /**
   * Folds every record that is next in its terminal's sequence and at or
   * below `limit(terminal)`, the ingest mark, looking records up with
   * `find`. Schedules a publish when anything was folded.
   */
  foldIngested(terminals: string[], limit: (terminal: string) => number, find: (terminal: string, seq: number) => StockMovement | undefined): number {
    let folded = 0;
    for (const terminal of terminals) {
      const end = limit(terminal);
      for (let seq = this.#fold.applied(terminal) + 1; seq <= end; seq++) {
        const record = find(terminal, seq);
        if (!record || !this.#fold.fold(record)) break;
        folded += 1;
      }
    }
    if (folded > 0) this.#schedulePublish();
    return folded;
  }

  /** Available units per SKU: folded stock plus the deltas of held records not folded yet. */
  stock(): Record<string, number> {
    return this.#view.all();
  }

  /** Available units of one SKU, or null when neither the baseline nor a record names it. */
  stockOf(sku: string): number | null {
    return this.#view.stockOf(sku);
  }

  /** SKUs whose available units are below zero. */
  negative(): Record<string, number> {
    return this.#view.negative();
  }

  /** Returns where oversell detection starts, per terminal. */
  windowApplied(): Record<string, number> {
    return readBaselineInfo(this.handle.doc()).windowApplied;
  }

  /** Waits for the publish in progress, if any. */
  idle(): Promise<void> {
    return this.#publishing;
  }

  #schedulePublish(): void {
    if (this.#closed) return;
    const now = Date.now();
    this.#firstUnpublishedAt ??= now;
    if (this.#timer) clearTimeout(this.#timer);
    const settled = Math.min(STOCK_PUBLISH_QUIET_MS, Math.max(0, this.#firstUnpublishedAt + STOCK_PUBLISH_MAX_DELAY_MS - now));
    const spaced = this.#publishedAt + (this.#context.minIntervalMs ?? STOCK_PUBLISH_MIN_INTERVAL_MS) - now;
    const waitMs = Math.max(settled, spaced);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#publishing = this.#publishing
        .then(() => this.#publish())
        .catch((error) => this.#context.log.error({ err: error, branch: this.#context.branch }, "stock publish failed"));
    }, waitMs);
  }

  async #publish(): Promise<void> {
    if (this.#closed) return;
    const reason = this.#rollReason();
    if (reason && this.#fold.changed) {
      await this.roll(reason);
      this.#context.onPublished();
      return;
    }
    const changes = this.#fold.takeChanges();
    this.#firstUnpublishedAt = null;
    if (!changes) return;
    try {
      this.handle.change((doc) => writeBaselineStock(doc, changes.units, changes.applied));
    } catch (error) {
      this.#fold.restoreChanges(changes);
      this.#schedulePublish();
      throw error;
    }
    this.#changes += 1;
    this.#publishedAt = Date.now();
    // Until now the view counted these records as held above the old marks, so its totals do not move.
    this.#view.updateBaseline(changes.units, changes.applied);
    await this.#context.repo.flush([this.handle.documentId]);
    this.#context.onPublished();
  }

  #rollReason(): string | null {
    if (this.#changes >= (this.#context.rollChanges ?? BASELINE_ROLL_CHANGES)) return `history reached ${this.#changes} changes`;
    if (this.#today() !== readBaselineInfo(this.handle.doc()).businessDay) return "new business day";
    return null;
  }

  #today(): string {
    return businessDayOf(new Date(), readDirectoryUrls(this.#context.directory().doc()).timeZone);
  }

  /**
   * Opens a new baseline document containing everything folded so far, and
   * points the directory at it. At a new business day the oversell window
   * moves to the start of the previous day; otherwise it stays.
   */
  async roll(reason: string): Promise<{ epoch: number; url: string }> {
    const current = readBaselineInfo(this.handle.doc());
    const today = this.#today();
    const newDay = today !== current.businessDay;
    const applied = this.#fold.appliedMarks();
    const next = this.#context.repo.create<StockBaselineDoc>(
      initStockBaseline({
        branch: this.#context.branch,
        epoch: current.epoch + 1,
        previousUrl: this.handle.url,
        openedAt: new Date().toISOString(),
        businessDay: today,
        stock: this.#fold.all(),
        applied,
        windowApplied: newDay ? current.dayStartApplied : current.windowApplied,
        dayStartApplied: newDay ? applied : current.dayStartApplied,
      }),
    );
    this.#context.onDocument(next.documentId);
    await this.#context.repo.flush([next.documentId]);
    const directory = this.#context.directory();
    directory.change((doc) => setBaselineUrl(doc, next.url));
    await this.#context.repo.flush([directory.documentId]);
    this.handle = next;
    this.#changes = 1;
    this.#firstUnpublishedAt = null;
    this.#publishedAt = Date.now();
    // The snapshot contains everything folded, so nothing is left to publish into the old document.
    this.#fold.takeChanges();
    this.#view.updateBaseline(Object.entries(this.#fold.all()), applied);
    this.#context.log.info({ branch: this.#context.branch, epoch: current.epoch + 1, reason }, "opened stock baseline");
    return { epoch: current.epoch + 1, url: next.url };
  }

  /** Rolls the baseline after the publish in progress, on HQ's request through `POST /api/hq/branches/:branch/inventory/roll`. */
  async rollNow(): Promise<{ epoch: number; url: string }> {
    const rolled = this.#publishing.then(() => this.roll("requested by HQ"));
    this.#publishing = rolled.then(
      () => this.#context.onPublished(),
      () => undefined,
    );
    return rolled;
  }
}
