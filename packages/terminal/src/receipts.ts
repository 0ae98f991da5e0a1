import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { LedgerRecord } from "@mercora/crdt-model";
import { renderReceiptText, writeReceipt } from "@mercora/printer";
import type { Logger } from "pino";

export interface ReceiptSettings {
  /** Where receipts go: a text file per business day in the data folder, standard output, or nowhere. */
  target: "file" | "stdout" | "none";
  columns: 32 | 48;
  locale: "es-419" | "en";
}

export interface ReceiptContext {
  storeName: string;
  currency: string;
  minorUnitDigits: number;
}

/**
 * Prints receipts after the record is durable, off the sale's path: a
 * failed print is logged and shown on the status endpoint, and never
 * blocks or undoes a sale.
 */
export class ReceiptSpooler {
  #queue: LedgerRecord[] = [];
  #running = false;
  #printed = 0;
  #failed = 0;
  #lastError: string | null = null;
  #context: (() => ReceiptContext) | null = null;

  constructor(
    private readonly settings: ReceiptSettings,
    private readonly folder: string,
    private readonly log: Logger,
  ) {}

  /** Sets where the store header and currency come from. */
  setContext(context: () => ReceiptContext): void {
    this.#context = context;
  }

  async start(): Promise<void> {
    if (this.settings.target === "file") await mkdir(this.folder, { recursive: true });
  }

  stop(): void {
    this.#queue = [];
  }

  enqueue(record: LedgerRecord): void {
    if (this.settings.target === "none") return;
    this.#queue.push(record);
    if (!this.#running) void this.#drain();
  }

  /** Renders a receipt as text without printing it. */
  render(record: LedgerRecord, copy = false): string {
    const context = this.#context?.() ?? { storeName: "Mercora", currency: "ARS", minorUnitDigits: 2 };
    return renderReceiptText(record, {
      columns: this.settings.columns,
      locale: this.settings.locale,
      currency: context.currency,
      minorUnitDigits: context.minorUnitDigits,
      store: { name: context.storeName },
      copy,
    });
  }

  status() {
    return {
      target: this.settings.target,
      printed: this.#printed,
      failed: this.#failed,
      queued: this.#queue.length,
      lastError: this.#lastError,
    };
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#queue.length > 0) {
        const record = this.#queue.shift()!;
        try {
          const text = this.render(record);
          const target =
            this.settings.target === "stdout"
              ? ({ kind: "stdout" } as const)
              : ({ kind: "file", path: join(this.folder, `${record.businessDay}.txt`) } as const);
          await writeReceipt(text, target);
          this.#printed += 1;
        } catch (error) {
          this.#failed += 1;
          this.#lastError = `receipt for ${record.id}: ${(error as Error).message}`;
          this.log.error({ err: error, record: record.id }, "receipt printing failed");
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
