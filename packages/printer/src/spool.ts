import { mkdir, readdir, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { LedgerRecord } from "@mercora/crdt-model";
import { readJsonFile, writeJsonDurable } from "@mercora/crdt-model";
import { describePrinterTarget, sendToPrinter } from "./transport.ts";
import type { PrinterTarget } from "./transport.ts";

/** Logging methods the spool uses; a pino logger has them. */
export interface SpoolLogger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** One receipt waiting for the printer, as stored in the spool folder. */
export interface SpoolJob {
  /** File name without ".json": enqueue time and a counter, so names sort in print order. */
  id: string;
  record: LedgerRecord;
  /** Reprint, printed with the "COPIA" marker. */
  copy: boolean;
  /** ISO 8601 time the job was queued. */
  queuedAt: string;
}

export interface PrintSpoolOptions {
  /** Folder for pending jobs, one JSON file each; jobs given up on move to its "failed" subfolder. */
  folder: string;
  target: PrinterTarget;
  /** Renders a job into ESC/POS bytes when it is sent, so each attempt can decide on the drawer kick. */
  render: (job: SpoolJob) => Uint8Array;
  log: SpoolLogger;
  /** Delay before the first retry after a fault; it doubles per consecutive fault. Default 500 ms. */
  retryInitialMs?: number;
  /** Maximum delay between retries. Default 30,000 ms. */
  retryMaxMs?: number;
  /** Attempts per job before it moves to "failed". Default 240, over two hours at the maximum delay. */
  maxAttempts?: number;
  /** Jobs kept at most; a job queued beyond it is dropped and counted as failed. Default 1,000. */
  maxQueued?: number;
  /** Time limit of one TCP send. Default 10,000 ms. */
  sendTimeoutMs?: number;
  /** 32-byte key that seals job files with AES-256-GCM, because they hold names and prices. */
  key?: Buffer | null;
}

/** Printer section of the terminal's status endpoint. */
export interface PrintSpoolStatus {
  /** "fault" from a failed send until the next successful one. */
  state: "ok" | "fault";
  target: string;
  queued: number;
  printed: number;
  /** Jobs given up on since start: unrenderable, out of attempts, or dropped from a full spool. */
  failed: number;
  lastError: string | null;
  lastErrorAt: string | null;
  /** When the next attempt starts while the printer is at fault. */
  nextRetryAt: string | null;
}

interface QueuedJob {
  job: SpoolJob;
  /** Resolves to whether the job file was written, once the write has finished. */
  persisted: Promise<boolean>;
  attempts: number;
}

const JOB_SUFFIX = ".json";
const FAILED_FOLDER = "failed";

/**
 * A durable print queue for one ESC/POS printer. Each job is written to the
 * spool folder before it is sent and removed once the printer has taken it,
 * so jobs queued while the printer is at fault survive a terminal restart.
 * Sends run one at a time in queue order. A fault stops the queue and
 * retries the first job after a delay that doubles up to `retryMaxMs`.
 * NOTE: a job queued in the instant before a crash, before its file is on
 * disk, is lost; the ledger record itself is not affected.
 */
export class PrintSpool {
  readonly #options: Required<Omit<PrintSpoolOptions, "log" | "render">> & Pick<PrintSpoolOptions, "log" | "render">;
  readonly #targetName: string;
  #queue: QueuedJob[] = [];
  #sequence = 0;
  #draining: Promise<void> | null = null;
  /** Job file writes still in progress, so `stop()` can wait for them. */
  #writes = new Set<Promise<boolean>>();
  #stopped = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #abort = new AbortController();
  #consecutiveFaults = 0;
  #printed = 0;
  #failed = 0;
  #lastError: string | null = null;
  #lastErrorAt: string | null = null;
  #nextRetryAt: string | null = null;

  constructor(options: PrintSpoolOptions) {
    this.#options = {
      retryInitialMs: 500,
      retryMaxMs: 30_000,
      maxAttempts: 240,
      maxQueued: 1000,
      sendTimeoutMs: 10_000,
      ...options,
      key: options.key ?? null,
    };
    this.#targetName = describePrinterTarget(options.target);
  }

  /** Creates the spool folder, queues the jobs a previous run left in it, and starts sending. */
  async start(): Promise<void> {
    await mkdir(this.#options.folder, { recursive: true });
    const names = (await readdir(this.#options.folder)).filter((name) => name.endsWith(JOB_SUFFIX)).sort();
    for (const name of names) {
      const path = join(this.#options.folder, name);
      try {
        const job = await readJsonFile<SpoolJob>(path, this.#options.key ?? null);
        if (job === null || typeof job.id !== "string" || typeof job.record?.id !== "string") {
          throw new Error("not a spool job");
        }
        this.#queue.push({ job, persisted: Promise.resolve(true), attempts: 0 });
      } catch (error) {
        this.#options.log.error({ err: error, path }, "spool job unreadable, moved to the failed folder");
        await this.#moveToFailed(name);
      }
    }
    if (this.#queue.length > 0) {
      this.#options.log.info({ queued: this.#queue.length, printer: this.#targetName }, "printing receipts left in the spool");
    }
    void this.#drain();
  }

  /**
   * Stops sending: cancels the retry timer and aborts a send in progress.
   * Resolves once job file writes and the aborted send have settled. Jobs
   * stay in the folder for the next start.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#abort.abort();
    await Promise.allSettled([...this.#writes, this.#draining]);
  }

  /** Queues a receipt and returns at once. The job file is written and the job sent in the background. */
  enqueue(record: LedgerRecord, copy = false): void {
    if (this.#stopped) return;
    if (this.#queue.length >= this.#options.maxQueued) {
      this.#failed += 1;
      this.#recordError(`spool full (${this.#options.maxQueued} jobs); receipt for ${record.id} dropped`);
      this.#options.log.error({ record: record.id, queued: this.#queue.length }, "print spool full, receipt dropped");
      return;
    }
    const queuedAt = new Date();
    this.#sequence += 1;
    const id = `${queuedAt.getTime().toString().padStart(14, "0")}-${String(this.#sequence).padStart(6, "0")}`;
    const job: SpoolJob = { id, record, copy, queuedAt: queuedAt.toISOString() };
    const persisted = writeJsonDurable(this.#jobPath(id), job, this.#options.key ?? null).then(
      () => true,
      (error: unknown) => {
        this.#options.log.error({ err: error, record: record.id }, "spool job not saved, so it prints only while this process runs");
        return false;
      },
    );
    this.#writes.add(persisted);
    void persisted.finally(() => this.#writes.delete(persisted));
    this.#queue.push({ job, persisted, attempts: 0 });
    void this.#drain();
  }

  status(): PrintSpoolStatus {
    return {
      state: this.#consecutiveFaults > 0 ? "fault" : "ok",
      target: this.#targetName,
      queued: this.#queue.length,
      printed: this.#printed,
      failed: this.#failed,
      lastError: this.#lastError,
      lastErrorAt: this.#lastErrorAt,
      nextRetryAt: this.#nextRetryAt,
    };
  }

  #jobPath(id: string): string {
    return join(this.#options.folder, `${id}${JOB_SUFFIX}`);
  }

  #recordError(message: string): void {
    this.#lastError = message;
    this.#lastErrorAt = new Date().toISOString();
  }

  #drain(): Promise<void> {
    if (this.#draining || this.#stopped || this.#retryTimer !== null) return this.#draining ?? Promise.resolve();
    this.#draining = this.#sendAll().finally(() => {
      this.#draining = null;
    });
    return this.#draining;
  }

  async #sendAll(): Promise<void> {
    while (!this.#stopped && this.#queue.length > 0) {
      const sent = await this.#sendFirst();
      if (!sent) return;
    }
  }

  /** Sends the first job. Returns false when the printer is at fault and a retry is scheduled. */
  async #sendFirst(): Promise<boolean> {
    const entry = this.#queue[0]!;
    const saved = await entry.persisted;
    let bytes: Uint8Array;
    try {
      bytes = this.#options.render(entry.job);
    } catch (error) {
      // Rendering the same record again fails the same way, so the job is not retried.
      this.#failed += 1;
      this.#recordError(`receipt for ${entry.job.record.id} cannot be rendered: ${(error as Error).message}`);
      this.#options.log.error({ err: error, record: entry.job.record.id }, "receipt not printable, moved to the failed folder");
      await this.#finish(entry, saved, "failed");
      return true;
    }
    try {
      await sendToPrinter(bytes, this.#options.target, { timeoutMs: this.#options.sendTimeoutMs, signal: this.#abort.signal });
    } catch (error) {
      if (this.#stopped) return false;
      return this.#handleFault(entry, saved, error as Error);
    }
    if (this.#consecutiveFaults > 0) {
      this.#options.log.info({ printer: this.#targetName, record: entry.job.record.id }, "printer back, receipt printed");
    }
    this.#consecutiveFaults = 0;
    this.#nextRetryAt = null;
    this.#printed += 1;
    await this.#finish(entry, saved, "printed");
    return true;
  }

  async #handleFault(entry: QueuedJob, saved: boolean, error: Error): Promise<boolean> {
    entry.attempts += 1;
    this.#consecutiveFaults += 1;
    this.#recordError(error.message);
    const record = entry.job.record.id;
    if (entry.attempts >= this.#options.maxAttempts) {
      this.#failed += 1;
      this.#options.log.error({ err: error, record, attempts: entry.attempts }, "receipt given up after the maximum attempts");
      await this.#finish(entry, saved, "failed");
      return true;
    }
    const delay = Math.min(this.#options.retryInitialMs * 2 ** (this.#consecutiveFaults - 1), this.#options.retryMaxMs);
    this.#nextRetryAt = new Date(Date.now() + delay).toISOString();
    // Log the first fault and then one in ten, so an hour-long outage does not flood the log.
    if (this.#consecutiveFaults === 1 || this.#consecutiveFaults % 10 === 0) {
      const details = { err: error, record, queued: this.#queue.length, faults: this.#consecutiveFaults, retryMs: delay };
      this.#options.log.warn(details, "printer fault, receipt stays queued");
    }
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.#drain();
    }, delay);
    this.#retryTimer.unref();
    return false;
  }

  /** Takes the first job off the queue and deletes its file, or moves it to "failed". */
  async #finish(entry: QueuedJob, saved: boolean, outcome: "printed" | "failed"): Promise<void> {
    this.#queue.shift();
    if (!saved) return;
    const name = `${entry.job.id}${JOB_SUFFIX}`;
    if (outcome === "failed") {
      await this.#moveToFailed(name);
      return;
    }
    try {
      await unlink(join(this.#options.folder, name));
    } catch (error) {
      // The job prints again after a restart; a duplicate beats a lost receipt.
      this.#options.log.warn({ err: error, job: entry.job.id }, "printed spool job not deleted");
    }
  }

  async #moveToFailed(name: string): Promise<void> {
    const failed = join(this.#options.folder, FAILED_FOLDER);
    try {
      await mkdir(failed, { recursive: true });
      await rename(join(this.#options.folder, name), join(failed, name));
    } catch (error) {
      this.#options.log.warn({ err: error, job: name }, "spool job not moved to the failed folder");
    }
  }
}
