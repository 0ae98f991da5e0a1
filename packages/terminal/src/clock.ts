import type { DocHandle } from "@automerge/automerge-repo";
import type { Logger } from "pino";

/** How long a measurement of the relay's clock is trusted over the LAN peers'. */
const RELAY_TRUST_MS = 10 * 60_000;
/** How long a LAN peer's measurement counts after its last message. */
const PEER_TTL_MS = 30_000;

interface ClockMessage {
  type: "clock";
  terminal: string;
  wallMs: number;
}

/**
 * Measures how far this terminal's clock is from the relay's and from its
 * LAN peers', and corrects it. Each terminal broadcasts its wall clock on
 * the branch directory every second, so a peer's offset is known within
 * about two seconds of LAN contact (loopback and LAN latency are a few
 * milliseconds, well under the skew threshold). The correction is the
 * relay's offset while a recent measurement exists, otherwise the median
 * of the peers' offsets and this terminal's own zero, which follows the
 * majority of the store.
 */
export class ClockWatch {
  #relayOffset: { offsetMs: number; at: number } | null = null;
  readonly #peers = new Map<string, { offsetMs: number; at: number }>();
  #timer: NodeJS.Timeout | null = null;

  constructor(
    readonly terminal: string,
    /** Raw wall clock of this device, before correction. */
    readonly deviceNow: () => number,
    private readonly log: Logger,
  ) {}

  /** Starts broadcasting this terminal's clock on a document all branch peers share. */
  start(handle: DocHandle<unknown>, intervalMs = 1000): void {
    handle.on("ephemeral-message", ({ message }) => this.#onMessage(message));
    const send = () => {
      try {
        handle.broadcast({ type: "clock", terminal: this.terminal, wallMs: this.deviceNow() } satisfies ClockMessage);
      } catch (error) {
        this.log.debug({ err: error }, "clock broadcast failed");
      }
    };
    this.#timer = setInterval(send, intervalMs);
    send();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Records a round trip to the relay: its clock reading and when the request left and returned. */
  observeRelay(relayMs: number, sentMs: number, receivedMs: number): void {
    const midpoint = (sentMs + receivedMs) / 2;
    this.#relayOffset = { offsetMs: Math.round(relayMs - midpoint), at: receivedMs };
  }

  #onMessage(message: unknown): void {
    const clock = message as Partial<ClockMessage>;
    if (clock?.type !== "clock" || typeof clock.terminal !== "string" || typeof clock.wallMs !== "number") return;
    if (clock.terminal === this.terminal) return;
    const now = this.deviceNow();
    this.#peers.set(clock.terminal, { offsetMs: clock.wallMs - now, at: now });
  }

  /** Milliseconds to add to this device's clock to get the store's time. */
  correctionMs(): number {
    const now = this.deviceNow();
    if (this.#relayOffset && now - this.#relayOffset.at < RELAY_TRUST_MS) return this.#relayOffset.offsetMs;
    const offsets = [0, ...this.#livePeers(now).map(([, peer]) => peer.offsetMs)].sort((a, b) => a - b);
    return offsets[Math.floor(offsets.length / 2)]!;
  }

  /** Corrected wall clock. */
  now(): number {
    return this.deviceNow() + this.correctionMs();
  }

  #livePeers(now: number) {
    return [...this.#peers].filter(([, peer]) => now - peer.at < PEER_TTL_MS);
  }

  /** Offsets measured, for the status endpoint. */
  status() {
    const now = this.deviceNow();
    return {
      correctionMs: this.correctionMs(),
      relayOffsetMs: this.#relayOffset && now - this.#relayOffset.at < RELAY_TRUST_MS ? this.#relayOffset.offsetMs : null,
      peerOffsetsMs: Object.fromEntries(this.#livePeers(now).map(([id, peer]) => [id, peer.offsetMs])),
    };
  }
}
