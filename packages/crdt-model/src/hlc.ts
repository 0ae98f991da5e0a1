/**
 * Hybrid logical clock timestamps. A timestamp is wall time in milliseconds
 * plus a counter and the id of the node that issued it, encoded as a string
 * that sorts in chronological order:
 * `0001733320000000.0000.T1` (16-digit wall time, 4-digit counter, node).
 * Every local event takes `now()`, and every timestamp received from another
 * node goes through `observe()`, so a node whose wall clock lags still orders
 * its records after everything it has seen.
 */
export interface HlcTimestamp {
  wallMs: number;
  counter: number;
  node: string;
}

const WALL_DIGITS = 16;
const COUNTER_DIGITS = 4;
const MAX_COUNTER = 10 ** COUNTER_DIGITS - 1;

/** Encodes a timestamp as its sortable string form. */
export function encodeHlc(ts: HlcTimestamp): string {
  const wall = String(ts.wallMs).padStart(WALL_DIGITS, "0");
  const counter = String(ts.counter).padStart(COUNTER_DIGITS, "0");
  return `${wall}.${counter}.${ts.node}`;
}

/** Decodes a timestamp string; throws on a malformed value. */
export function decodeHlc(value: string): HlcTimestamp {
  const match = /^(\d{16})\.(\d{4})\.(.+)$/.exec(value);
  if (!match) {
    throw new Error(
      `Invalid HLC timestamp "${value}": expected 16 digits, a dot, 4 digits, a dot and a node id`,
    );
  }
  return {
    wallMs: Number(match[1]),
    counter: Number(match[2]),
    node: match[3] ?? "",
  };
}

/** Compares two encoded timestamps in chronological order. */
export function compareHlc(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A hybrid logical clock for one node. */
export class HybridLogicalClock {
  #wallMs = 0;
  #counter = 0;

  constructor(
    readonly node: string,
    private readonly wallClock: () => number = Date.now,
  ) {
    if (!node || node.includes(".")) {
      throw new Error(`Invalid HLC node id "${node}": it must be non-empty and contain no dot`);
    }
  }

  /** Issues a timestamp for a local event, later than every one issued or observed. */
  now(): string {
    const wall = this.wallClock();
    if (wall > this.#wallMs) {
      this.#wallMs = wall;
      this.#counter = 0;
    } else {
      this.#advanceCounter();
    }
    return encodeHlc({ wallMs: this.#wallMs, counter: this.#counter, node: this.node });
  }

  /** Advances the clock past a timestamp received from another node. */
  observe(remote: string): void {
    const ts = decodeHlc(remote);
    if (ts.wallMs > this.#wallMs) {
      this.#wallMs = ts.wallMs;
      this.#counter = ts.counter;
    } else if (ts.wallMs === this.#wallMs && ts.counter > this.#counter) {
      this.#counter = ts.counter;
    }
  }

  /** The latest timestamp issued or observed, or null before the first one. */
  get latest(): string | null {
    if (this.#wallMs === 0) return null;
    return encodeHlc({ wallMs: this.#wallMs, counter: this.#counter, node: this.node });
  }

  #advanceCounter(): void {
    if (this.#counter < MAX_COUNTER) {
      this.#counter += 1;
      return;
    }
    // The counter space of one millisecond is used up: borrow the next one.
    this.#wallMs += 1;
    this.#counter = 0;
  }
}
