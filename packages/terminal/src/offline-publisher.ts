import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { DocHandle } from "@automerge/automerge-repo";
import { putTerminalConnectivity, readDirectoryUrls } from "@mercora/crdt-model";
import type { DirectoryDoc } from "@mercora/crdt-model";
import type { ConnectivityEvent } from "./connectivity.ts";
import { buildConnectivityReport, parseConnectivityLog } from "./offline-periods.ts";
import type { Terminal } from "./terminal.ts";

/** Time between a connectivity event and the report it changes, so a burst of events writes once. */
const PUBLISH_DELAY_MS = 500;

/** Time between checks that drop last month's periods when no event comes. */
const REPUBLISH_INTERVAL_MS = 3_600_000;

/**
 * Publishes a terminal's offline periods in its own entry of the branch
 * directory, so every terminal of the branch and the relay can show them.
 * The report is rebuilt from `connectivity.jsonl` and each new event, and
 * written only when its periods or month totals change.
 */
export class OfflinePeriodPublisher {
  readonly #terminal: Terminal;
  #events: ConnectivityEvent[] = [];
  #directory: DocHandle<DirectoryDoc> | null = null;
  #lastWritten = "";
  #timer: NodeJS.Timeout | null = null;
  #interval: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;
  #closed = false;

  constructor(terminal: Terminal) {
    this.#terminal = terminal;
  }

  /** Reads the log, follows new events and publishes the first report. */
  async start(): Promise<void> {
    const seen = new Set<string>();
    const keyOf = (event: ConnectivityEvent) => `${event.at} ${event.event}`;
    this.#unsubscribe = this.#terminal.connectivity.onEvent((event) => {
      if (seen.has(keyOf(event))) return;
      seen.add(keyOf(event));
      this.#events.push(event);
      this.#schedule();
    });
    const logged = parseConnectivityLog(await this.#readLog());
    const fresh = logged.filter((event) => !seen.has(keyOf(event)));
    for (const event of fresh) seen.add(keyOf(event));
    this.#events = [...fresh, ...this.#events].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    // After a start from the directory snapshot the document loads a moment later, and the first report waits for it.
    const first = this.#terminal.whenDirectoryLoaded().then((directory) => {
      this.#directory = directory;
      return this.publish();
    });
    if (this.#terminal.directoryLoaded) {
      await first;
    } else {
      first.catch((error) => this.#terminal.log.error({ err: error }, "publishing offline periods failed"));
    }
    this.#interval = setInterval(() => this.#schedule(), REPUBLISH_INTERVAL_MS);
    this.#interval.unref();
  }

  stop(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#interval) clearInterval(this.#interval);
  }

  /** Writes the report into the directory when it changed, and flushes it. */
  async publish(): Promise<boolean> {
    const directory = this.#directory;
    if (!directory || this.#closed) return false;
    const timeZone = readDirectoryUrls(directory.doc()).timeZone;
    const report = buildConnectivityReport(this.#events, Date.now(), timeZone);
    const content = JSON.stringify({ periods: report.periods, months: report.months });
    if (content === this.#lastWritten) return false;
    const terminal = this.#terminal.terminalId;
    directory.change((doc) => putTerminalConnectivity(doc, terminal, report));
    await this.#terminal.repo.flush([directory.documentId]);
    this.#lastWritten = content;
    this.#terminal.log.info({ periods: report.periods.length, months: Object.keys(report.months).length }, "offline periods published");
    return true;
  }

  #schedule(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.publish().catch((error) => this.#terminal.log.error({ err: error }, "publishing offline periods failed"));
    }, PUBLISH_DELAY_MS);
  }

  async #readLog(): Promise<string> {
    try {
      return await readFile(join(this.#terminal.options.dataDir, "connectivity.jsonl"), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
      throw error;
    }
  }
}
