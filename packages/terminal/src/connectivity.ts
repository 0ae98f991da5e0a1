import { appendFile, readFile } from "node:fs/promises";
import type { Repo } from "@automerge/automerge-repo";
import type { Logger } from "pino";
import { ResilientWebSocketClientAdapter } from "./network.ts";

export interface ConnectivityOptions {
  /** Time between connection checks of the relay. */
  checkIntervalMs: number;
  /** A check that takes longer than this counts as failed. */
  checkTimeoutMs: number;
  /** Time between websocket reconnection attempts. */
  retryMs: number;
}

export const DEFAULT_CONNECTIVITY: ConnectivityOptions = {
  checkIntervalMs: 2000,
  checkTimeoutMs: 1500,
  retryMs: 1000,
};

/** One line of `connectivity.jsonl`: a switch between online and offline, or a manual switch. */
export type ConnectivityEvent =
  | { at: string; event: "online" | "offline"; reason?: string }
  | { at: string; event: "manual-offline" | "manual-online"; by: string; reason: string | null };

/**
 * Decides whether the terminal is online. A background check asks the
 * relay's `/health` on a timer, so no sale ever waits on the network; a
 * failed check switches the terminal offline and a good one back online.
 * A manual offline switch drops the WAN link and stops every attempt until
 * it is switched back. Transitions and manual switches are appended to a
 * JSON-lines log, which also gives the accumulated offline time.
 */
export class Connectivity {
  #online = false;
  #manualOffline = false;
  #adapter: ResilientWebSocketClientAdapter | null = null;
  #timer: NodeJS.Timeout | null = null;
  #offlineSince: number | null = Date.now();
  #offlineMsBefore = 0;
  #checking = false;
  /** False until the first check has decided the state, which is logged whatever it is. */
  #decided = false;
  readonly #listeners = new Set<(event: ConnectivityEvent) => void>();

  constructor(
    private readonly repo: Repo,
    private readonly relayUrl: string | null,
    private readonly options: ConnectivityOptions,
    private readonly logPath: string,
    private readonly log: Logger,
    /** Receives the relay's clock reading from each good check, with the device times it was sent and received. */
    private readonly onRelayClock: (relayMs: number, sentMs: number, receivedMs: number) => void = () => undefined,
    private readonly deviceNow: () => number = Date.now,
    /** Returns a fresh device token for the websocket URL, or null to connect without one. */
    private readonly deviceToken: () => string | null = () => null,
  ) {}

  /** Calls `listener` with every event appended to the log; returns the function that stops it. */
  onEvent(listener: (event: ConnectivityEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get online(): boolean {
    return this.#online;
  }

  get manualOffline(): boolean {
    return this.#manualOffline;
  }

  /** Accumulated time spent offline, over every run of this terminal. */
  offlineMs(): number {
    const current = this.#offlineSince === null ? 0 : Date.now() - this.#offlineSince;
    return this.#offlineMsBefore + current;
  }

  async start(): Promise<void> {
    await this.#replayLog();
    if (!this.relayUrl) {
      this.log.warn("no relay URL given: running LAN-only");
      return;
    }
    if (!this.#manualOffline) this.#connect();
    this.#timer = setInterval(() => void this.#check(), this.options.checkIntervalMs);
    void this.#check();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#disconnect();
  }

  /** Switches the WAN off or back on by hand, logging who did it and why. */
  async setManualOffline(offline: boolean, by: string, reason: string | null): Promise<void> {
    if (offline === this.#manualOffline) return;
    this.#manualOffline = offline;
    await this.#append({ at: new Date().toISOString(), event: offline ? "manual-offline" : "manual-online", by, reason });
    this.log.warn({ by, reason }, offline ? "switched offline by hand" : "manual offline switch cleared");
    if (offline) {
      this.#disconnect();
      this.#setOnline(false, "manual offline switch");
    } else {
      this.#connect();
      void this.#check();
    }
  }

  /**
   * Tries the relay now rather than at the next timed check and websocket
   * retry, once the store's internet is back. Returns whether a new
   * websocket connection attempt started. None starts while a socket is
   * open or connecting, without a relay URL, or under the manual offline
   * switch, which only a manager clears.
   */
  retryNow(): boolean {
    if (!this.relayUrl || this.#manualOffline) return false;
    void this.#check();
    if (!this.#adapter) {
      this.#connect();
      return true;
    }
    return this.#adapter.retryNow();
  }

  async #check(): Promise<void> {
    if (this.#checking || this.#manualOffline || !this.relayUrl) return;
    this.#checking = true;
    try {
      const sentMs = this.deviceNow();
      const response = await fetch(`${this.relayUrl}/health`, {
        signal: AbortSignal.timeout(this.options.checkTimeoutMs),
      });
      const body = (await response.json().catch(() => null)) as { time?: unknown } | null;
      const receivedMs = this.deviceNow();
      if (response.ok && typeof body?.time === "number") this.onRelayClock(body.time, sentMs, receivedMs);
      if (this.#manualOffline) return;
      this.#setOnline(response.ok, response.ok ? undefined : `relay health returned HTTP ${response.status}`);
    } catch (error) {
      if (!this.#manualOffline) this.#setOnline(false, (error as Error).message);
    } finally {
      this.#checking = false;
    }
  }

  #setOnline(online: boolean, reason?: string): void {
    if (online === this.#online && this.#decided) return;
    this.#decided = true;
    this.#online = online;
    const now = Date.now();
    if (online && this.#offlineSince !== null) {
      this.#offlineMsBefore += now - this.#offlineSince;
      this.#offlineSince = null;
    } else if (!online) {
      this.#offlineSince = now;
    }
    if (online && !this.#adapter && !this.#manualOffline) this.#connect();
    this.log.info({ reason }, online ? "relay reachable: online" : "relay unreachable: offline");
    void this.#append({ at: new Date(now).toISOString(), event: online ? "online" : "offline", ...(reason ? { reason } : {}) });
  }

  #connect(): void {
    if (this.#adapter || !this.relayUrl) return;
    const wsUrl = this.relayUrl.replace(/^http/, "ws") + "/sync";
    const withToken = () => {
      const token = this.deviceToken();
      return token ? `${wsUrl}?token=${token}` : wsUrl;
    };
    // The relay reads no clock broadcast: this terminal measures the relay's clock over HTTP, and
    // its LAN peers hear the broadcast on the LAN.
    this.#adapter = new ResilientWebSocketClientAdapter(wsUrl, this.options.retryMs, this.log, withToken, { carryEphemeral: false });
    this.repo.networkSubsystem.addNetworkAdapter(this.#adapter);
  }

  #disconnect(): void {
    const adapter = this.#adapter;
    if (!adapter) return;
    this.#adapter = null;
    try {
      this.repo.networkSubsystem.removeNetworkAdapter(adapter);
    } catch (error) {
      this.log.debug({ err: error }, "removing the WAN adapter failed");
    }
    try {
      adapter.disconnect();
    } catch {
      // The adapter was never connected.
    }
  }

  async #append(event: ConnectivityEvent): Promise<void> {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.log.error({ err: error, event: event.event }, "connectivity event listener failed");
      }
    }
    try {
      await appendFile(this.logPath, JSON.stringify(event) + "\n");
    } catch (error) {
      this.log.error({ err: error, path: this.logPath }, "failed to append to the connectivity log");
    }
  }

  /** Restores the manual switch and the accumulated offline time from the log. */
  async #replayLog(): Promise<void> {
    let text = "";
    try {
      text = await readFile(this.logPath, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      return;
    }
    let offlineSince: number | null = null;
    let lastAt: number | null = null;
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      let event: ConnectivityEvent;
      try {
        event = JSON.parse(line) as ConnectivityEvent;
      } catch {
        continue;
      }
      const at = Date.parse(event.at);
      lastAt = at;
      if (event.event === "offline" && offlineSince === null) offlineSince = at;
      if (event.event === "online" && offlineSince !== null) {
        this.#offlineMsBefore += at - offlineSince;
        offlineSince = null;
      }
      if (event.event === "manual-offline") this.#manualOffline = true;
      if (event.event === "manual-online") this.#manualOffline = false;
    }
    // Time while the terminal was not running is not counted as offline.
    if (offlineSince !== null && lastAt !== null) this.#offlineMsBefore += lastAt - offlineSince;
  }
}
