import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { LedgerRecord, ZReport } from "@mercora/crdt-model";
import {
  CODE_PAGES,
  PrintSpool,
  parsePrinterTarget,
  renderReceiptEscPos,
  renderReceiptText,
  renderZReportEscPos,
  renderZReportText,
  sendToPrinter,
  writeReceipt,
} from "@mercora/printer";
import type { CodePage, PrintSpoolStatus, PrinterProfile, PrinterTarget, ReceiptFolio, SpoolJob } from "@mercora/printer";
import type { Logger } from "pino";

/** An ESC/POS receipt printer and its paper, code page, cutter and drawer. */
export interface PrinterSettings {
  target: PrinterTarget;
  profile: PrinterProfile;
}

export interface ReceiptSettings {
  /** Destination of text receipts: a text file per business day in `textFolder`, standard output, or none. */
  target: "file" | "stdout" | "none";
  /**
   * Folder of text receipt files. Printed receipts are plain text like
   * paper, so this folder lies outside the encrypted data folder.
   */
  textFolder: string;
  columns: 32 | 48;
  locale: "es-419" | "en";
  /** ESC/POS printer. When set, receipts print there through the spool and `target` is not used. */
  printer?: PrinterSettings | null;
}

/**
 * Reads the --printer, --printer-width and --printer-code-page flags.
 * Returns null for no printer (flag missing or "none"). The profile has a
 * partial cutter and a cash drawer. Throws naming the invalid flag value.
 */
export function printerSettingsFromFlags(flags: {
  printer?: string | undefined;
  width?: string | undefined;
  codePage?: string | undefined;
}): PrinterSettings | null {
  const target = parsePrinterTarget(flags.printer ?? "none");
  const paperWidth = Number(flags.width ?? 80);
  if (paperWidth !== 58 && paperWidth !== 80) {
    throw new Error(`--printer-width must be 58 or 80 (millimetres), got "${flags.width}"`);
  }
  const codePage = flags.codePage ?? "cp850";
  if (!CODE_PAGES.includes(codePage as CodePage)) {
    throw new Error(`--printer-code-page must be cp850 or windows1252, got "${flags.codePage}"`);
  }
  if (target === null) return null;
  return { target, profile: { paperWidth, codePage: codePage as CodePage, cutter: "partial", cashDrawer: true } };
}

export interface ReceiptContext {
  storeName: string;
  currency: string;
  minorUnitDigits: number;
}

/** Printer section of the status endpoint. */
export type ReceiptStatus = Omit<PrintSpoolStatus, "lastErrorAt" | "nextRetryAt"> &
  Partial<Pick<PrintSpoolStatus, "lastErrorAt" | "nextRetryAt">>;

/**
 * A receipt that prints later than this after its sale, for example once a
 * printer fault is over, prints without the drawer kick, so the cash drawer
 * does not open unattended.
 */
export const DRAWER_KICK_WINDOW_MS = 60_000;

const DEFAULT_CONTEXT: ReceiptContext = { storeName: "Mercora", currency: "ARS", minorUnitDigits: 2 };

/** Looks up the folio to print for a record: final when known, provisional otherwise. */
export type FolioSource = (record: LedgerRecord) => { number: string; provisional: boolean; voided?: boolean } | null;

/**
 * Prints receipts after the record is durable, off the sale's path: a
 * failed print is logged and shown on the status endpoint, and never
 * blocks or undoes a sale. With an ESC/POS printer, jobs go through a
 * durable spool in `<folder>/spool` and are retried with backoff, within
 * the bounds `PrintSpool` documents. Text receipts are written once,
 * without retries.
 */
export class ReceiptSpooler {
  #queue: { record: LedgerRecord; copy: boolean }[] = [];
  #running = false;
  #printed = 0;
  #failed = 0;
  #lastError: string | null = null;
  /** Whether the last text receipt failed to print. `lastError` stays after a later success. */
  #faulted = false;
  #context: (() => ReceiptContext) | null = null;
  #folioSource: FolioSource = () => null;
  readonly #spool: PrintSpool | null;

  /** `spoolFolder` holds printer jobs waiting to print, sealed with `key`. */
  constructor(
    private readonly settings: ReceiptSettings,
    spoolFolder: string,
    private readonly log: Logger,
    key: Buffer | null = null,
  ) {
    const printer = settings.printer;
    this.#spool = printer
      ? new PrintSpool({
          folder: spoolFolder,
          key,
          target: printer.target,
          render: (job) => this.#renderJob(job, printer.profile),
          log: log.child({ component: "printer" }),
        })
      : null;
  }

  /** Renders a Z report as text for the configured paper width. */
  renderZReport(report: ZReport): string {
    const context = this.#context?.() ?? DEFAULT_CONTEXT;
    return renderZReportText(report, {
      columns: this.settings.columns,
      locale: this.settings.locale,
      currency: context.currency,
      minorUnitDigits: context.minorUnitDigits,
      store: { name: context.storeName },
    });
  }

  /**
   * Prints a Z report: on the ESC/POS printer when one is set (directly,
   * not through the spool, since a manager waits for it at the till),
   * else as a text receipt. Throws the printer's fault.
   */
  async printZReport(report: ZReport): Promise<void> {
    const printer = this.settings.printer;
    if (!printer) {
      const text = this.renderZReport(report);
      if (this.settings.target === "stdout") await writeReceipt(text, { kind: "stdout" });
      else if (this.settings.target === "file") {
        await writeReceipt(text, { kind: "file", path: join(this.settings.textFolder, `${report.businessDay}-z.txt`) });
      }
      return;
    }
    const context = this.#context?.() ?? DEFAULT_CONTEXT;
    const bytes = renderZReportEscPos(report, {
      printer: printer.profile,
      locale: this.settings.locale,
      currency: context.currency,
      minorUnitDigits: context.minorUnitDigits,
      store: { name: context.storeName },
    });
    await sendToPrinter(bytes, printer.target);
  }

  /** Sets where receipts find a record's folio. */
  setFolioSource(source: FolioSource): void {
    this.#folioSource = source;
  }

  #folioAndHash(record: LedgerRecord): { folio?: ReceiptFolio; hash?: string } {
    const folio = this.#folioSource(record);
    if (!folio) return { hash: record.hash };
    const printed: ReceiptFolio = { number: folio.number, provisional: folio.provisional, ...(folio.voided ? { voided: true } : {}) };
    return { folio: printed, hash: record.hash };
  }

  /** Sets where the store header and currency come from. */
  setContext(context: () => ReceiptContext): void {
    this.#context = context;
  }

  async start(): Promise<void> {
    if (this.#spool) await this.#spool.start();
    else if (this.settings.target === "file") await mkdir(this.settings.textFolder, { recursive: true });
  }

  stop(): void {
    // Terminal.stop does not wait for the spool, and job files stay on disk for the next start.
    void this.#spool?.stop();
    this.#queue = [];
  }

  /** Queues a receipt; `copy` marks a reprint, which prints COPIA and never kicks the drawer. */
  enqueue(record: LedgerRecord, copy = false): void {
    if (this.#spool) {
      this.#spool.enqueue(record, copy);
      return;
    }
    if (this.settings.target === "none") return;
    this.#queue.push({ record, copy });
    if (this.#running) return;
    // Rendering starts two turns of the event loop later, so it delays neither the sale's response nor its sync to
    // LAN peers. The next turn makes the sale's ledger change, and automerge-repo sends it on the turn after.
    this.#running = true;
    setImmediate(() => setImmediate(() => void this.#drain()));
  }

  /** Renders a receipt as text without printing it. */
  render(record: LedgerRecord, copy = false): string {
    const context = this.#context?.() ?? DEFAULT_CONTEXT;
    return renderReceiptText(record, {
      columns: this.settings.columns,
      locale: this.settings.locale,
      currency: context.currency,
      minorUnitDigits: context.minorUnitDigits,
      store: { name: context.storeName },
      copy,
      ...this.#folioAndHash(record),
    });
  }

  status(): ReceiptStatus {
    if (this.#spool) return this.#spool.status();
    return {
      state: this.#faulted ? "fault" : "ok",
      target: this.settings.target,
      printed: this.#printed,
      failed: this.#failed,
      queued: this.#queue.length,
      lastError: this.#lastError,
    };
  }

  #renderJob(job: SpoolJob, profile: PrinterProfile): Uint8Array {
    const context = this.#context?.() ?? DEFAULT_CONTEXT;
    const age = Date.now() - Date.parse(job.queuedAt);
    return renderReceiptEscPos(job.record, {
      printer: profile,
      locale: this.settings.locale,
      currency: context.currency,
      minorUnitDigits: context.minorUnitDigits,
      store: { name: context.storeName },
      copy: job.copy,
      kickDrawer: age <= DRAWER_KICK_WINDOW_MS,
      ...this.#folioAndHash(job.record),
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const { record, copy } = this.#queue.shift()!;
        try {
          const text = this.render(record, copy);
          const target =
            this.settings.target === "stdout"
              ? ({ kind: "stdout" } as const)
              : ({ kind: "file", path: join(this.settings.textFolder, `${record.businessDay}.txt`) } as const);
          await writeReceipt(text, target);
          this.#printed += 1;
          this.#faulted = false;
        } catch (error) {
          this.#failed += 1;
          this.#faulted = true;
          this.#lastError = `receipt for ${record.id}: ${(error as Error).message}`;
          this.log.error({ err: error, record: record.id }, "receipt printing failed");
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
